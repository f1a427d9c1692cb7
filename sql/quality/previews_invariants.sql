-- Whole-table facts of the acquired audio (migration 004), over every row, as one row (previews).
-- A downloaded preview is complete and is a track; a track is a downloaded preview of a known artist,
-- stored content-addressed as audio/previews/<sha256>.<format>, with its analysis window inside the audio.
SELECT
    (SELECT count(*) FROM preview) AS previews,
    (SELECT count(*) FROM track) AS tracks,
    (SELECT count(*) - count(DISTINCT track_id) FROM preview) AS duplicate_preview_ids,
    (SELECT count(*) - count(DISTINCT track_id) FROM track) AS duplicate_track_ids,
    (SELECT count(*) FROM preview
     WHERE status = 'downloaded'
       AND (object_key IS NULL OR sha256 IS NULL OR coalesce(bytes, 0) <= 0
            OR NOT coalesce(isfinite(duration_s) AND duration_s > 0, false)  -- NULL, NaN, infinite or <= 0
            OR sample_rate IS NULL OR format IS NULL)) AS incomplete_downloads,
    (SELECT count(*) FROM preview WHERE attempts < 0) AS negative_attempts,
    (SELECT count(*) FROM track t
     WHERE NOT EXISTS (SELECT 1 FROM preview p WHERE p.track_id = t.track_id AND p.status = 'downloaded'))
        AS tracks_without_download,
    (SELECT count(*) FROM preview p
     WHERE p.status = 'downloaded' AND NOT EXISTS (SELECT 1 FROM track t WHERE t.track_id = p.track_id))
        AS downloads_without_track,
    (SELECT count(*) FROM track t JOIN preview p USING (track_id)
     WHERE t.sha256 IS DISTINCT FROM p.sha256 OR t.object_key IS DISTINCT FROM p.object_key) AS track_preview_mismatches,
    (SELECT count(*) FROM track t WHERE NOT EXISTS (SELECT 1 FROM artist a WHERE a.artist_id = t.artist_id))
        AS tracks_of_unknown_artists,
    (SELECT count(*) FROM track
     WHERE NOT regexp_full_match(sha256, '[0-9a-f]{64}')
        OR object_key <> 'audio/previews/' || sha256 || '.' || format) AS bad_object_keys,
    (SELECT count(*) FROM track
     WHERE NOT (isfinite(duration_s) AND duration_s > 0 AND sample_rate BETWEEN $min_rate AND $max_rate)) AS implausible_audio,
    (SELECT count(*) FROM track
     WHERE NOT (excerpt_offset_s >= 0 AND excerpt_duration_s > 0
                AND excerpt_offset_s + excerpt_duration_s <= duration_s + 0.05)) AS excerpt_outside_audio;
