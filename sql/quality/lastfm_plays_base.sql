-- The plays rows of dump $dump_id that GX validates row by row (sampled by row id before the join of
-- sql/quality/lastfm_plays_rows.sql when large).
SELECT rowid AS q_rowid, user_id, artist_id, plays, lines FROM lastfm_plays WHERE dump_id = $dump_id;
