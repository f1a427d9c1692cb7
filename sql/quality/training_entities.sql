-- The (track_id, artist_id) of every track that feature extraction did not reject and that was in the catalogue
-- at $as_of (added at or before it; every track when $as_of is NULL), by track id: a service pinned to a moment
-- cannot have features of tracks added after it.
SELECT track_id, artist_id FROM track
WHERE track_id NOT IN (SELECT track_id FROM feature_reject)
  AND ($as_of::TIMESTAMPTZ IS NULL OR added_at <= $as_of::TIMESTAMPTZ)
ORDER BY track_id;
