-- A library artist is a catalogue artist, not a name: two bands called "Nirvana" tagged with their own
-- MusicBrainz ids are two artists, and one MBID under two spellings ("Sam Cooke", "Samuel Cook") is one. So
-- library_artist is keyed by artist_id, with every name_key (musim.names.name_key) its spellings have;
-- library_track.name_key stays the key of the track's own spelling, and tracks meet their artist by artist_id.
-- The rows of one artist under several keys (one MBID, two spellings) become one.
CREATE TABLE library_artist_by_id (
    artist_id    INTEGER PRIMARY KEY,                 -- artist.artist_id
    name         VARCHAR NOT NULL,                    -- the display name chosen among its spellings
    mbid         UUID,                                -- from a MusicBrainz artist id tag
    lastfm_match VARCHAR NOT NULL                     -- how it met the Last.FM catalogue:
        CHECK (lastfm_match IN ('mbid', 'name', 'variant', 'none')),  -- 'none': a library-only artist
    spellings    VARCHAR[] NOT NULL,
    name_keys    VARCHAR[] NOT NULL,                  -- the name_key of each spelling
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO library_artist_by_id (artist_id, name, mbid, lastfm_match, spellings, name_keys, created_at, updated_at)
SELECT artist_id,
       arg_max(name, {'n': len(spellings), 'k': name_key}),
       any_value(mbid) FILTER (WHERE mbid IS NOT NULL),
       arg_min(lastfm_match, {'none': lastfm_match = 'none', 'k': name_key}),
       list_sort(list_distinct(flatten(list(spellings)))),
       list_sort(list(DISTINCT name_key)),
       min(created_at),
       max(updated_at)
FROM library_artist
GROUP BY artist_id;

DROP TABLE library_artist;
ALTER TABLE library_artist_by_id RENAME TO library_artist;
