-- The registered models the page's leaderboard shows: the best $limit by each primary metric and every champion, with
-- the columns of queries/leaderboard.sql and each one's rank among all of them, ranked as musim.queries.leaderboard
-- ranks them all: by primary metric, then the model's mean of it (metrics.model.<primary metric>.mean, a number or a
-- boolean as Python reads it; none last) best first, a champion first on a tie, then version.
WITH scored AS (
    SELECT *, CASE WHEN json_type(metrics, path) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN (metrics ->> path)::DOUBLE
                   WHEN json_type(metrics, path) = 'BOOLEAN' THEN (metrics ->> path)::BOOLEAN::DOUBLE END AS mean
    FROM (SELECT *, '$.model."' || replace(primary_metric, '"', '\"') || '".mean' AS path FROM model_registry)
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY primary_metric ORDER BY mean IS NULL, mean DESC, status <> 'champion',
                                                                      version) AS in_metric,
              row_number() OVER (ORDER BY primary_metric, mean IS NULL, mean DESC, status <> 'champion', version) AS rank
    FROM scored
)
SELECT version, family, seq, status, primary_metric, target_metric, metrics, dump_id, test_set_id,
       feature_service, object_prefix, created_at, status_at, rank
FROM ranked
WHERE in_metric <= $limit OR status = 'champion'
ORDER BY rank;
