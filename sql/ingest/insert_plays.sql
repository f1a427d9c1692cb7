-- Plays of dump $dump_id from stage_rows (see sql/ingest/load_dump.sql, which runs first): duplicate
-- user-artist lines merged (plays summed, lines counted), grouped on one 64-bit key. This is the general
-- merge: a 360K file whose users' lines are contiguous, as in every Last.FM dump, is merged in C instead
-- (sql/ingest/insert_merged_plays.sql).
-- Nearly every row finds its user and spelling, so the joins' pushed-down filters (min/max and Bloom
-- filters on uniformly spread refs) would only cost time: they are off for this statement.

-- The plays are summed in 64 bits (half the cost of DuckDB's 128-bit sum) whenever no sum can overflow:
-- max(plays) x every good line < 2^63, true of any real dump; otherwise the exact 128-bit sum runs.
CREATE OR REPLACE TEMP TABLE stage_sum_fits AS
SELECT coalesce(max(plays), 0)::HUGEINT * count(*) < 9223372036854775807 AS fits
FROM stage_rows;

CREATE OR REPLACE TEMP VIEW stage_play_rows AS
SELECT (u.user_id::BIGINT << 32) | s.artist_id AS k, r.plays
FROM stage_rows r
JOIN stage_user_map u USING (user_ref)
JOIN stage_spelling_map s USING (spelling_ref);

SET disabled_optimizers = 'join_filter_pushdown';

INSERT INTO lastfm_plays (dump_id, user_id, artist_id, plays, lines)
SELECT $dump_id, (k >> 32)::INTEGER, (k & 4294967295)::INTEGER, plays, lines
FROM (
    SELECT k, sum_no_overflow(plays) AS plays, count(*) AS lines
    FROM stage_play_rows WHERE (SELECT fits FROM stage_sum_fits) GROUP BY k
    UNION ALL
    SELECT k, sum(plays), count(*)
    FROM stage_play_rows WHERE NOT (SELECT fits FROM stage_sum_fits) GROUP BY k
);

RESET disabled_optimizers;
