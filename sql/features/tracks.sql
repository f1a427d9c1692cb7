-- The tracks as feature extraction sees them. audio_id names exactly the audio analysed: the preview's
-- sha256 when the whole stored file is used, else sha256-<offset_ms>-<duration_ms> (an excerpt of a local
-- whole track); it is part of every feature object key. whole = no excerpt window needed when decoding.
CREATE OR REPLACE TEMP VIEW fs_track AS
SELECT track_id, artist_id, sha256, object_key, duration_s, excerpt_offset_s, excerpt_duration_s,
       (excerpt_offset_s <= 0 AND excerpt_duration_s >= duration_s - 0.01) AS whole,
       CASE WHEN excerpt_offset_s <= 0 AND excerpt_duration_s >= duration_s - 0.01 THEN sha256
            ELSE sha256 || '-' || CAST(round(excerpt_offset_s * 1000) AS BIGINT)
                        || '-' || CAST(round(excerpt_duration_s * 1000) AS BIGINT)
       END AS audio_id
FROM track;
