-- The ingest gate (the lastfm_ingest DAG's: lastfm_plays, lastfm_profiles, artists), one rule for `musim similarity
-- build` (dump $dump_id: is it built?) and every publish ($dump_id NULL: each dump with a similarity build, which a
-- snapshot serves). A dump is refused while the latest check of its lastfm_plays or lastfm_profiles failed, or while
-- the latest artists check (global: the catalogue, no dump) failed in a run that checked this dump's Last.FM data
-- (the DAG's gate checks the three together: the dump whose ingest it judged is the one held back, not the others)
-- or in a run that checked no dump's (`musim quality check --dataset artists`: the catalogue as a whole, so every
-- dump). Nothing is refused once a later check of the same dataset passed.
-- (dump_id, dataset, run_id), a dump's own datasets before the catalogue's.
WITH latest AS (
    SELECT dataset, dump_id, run_id, success FROM quality_result
    WHERE dataset IN ('lastfm_plays', 'lastfm_profiles', 'artists')
    QUALIFY row_number() OVER (PARTITION BY dataset, dump_id ORDER BY created_at DESC, run_id DESC) = 1
),
dumps AS (
    SELECT DISTINCT dump_id FROM similarity_build WHERE $dump_id::VARCHAR IS NULL
    UNION
    SELECT $dump_id::VARCHAR WHERE $dump_id::VARCHAR IS NOT NULL
),
checked AS (  -- the runs that checked a dump's Last.FM data
    SELECT DISTINCT run_id, dump_id FROM quality_result
    WHERE dataset IN ('lastfm_plays', 'lastfm_profiles') AND dump_id IS NOT NULL
),
catalogue AS (  -- the latest artists check, if it failed
    SELECT run_id FROM latest WHERE dataset = 'artists' AND dump_id IS NULL AND NOT success
)
SELECT d.dump_id, l.dataset, l.run_id
FROM dumps d JOIN latest l ON l.dump_id = d.dump_id
WHERE l.dataset <> 'artists' AND NOT l.success
UNION ALL
SELECT d.dump_id, 'artists', c.run_id
FROM dumps d, catalogue c
WHERE EXISTS (SELECT 1 FROM checked k WHERE k.run_id = c.run_id AND k.dump_id = d.dump_id)
   OR NOT EXISTS (SELECT 1 FROM checked k WHERE k.run_id = c.run_id)
ORDER BY dump_id, dataset = 'artists', dataset;
