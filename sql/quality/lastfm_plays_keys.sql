-- The (user, artist) keys of the plays of dump $dump_id, as stored (musim.quality.suites.lastfm counts the
-- duplicates: none when the keys come strictly increasing, as the ingest stores them).
SELECT (user_id::BIGINT << 32) | artist_id::BIGINT AS k FROM lastfm_plays WHERE dump_id = $dump_id;
