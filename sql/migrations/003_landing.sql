-- Files seen in the landing area, so a file is hashed and ingested once (path + size + mtime -> dump).
CREATE TABLE landing_file (
    location   VARCHAR NOT NULL,              -- folder path or object-store URL of the file
    size       BIGINT NOT NULL,
    mtime      DOUBLE NOT NULL,
    dump_id    VARCHAR NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (location, size, mtime)
);
