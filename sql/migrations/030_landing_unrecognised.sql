-- The files in the Last.FM landing area that the `lastfm_ingest` scan does not take (not named as a dump's files:
-- `plays.tsv`, `...plays.tsv.bz2`): each is logged as a warning by the scan that first finds it, once, not by every
-- hourly scan. A file gone from the landing area is forgotten, so one dropped there again is reported again.
CREATE TABLE landing_unrecognised (
    location    VARCHAR PRIMARY KEY,          -- folder path or object-store URL of the file
    reported_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
