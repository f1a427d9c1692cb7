-- The track rows GX validates row by row.
SELECT track_id, artist_id, provider, object_key, sha256, format, duration_s, sample_rate, channels,
       excerpt_offset_s, excerpt_duration_s
FROM track;
