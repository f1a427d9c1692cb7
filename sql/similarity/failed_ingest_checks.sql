-- Why dump $dump_id must not be built: each ingest dataset (the lastfm_ingest DAG's gate: lastfm_plays,
-- lastfm_profiles, artists) whose latest check failed, as the DAG quarantines such a dump. lastfm_plays and
-- lastfm_profiles are checked per dump; artists across dumps, so its latest check counts for every dump that has
-- been checked. A dump never checked (`musim ingest lastfm` runs no check) has none. (dataset, run_id), by dataset.
WITH latest AS (
    SELECT dataset, run_id, success FROM quality_result
    WHERE (dataset IN ('lastfm_plays', 'lastfm_profiles') AND dump_id = $dump_id) OR dataset = 'artists'
    QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY created_at DESC, run_id DESC) = 1
)
SELECT dataset, run_id FROM latest
WHERE NOT success
  AND EXISTS (SELECT 1 FROM quality_result
              WHERE dataset IN ('lastfm_plays', 'lastfm_profiles') AND dump_id = $dump_id)
ORDER BY dataset;
