-- The in-memory scratch database shared by the staging cursors of one ingest (attached per ingest).
CREATE TABLE ingest_scratch.stage_checked (
    line_no  BIGINT NOT NULL,
    user_key VARCHAR,
    mbid_text VARCHAR,                  -- as in the file: cast to UUID per distinct spelling by the load
    raw_name VARCHAR,
    plays    BIGINT,
    reason   VARCHAR,
    raw      VARCHAR
);

CREATE TABLE ingest_scratch.stage_profiles (
    line_no  BIGINT NOT NULL,
    user_key VARCHAR,
    gender   VARCHAR,
    age      SMALLINT,
    country  VARCHAR,
    signup   DATE,
    reason   VARCHAR,
    raw      VARCHAR
);
