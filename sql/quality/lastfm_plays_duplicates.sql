-- Rows of the plays of dump $dump_id whose (user, artist) equals another row's: rows whose key equals the
-- previous row's in key order (a sort and one comparison per row cost half a 16M-key distinct count).
SELECT count(*) AS duplicate_rows
FROM (SELECT k, lag(k) OVER (ORDER BY k) AS previous
      FROM (SELECT (user_id::BIGINT << 32) | artist_id::BIGINT AS k FROM lastfm_plays WHERE dump_id = $dump_id))
WHERE k = previous;
