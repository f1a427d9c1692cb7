-- The (track_id, artist_id) of every track that was in the catalogue at $as_of (added at or before it; every track
-- when $as_of is NULL) and that feature extraction had not rejected then, by track id: a service pinned to a moment
-- cannot have features of tracks added after it, and its training set must not change after the pin.
-- The rejections are judged as they stood at $as_of: the feature_reject rows made by then, and the rejections a later
-- value cleared (feature_superseded rows without a value, migration 033) that were current then. A track rejected
-- only after the pin (a later recompute, or its first extraction after it) stays in; one rejected at the pin and
-- accepted since stays out. NULL: the rejections of now (a moment after every row).
-- Only the rejections of the audio the track had then count, picked as the readers pick it (latest.sql, pit.sql):
-- the audio of its newest feature row made by $as_of, a value winning over a rejection of the same moment. A
-- rejection of audio A stays in feature_reject after the track's new audio B is accepted (it is A's verdict), but
-- every reader serves B's values from then, so the track is back in the sets of those moments; a rejection also
-- counts only while no value of its own extractor and parameters came at or after it (as the readers judge it).
WITH row_ AS (  -- every feature row made by $as_of: values and rejections, current and superseded (until valid_to)
    SELECT kind, params_hash, track_id, audio_id, created_at, TRUE AS value_, NULL::TIMESTAMPTZ AS valid_to
    FROM track_mel
    UNION ALL
    SELECT 'descriptors', params_hash, track_id, audio_id, created_at, TRUE, NULL FROM track_descriptors
    UNION ALL
    SELECT kind, params_hash, track_id, audio_id, created_at, FALSE, NULL FROM feature_reject
    UNION ALL
    SELECT kind, params_hash, track_id, audio_id, created_at, object_key IS NOT NULL OR vec IS NOT NULL,
           superseded_at
    FROM feature_superseded
), made AS (
    SELECT * FROM row_ WHERE $as_of::TIMESTAMPTZ IS NULL OR created_at <= $as_of::TIMESTAMPTZ
), audio AS (  -- the audio each track had at $as_of: that of its newest row, a value first (then by audio id)
    SELECT track_id, audio_id FROM made
    QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY created_at DESC, value_ DESC, audio_id) = 1
), rejected AS (
    SELECT DISTINCT r.track_id
    FROM made r JOIN audio a ON a.track_id = r.track_id AND a.audio_id = r.audio_id
    WHERE NOT r.value_
      AND (r.valid_to IS NULL OR $as_of::TIMESTAMPTZ < r.valid_to)  -- at NULL every superseded one has ended
      AND NOT EXISTS (SELECT 1 FROM made v
                      WHERE v.value_ AND v.kind = r.kind AND v.params_hash = r.params_hash
                        AND v.track_id = r.track_id AND v.created_at >= r.created_at)
)
SELECT t.track_id, t.artist_id FROM track t
WHERE ($as_of::TIMESTAMPTZ IS NULL OR t.added_at <= $as_of::TIMESTAMPTZ)
  AND t.track_id NOT IN (SELECT track_id FROM rejected)
ORDER BY t.track_id;
