-- Lineage of a run: the dump whose listeners chose the catalogue (else the latest dump), or NULL.
SELECT coalesce(
    (SELECT dump_id FROM acquire_artist WHERE dump_id IS NOT NULL ORDER BY planned_at DESC NULLS LAST LIMIT 1),
    (SELECT dump_id FROM lastfm_dump ORDER BY seq DESC LIMIT 1));
