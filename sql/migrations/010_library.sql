-- The local music library (musim.library): every file scanned with its one outcome, the artists the
-- library resolved (catalogue artists in `artist`, most without listening data) and how each was matched
-- to the Last.FM catalogue. Stored tracks are also rows of `preview` and `track` (provider 'library'),
-- so features, gates and the families that need no listening data follow unchanged.

-- One row per library artist: the key its spellings share, and the catalogue artist it is.
CREATE TABLE IF NOT EXISTS library_artist (
    name_key    VARCHAR PRIMARY KEY,                  -- musim.library.artists.name_key of its spellings
    artist_id   INTEGER NOT NULL,                     -- artist.artist_id
    name        VARCHAR NOT NULL,                     -- the display name chosen among its spellings
    mbid        UUID,                                 -- from a MusicBrainz artist id tag
    lastfm_match VARCHAR NOT NULL                     -- how it met the Last.FM catalogue:
        CHECK (lastfm_match IN ('mbid', 'name', 'variant', 'none')),  -- 'none': a library-only artist
    spellings   VARCHAR[] NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per stored file (content sha256 unique: the same audio at two paths is stored once).
CREATE TABLE IF NOT EXISTS library_track (
    track_id          VARCHAR PRIMARY KEY,            -- = track.track_id = 16 hex of sha256('library|' || source_sha256)
    artist_id         INTEGER NOT NULL,
    name_key          VARCHAR NOT NULL,               -- library_artist.name_key
    artist_spelling   VARCHAR NOT NULL,               -- the name the rule gave for this file
    artist_rule       VARCHAR NOT NULL
        CHECK (artist_rule IN ('mbid', 'albumartist', 'artist', 'folder', 'filename', 'unknown')),
    title             VARCHAR NOT NULL,
    album             VARCHAR,
    genre             VARCHAR,
    tracknumber       INTEGER,
    source_path       VARCHAR NOT NULL,               -- absolute path of the file when stored
    source_sha256     VARCHAR NOT NULL UNIQUE,
    source_bytes      BIGINT NOT NULL,
    source_format     VARCHAR NOT NULL,               -- mp3, ogg, opus, flac, wav, aiff, m4a (by content)
    duration_s        DOUBLE NOT NULL,                -- the whole file
    excerpt_offset_s  DOUBLE NOT NULL,                -- the analysis window in the source file
    excerpt_duration_s DOUBLE NOT NULL,
    stored            VARCHAR NOT NULL CHECK (stored IN ('excerpt', 'whole')),
    object_key        VARCHAR NOT NULL,
    sha256            VARCHAR NOT NULL,               -- of the stored object
    added_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Files that were not stored, with the reason (the last scan that saw them): a rerun reports them again
-- without decoding while their content is unchanged, `--retry` examines them again.
CREATE TABLE IF NOT EXISTS library_skip (
    source_path   VARCHAR PRIMARY KEY,
    source_sha256 VARCHAR,                           -- NULL when the file could not be read
    reason        VARCHAR NOT NULL CHECK (reason IN ('empty', 'unreadable', 'not_audio', 'undecodable',
                                                     'truncated', 'too_short', 'silent', 'duplicate_content')),
    detail        VARCHAR,
    seen_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
