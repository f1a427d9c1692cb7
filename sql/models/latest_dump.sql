-- The latest dump with a similarity build that may be served (similarity_build_state): the default training
-- targets. A build that failed its quality check, or whose gated check never finished, is skipped.
SELECT d.dump_id
FROM lastfm_dump d
JOIN similarity_build_state b USING (dump_id)
WHERE b.servable
ORDER BY d.seq DESC
LIMIT 1
