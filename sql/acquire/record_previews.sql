-- Apply the previews of a chunk of journals (registered relation journal_previews; one row per track_id).
-- A downloaded preview is never downgraded; attempts add up (0 for a reused object).
INSERT INTO preview (track_id, artist_id, provider, provider_track_id, provider_artist_id, title, genre,
                     provider_rank, status, attempts, last_error, object_key, sha256, bytes, duration_s,
                     sample_rate, channels, format, track_duration_s, excerpt_offset_s, excerpt_duration_s,
                     source_url, source_key, fetched_at, updated_at)
SELECT track_id, artist_id, provider, provider_track_id, provider_artist_id, title, genre, provider_rank,
       status, attempts, error, object_key, sha256, bytes, duration_s, sample_rate, channels, format,
       track_duration_s, excerpt_offset_s, excerpt_duration_s, source_url, source_key, fetched_at, now()
FROM journal_previews
ON CONFLICT (track_id) DO UPDATE SET
    status = CASE WHEN status = 'downloaded' THEN status ELSE excluded.status END,
    attempts = attempts + excluded.attempts,
    last_error = CASE WHEN status = 'downloaded' THEN last_error ELSE excluded.last_error END,
    object_key = coalesce(object_key, excluded.object_key),
    sha256 = coalesce(sha256, excluded.sha256),
    bytes = coalesce(bytes, excluded.bytes),
    duration_s = coalesce(duration_s, excluded.duration_s),
    sample_rate = coalesce(sample_rate, excluded.sample_rate),
    channels = coalesce(channels, excluded.channels),
    format = coalesce(format, excluded.format),
    title = excluded.title,
    genre = coalesce(excluded.genre, genre),
    provider_rank = excluded.provider_rank,
    track_duration_s = coalesce(excluded.track_duration_s, track_duration_s),
    excerpt_offset_s = coalesce(excerpt_offset_s, excluded.excerpt_offset_s),
    excerpt_duration_s = coalesce(excerpt_duration_s, excluded.excerpt_duration_s),
    source_url = excluded.source_url,
    source_key = excluded.source_key,
    fetched_at = CASE WHEN status = 'downloaded' THEN fetched_at ELSE excluded.fetched_at END,
    updated_at = now();
-- Remember what each newly downloaded source gave (source -> sha256 -> object).
INSERT INTO preview_source (source_key, sha256, object_key, bytes, format, duration_s, sample_rate, channels,
                            fetched_at)
SELECT source_key, sha256, object_key, bytes, format, duration_s, sample_rate, channels, fetched_at
FROM journal_previews
WHERE status = 'downloaded' AND NOT reused AND source_key IS NOT NULL
ON CONFLICT (source_key) DO UPDATE SET
    sha256 = excluded.sha256, object_key = excluded.object_key, bytes = excluded.bytes,
    format = excluded.format, duration_s = excluded.duration_s, sample_rate = excluded.sample_rate,
    channels = excluded.channels, fetched_at = excluded.fetched_at;
-- The tracks later stages read: every downloaded preview, once.
INSERT INTO track (track_id, artist_id, title, genre, provider, provider_track_id, provider_rank, object_key,
                   sha256, format, duration_s, sample_rate, channels, excerpt_offset_s, excerpt_duration_s,
                   added_at)
SELECT track_id, artist_id, title, genre, provider, provider_track_id, provider_rank, object_key, sha256,
       format, duration_s, sample_rate, channels, coalesce(excerpt_offset_s, 0.0),
       coalesce(excerpt_duration_s, duration_s), now()
FROM journal_previews
WHERE status = 'downloaded'
ON CONFLICT (track_id) DO NOTHING;
