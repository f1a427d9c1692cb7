-- artist_listeners.plays is the sum of an artist's plays over every user of a dump (sql/similarity/listeners.sql).
-- Each user-artist count fits a BIGINT (sql/ingest/load_dump.sql rejects the lines of a user and artist whose
-- sum passes 2^63-1), but a sum of valid BIGINTs over many users can legitimately pass 2^63-1, and the exact
-- 128-bit sum was cast into this BIGINT column: a ConversionException that failed the whole similarity build.
-- The column holds the exact sum now; every value stored before fits it unchanged.
ALTER TABLE artist_listeners ALTER COLUMN plays TYPE HUGEINT;

-- Artist names' whitespace (sql/ingest/load_dump.sql) is now every character Python's str.isspace() takes, as
-- musim.names.name_norm has it: RE2's \s collapsed ASCII whitespace only, so 'Sigur<U+00A0>Rós' kept its
-- no-break space in artist.name_norm and in its key 'name:sigur<U+00A0>rós', another artist than 'Sigur Rós'.
-- Stored normal forms and name keys are brought to the new rule, so that the next dump's spellings find their
-- artists. Where that would give two artists one key (both spellings were stored as two artists), neither is
-- changed: merging them is an identity change (their plays, pairs and neighbours) that no migration makes
-- silently; new dumps' spellings of that name then resolve to the artist that already holds the key.
UPDATE artist AS a
SET artist_key = r.new_key, name_norm = r.new_norm
FROM (
    SELECT *, count(*) OVER (PARTITION BY new_key) AS sharing
    FROM (
        SELECT artist_id, artist_key, name_norm,
               CASE WHEN starts_with(artist_key, 'name:')
                    THEN 'name:' || trim(regexp_replace(substr(artist_key, 6), '[\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Zs}\x{2028}\x{2029}]+', ' ', 'g'))
                    ELSE artist_key END AS new_key,
               trim(regexp_replace(name_norm, '[\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Zs}\x{2028}\x{2029}]+', ' ', 'g')) AS new_norm
        FROM artist
    )
) AS r
WHERE a.artist_id = r.artist_id AND r.sharing = 1 AND (r.new_key <> r.artist_key OR r.new_norm <> r.name_norm)
  AND r.new_key <> 'name:' AND r.new_norm <> '';
