-- The latest dump with a similarity build (the default training targets).
SELECT d.dump_id
FROM lastfm_dump d
JOIN similarity_build b USING (dump_id)
ORDER BY d.seq DESC
LIMIT 1
