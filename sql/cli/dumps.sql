-- Every ingested dump, oldest first, with its similarity build if it has one: when it was built and the
-- fingerprint of the code that made it (NULL: no build, or one recorded before migration 024).
SELECT d.dump_id, d.seq, d.file_name, d.format, d.lines, d.loaded, d.rejected, d.users, d.artists, d.finished_at,
       b.built_at AS similarity_built_at, b.code_fingerprint AS similarity_code
FROM lastfm_dump d
LEFT JOIN similarity_build b USING (dump_id)
ORDER BY d.seq;
