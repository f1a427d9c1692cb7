-- Plays of dump $dump_id from stage_rows (see sql/ingest/load_dump.sql, which runs first): duplicate
-- user-artist lines merged (plays summed, lines counted), grouped on one 64-bit key. This is the general
-- merge: a 360K file whose users' lines are contiguous, as in every Last.FM dump, is merged in C instead
-- (sql/ingest/insert_merged_plays.sql).
-- Nearly every row finds its user and spelling, so the joins' pushed-down filters (min/max and Bloom
-- filters on uniformly spread refs) would only cost time: they are off for this statement.

-- The plays are summed in 64 bits (half the cost of DuckDB's 128-bit sum) whenever no sum can overflow:
-- max(plays) x every good line < 2^63 (stage_sum_fits, load_dump.sql), true of any real dump; otherwise the
-- exact 128-bit sum runs, without the lines whose user-artist sum would pass 2^63-1 (stage_overflow,
-- rejected by load_dump.sql), so that every sum stored fits the BIGINT column.

CREATE OR REPLACE TEMP VIEW stage_play_rows AS
SELECT (u.user_id::BIGINT << 32) | s.artist_id AS k, r.plays
FROM stage_rows r
JOIN stage_user_map u USING (user_ref)
JOIN stage_spelling_map s USING (spelling_ref);

CREATE OR REPLACE TEMP VIEW stage_play_rows_checked AS
SELECT (u.user_id::BIGINT << 32) | s.artist_id AS k, r.plays
FROM stage_rows r
JOIN stage_user_map u USING (user_ref)
JOIN stage_spelling_map s USING (spelling_ref)
ANTI JOIN stage_overflow o USING (row_id);

SET disabled_optimizers = 'join_filter_pushdown';

INSERT INTO lastfm_plays (dump_id, user_id, artist_id, plays, lines)
SELECT $dump_id, (k >> 32)::INTEGER, (k & 4294967295)::INTEGER, plays, lines
FROM (
    SELECT k, sum_no_overflow(plays) AS plays, count(*) AS lines
    FROM stage_play_rows WHERE (SELECT fits FROM stage_sum_fits) GROUP BY k
    UNION ALL
    SELECT k, sum(plays)::BIGINT, count(*)
    FROM stage_play_rows_checked WHERE NOT (SELECT fits FROM stage_sum_fits) GROUP BY k
);

RESET disabled_optimizers;
