-- How many rows of fs_in_mel and fs_in_desc (a batch being recorded with $replace: musim features build --recompute)
-- equal the row they replace, written by another build: record.sql keeps those rows as they were (their values, build
-- and moment); run $run_id counts them unchanged, not computed. Read before record.sql.
SELECT CASE WHEN $replace THEN
       (SELECT count(*) FROM fs_in_mel i JOIN track_mel m
          ON m.kind = i.kind AND m.params_hash = i.params_hash AND m.track_id = i.track_id AND m.audio_id = i.audio_id
        WHERE m.run_id <> $run_id
          AND (i.object_key, i.shape, i.dtype, i.min_db, i.max_db, i.bytes)
              IS NOT DISTINCT FROM (m.object_key, m.shape, m.dtype, m.min_db, m.max_db, m.bytes))
     + (SELECT count(*) FROM fs_in_desc i JOIN track_descriptors x
          ON x.params_hash = i.params_hash AND x.track_id = i.track_id AND x.audio_id = i.audio_id
        WHERE x.run_id <> $run_id AND i.vec IS NOT DISTINCT FROM x.vec AND i.tonic_pc IS NOT DISTINCT FROM x.tonic_pc
          AND i.key_name IS NOT DISTINCT FROM x.key_name)
       ELSE 0 END;
