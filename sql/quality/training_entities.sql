-- The (track_id, artist_id) of every track that was in the catalogue at $as_of (added at or before it; every track
-- when $as_of is NULL) and that feature extraction had not rejected then, by track id: a service pinned to a moment
-- cannot have features of tracks added after it, and its training set must not change after the pin.
-- The rejections are judged as they stood at $as_of: the feature_reject rows made by then, and the rejections a later
-- value cleared (feature_superseded rows without a value, migration 033) that were current then. A track rejected
-- only after the pin (a later recompute, or its first extraction after it) stays in; one rejected at the pin and
-- accepted since stays out. NULL: the rejections of now (feature_reject alone: every superseded one has ended).
SELECT t.track_id, t.artist_id FROM track t
WHERE ($as_of::TIMESTAMPTZ IS NULL OR t.added_at <= $as_of::TIMESTAMPTZ)
  AND NOT EXISTS (SELECT 1 FROM feature_reject r
                  WHERE r.track_id = t.track_id
                    AND ($as_of::TIMESTAMPTZ IS NULL OR r.created_at <= $as_of::TIMESTAMPTZ))
  AND NOT EXISTS (SELECT 1 FROM feature_superseded s
                  WHERE s.track_id = t.track_id AND s.object_key IS NULL AND s.vec IS NULL
                    AND $as_of::TIMESTAMPTZ IS NOT NULL
                    AND s.created_at <= $as_of::TIMESTAMPTZ AND $as_of::TIMESTAMPTZ < s.superseded_at)
ORDER BY t.track_id;
