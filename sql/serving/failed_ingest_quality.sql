-- Last.FM data that must not be published: the latest quality check of a dump's lastfm_plays or lastfm_profiles
-- (scoped by dump) failed, for a dump with a similarity build (what a snapshot serves), or the latest check of the
-- artist catalogue (artists: global, no dump) failed. Whether the build came before or after the failed check: it
-- was built from the data the check refused. (dataset, run_id, dump_id or NULL for the catalogue), a dump's first.
WITH latest AS (
    SELECT dataset, dump_id, run_id, success FROM quality_result
    WHERE dataset IN ('lastfm_plays', 'lastfm_profiles', 'artists')
    QUALIFY row_number() OVER (PARTITION BY dataset, dump_id ORDER BY created_at DESC, run_id DESC) = 1
)
SELECT dataset, run_id, dump_id FROM latest
WHERE NOT success AND (dump_id IS NULL OR dump_id IN (SELECT dump_id FROM similarity_build))
ORDER BY dump_id IS NULL, dump_id, dataset
LIMIT 1;
