-- The tables every ingest appends hundreds of thousands of rows to lose their PRIMARY KEY / UNIQUE
-- constraints. In DuckDB each such constraint is an ART index maintained row by row on insert and written
-- out at commit: on a full 360K dump they cost about a tenth of the whole ingest, and nothing reads
-- through them (queries scan; the serving snapshot builds its own index). Uniqueness holds by
-- construction in sql/ingest/load_dump.sql (new ids numbered past the current maximum, for keys absent
-- from the table), is checked before the ingest commits (sql/ingest/check_keys.sql), and is verified
-- again by the quality suites (artists: duplicate ids, keys and spellings; lastfm_plays: user ids and keys).

CREATE TABLE lastfm_user_new (
    user_id  INTEGER NOT NULL,
    user_key VARCHAR NOT NULL
);
INSERT INTO lastfm_user_new SELECT user_id, user_key FROM lastfm_user ORDER BY user_id;
DROP TABLE lastfm_user;
ALTER TABLE lastfm_user_new RENAME TO lastfm_user;

CREATE TABLE artist_new (
    artist_id      INTEGER NOT NULL,
    artist_key     VARCHAR NOT NULL,                  -- mbid:<uuid> where the MBID is valid, else name:<normalised>
    mbid           UUID,
    name           VARCHAR NOT NULL,                  -- display name: the most used spelling
    name_norm      VARCHAR NOT NULL,                  -- lower-cased, NFC, whitespace collapsed
    is_placeholder BOOLEAN NOT NULL DEFAULT false,    -- '[unknown]', 'various artists': kept, not compared
    first_dump_id  VARCHAR NOT NULL
);
INSERT INTO artist_new SELECT artist_id, artist_key, mbid, name, name_norm, is_placeholder, first_dump_id
FROM artist ORDER BY artist_id;
DROP TABLE artist;
ALTER TABLE artist_new RENAME TO artist;

CREATE TABLE artist_name_variant_new (
    artist_id INTEGER NOT NULL,
    raw_name  VARCHAR NOT NULL,
    dump_id   VARCHAR NOT NULL,
    lines     BIGINT NOT NULL
);
INSERT INTO artist_name_variant_new SELECT artist_id, raw_name, dump_id, lines FROM artist_name_variant
ORDER BY dump_id, artist_id, raw_name;
DROP TABLE artist_name_variant;
ALTER TABLE artist_name_variant_new RENAME TO artist_name_variant;
