-- Each artist's musim.names.name_key, kept with the name it was computed from and the rule's version
-- (musim.names.NAME_KEY_RULE): a publish keys only the artists that are new, renamed or keyed by another rule
-- since the last one. Keying all 290K artists of the full dump took 0.3-1 s of every publish, and every model
-- publish and similarity build publishes a snapshot.
CREATE TABLE IF NOT EXISTS artist_name_key (
    artist_id INTEGER PRIMARY KEY,
    name      VARCHAR NOT NULL,                       -- the artist's name when it was keyed
    name_key  VARCHAR NOT NULL,
    rule      INTEGER NOT NULL                        -- NAME_KEY_RULE of the musim that keyed it
);
