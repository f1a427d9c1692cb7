-- How many rows DuckDB made of each irregular line staged into the probe, in file order: the rows between a sentinel
-- row ($sentinel: its first field) and the one before it. A group without its sentinel (closed false: rows after the
-- last sentinel) means the lines were not told apart. The segment is a running count (a streaming window: a frame
-- ending before the current row made DuckDB recount it for every row, two minutes for a million lines).
WITH flagged AS (
    SELECT rowid AS r, coalesce(user_key = $sentinel, false)::INTEGER AS is_sentinel FROM ingest_scratch.probe
), tagged AS (
    SELECT is_sentinel,
           sum(is_sentinel) OVER (ORDER BY r ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - is_sentinel AS segment
    FROM flagged
)
SELECT segment, count(*) FILTER (WHERE is_sentinel = 0) AS rows, bool_or(is_sentinel = 1) AS closed
FROM tagged
GROUP BY segment
ORDER BY segment;
