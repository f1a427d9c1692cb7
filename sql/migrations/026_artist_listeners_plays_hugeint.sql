-- artist_listeners.plays is the sum of an artist's plays over every user of a dump (sql/similarity/listeners.sql).
-- Each user-artist count fits a BIGINT (sql/ingest/load_dump.sql rejects the lines of a user and artist whose
-- sum passes 2^63-1), but a sum of valid BIGINTs over many users can legitimately pass 2^63-1, and the exact
-- 128-bit sum was cast into this BIGINT column: a ConversionException that failed the whole similarity build.
-- The column holds the exact sum now; every value stored before fits it unchanged.
ALTER TABLE artist_listeners ALTER COLUMN plays TYPE HUGEINT;
