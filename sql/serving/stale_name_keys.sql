-- The artists whose name key is missing or stale (new, renamed, or keyed by another rule than $rule), into the
-- temp table stale_names (artist_id, name, simple); their old keys out. `simple`: a name of ASCII letters, digits,
-- spaces and the marks ' & , ! / + - with a letter or digit, whose musim.names.name_key is exactly its letters and
-- digits in lower case (no accent, compatibility form, bracket, dot or colon for the other rules to act on): keyed
-- here in SQL (most names; tests/test_serving.py checks them against name_key), the others by musim.serving.
CREATE OR REPLACE TEMP TABLE stale_names AS
SELECT a.artist_id, coalesce(a.name, '') AS name,
       regexp_full_match(coalesce(a.name, ''), '[A-Za-z0-9 ''&,!/+-]*[A-Za-z0-9][A-Za-z0-9 ''&,!/+-]*') AS simple
FROM artist a LEFT JOIN artist_name_key k USING (artist_id)
WHERE k.artist_id IS NULL OR k.name IS DISTINCT FROM coalesce(a.name, '') OR k.rule <> $rule;

DELETE FROM artist_name_key WHERE artist_id IN (SELECT artist_id FROM stale_names);

INSERT INTO artist_name_key
SELECT artist_id, name, regexp_replace(lower(name), '[^a-z0-9]+', '', 'g'), $rule FROM stale_names WHERE simple;
