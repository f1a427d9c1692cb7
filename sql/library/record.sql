-- Record one `musim library add` (staged in lib_artists, lib_tracks, lib_skips, lib_moved, lib_regrouped, lib_reread), in one
-- transaction. New library-only artists become catalogue artists (first_dump_id 'library', no plays);
-- every stored file is a library_track, a downloaded `preview` and a `track` (provider 'library'), so the
-- feature build and the gates read it like any preview.
INSERT INTO artist (artist_id, artist_key, mbid, name, name_norm, is_placeholder, first_dump_id)
SELECT artist_id, artist_key, try_cast(mbid AS UUID), name, name_norm, is_placeholder, 'library'
FROM lib_artists
WHERE is_new;

INSERT INTO library_artist (artist_id, name, mbid, lastfm_match, spellings, name_keys)
SELECT artist_id, name, try_cast(mbid AS UUID), lastfm_match, spellings, name_keys FROM lib_artists
ON CONFLICT (artist_id) DO UPDATE SET
    name = excluded.name,
    mbid = coalesce(library_artist.mbid, excluded.mbid),
    spellings = excluded.spellings,
    name_keys = excluded.name_keys,
    updated_at = now();

INSERT INTO library_track (track_id, artist_id, name_key, artist_spelling, artist_rule, title, album, genre,
                           tracknumber, source_path, source_sha256, source_bytes, source_format, duration_s,
                           excerpt_offset_s, excerpt_duration_s, stored, object_key, sha256, excerpt_reader)
SELECT track_id, artist_id, name_key, artist_spelling, artist_rule, title, album, genre, tracknumber,
       source_path, source_sha256, source_bytes, source_format, duration_s, excerpt_offset_s,
       excerpt_duration_s, stored, object_key, sha256, excerpt_reader
FROM lib_tracks
ON CONFLICT (track_id) DO NOTHING;

-- Files found at a new path (the old one gone); a file its folder or name named keeps the artist those give there
-- (its artist_id, if it changes, comes with lib_regrouped below).
UPDATE library_track SET source_path = m.source_path,
                         artist_spelling = coalesce(m.artist_spelling, library_track.artist_spelling),
                         artist_rule = coalesce(m.artist_rule, library_track.artist_rule),
                         name_key = coalesce(m.name_key, library_track.name_key)
FROM lib_moved m WHERE library_track.source_sha256 = m.source_sha256;
UPDATE preview SET source_url = m.source_path, provider_artist_id = coalesce(m.name_key, preview.provider_artist_id),
                   updated_at = now()
FROM lib_moved m WHERE preview.provider = 'library' AND preview.provider_track_id = m.source_sha256;

-- Excerpts read again because an older reader cut them (library_track.excerpt_reader): the track, its preview and
-- its library row point at the new object. The old audio's features stay (a feature service pinned before now was
-- trained on them; its point-in-time training set must come back unchanged): the track's old sha256 is recorded in
-- track_audio_history (until now), which the features suite reads to know those rows were of the track's audio when
-- made, and the next build adds the new audio's (its audio_id is the new sha256) as the track's newer values.
INSERT INTO track_audio_history (track_id, sha256, replaced_at)
SELECT t.track_id, t.sha256, now()
FROM track t JOIN lib_reread r ON r.track_id = t.track_id AND t.provider = 'library'
WHERE t.sha256 <> r.sha256
ON CONFLICT (track_id, sha256) DO UPDATE SET replaced_at = excluded.replaced_at;
-- A chained file's excerpt (an older reader read its first stream only) was cut again at a window chosen in its whole
-- length: the window and length come with it (the same as before for every other file).
UPDATE library_track SET object_key = r.object_key, sha256 = r.sha256, excerpt_reader = r.excerpt_reader,
                         duration_s = r.duration_s, excerpt_offset_s = r.excerpt_offset_s,
                         excerpt_duration_s = r.excerpt_duration_s
FROM lib_reread r WHERE library_track.track_id = r.track_id;
UPDATE preview SET object_key = r.object_key, sha256 = r.sha256, bytes = r.object_bytes,
                   duration_s = r.excerpt_duration_s, track_duration_s = r.duration_s,
                   excerpt_duration_s = r.excerpt_duration_s, updated_at = now()
FROM lib_reread r WHERE preview.track_id = r.track_id AND preview.provider = 'library';
UPDATE track SET object_key = r.object_key, sha256 = r.sha256, duration_s = r.excerpt_duration_s,
                 excerpt_duration_s = r.excerpt_duration_s
FROM lib_reread r WHERE track.track_id = r.track_id AND track.provider = 'library';
-- Excerpts an older reader cut as the current one does (version 2 of a file that is not chained): current now.
UPDATE library_track SET excerpt_reader = c.excerpt_reader FROM lib_current c WHERE library_track.track_id = c.track_id;
-- Chained files stored whole, their length measured again (the whole file is the object: its duration too).
UPDATE library_track SET duration_s = l.duration_s FROM lib_length l WHERE library_track.track_id = l.track_id;
UPDATE preview SET duration_s = l.duration_s, track_duration_s = l.duration_s, updated_at = now()
FROM lib_length l WHERE preview.track_id = l.track_id AND preview.provider = 'library';
UPDATE track SET duration_s = l.duration_s FROM lib_length l WHERE track.track_id = l.track_id AND track.provider = 'library';

INSERT INTO preview (track_id, artist_id, provider, provider_track_id, provider_artist_id, title, genre,
                     provider_rank, status, attempts, object_key, sha256, bytes, duration_s, sample_rate,
                     channels, format, track_duration_s, excerpt_offset_s, excerpt_duration_s, source_url,
                     fetched_at, updated_at)
SELECT track_id, artist_id, 'library', source_sha256, name_key, title, genre, tracknumber, 'downloaded', 1,
       object_key, sha256, object_bytes, object_duration_s, sample_rate, channels, object_format, duration_s,
       object_offset_s, object_window_s, source_path, now(), now()
FROM lib_tracks
ON CONFLICT (track_id) DO NOTHING;

INSERT INTO track (track_id, artist_id, title, genre, provider, provider_track_id, provider_rank, object_key,
                   sha256, format, duration_s, sample_rate, channels, excerpt_offset_s, excerpt_duration_s,
                   added_at)
SELECT track_id, artist_id, title, genre, 'library', source_sha256, tracknumber, object_key, sha256,
       object_format, object_duration_s, sample_rate, channels, object_offset_s, object_window_s, now()
FROM lib_tracks
ON CONFLICT (track_id) DO NOTHING;

-- Stored untagged files of a name that has a second MBID now move to the name's artist without one (staged in
-- lib_regrouped by musim.library.identity.stranded), and moved files to the artist their new folder names; an artist
-- they leave without tracks leaves the library.
UPDATE library_track SET artist_id = r.artist_id FROM lib_regrouped r WHERE library_track.track_id = r.track_id;
UPDATE preview SET artist_id = r.artist_id, updated_at = now()
FROM lib_regrouped r WHERE preview.track_id = r.track_id AND preview.provider = 'library';
UPDATE track SET artist_id = r.artist_id FROM lib_regrouped r WHERE track.track_id = r.track_id AND track.provider = 'library';
DELETE FROM library_artist a WHERE NOT EXISTS (SELECT 1 FROM library_track t WHERE t.artist_id = a.artist_id);

-- The spellings each library file gave, as the artist's 'library' variants (counted over every file).
DELETE FROM artist_name_variant
WHERE dump_id = 'library' AND artist_id IN (SELECT artist_id FROM lib_artists);

INSERT INTO artist_name_variant (artist_id, raw_name, dump_id, lines)
SELECT artist_id, artist_spelling, 'library', count(*)
FROM library_track
WHERE artist_id IN (SELECT artist_id FROM lib_artists)
GROUP BY artist_id, artist_spelling;

INSERT INTO library_skip (source_path, source_sha256, reason, detail)
SELECT source_path, source_sha256, reason, detail FROM lib_skips
ON CONFLICT (source_path) DO UPDATE SET
    source_sha256 = excluded.source_sha256, reason = excluded.reason, detail = excluded.detail, seen_at = now();

DELETE FROM library_skip WHERE source_path IN (SELECT source_path FROM lib_tracks)
                             OR source_path IN (SELECT source_path FROM lib_unskipped);
