-- Library artists meeting the Last.FM artists of the dump just loaded, in its ingest's transaction
-- (musim.library.identity.join_dump): the library artist $artist_ids[i] is the catalogue artist $lastfm_ids[i],
-- met by $matches[i] ('mbid', 'name' or 'variant'). Where that is another artist (one the dump brought, with no
-- plays yet), it joins the library artist, which keeps its id and takes the rest of that artist's row (key, MBID,
-- display name: what the catalogue artist would be had the dump come first, so later dumps meet it by the same key)
-- and its spellings of the dump; then it leaves the catalogue. The library keeps its own name and MBID.
CREATE OR REPLACE TEMP TABLE lib_joined AS
SELECT j.artist_id, j.lastfm_id, j.lastfm_match, o.artist_key, o.mbid, o.name, o.name_norm
FROM (SELECT unnest($artist_ids) AS artist_id, unnest($lastfm_ids) AS lastfm_id, unnest($matches) AS lastfm_match) j
JOIN artist o ON o.artist_id = j.lastfm_id;

UPDATE artist_name_variant SET artist_id = j.artist_id
FROM lib_joined j
WHERE artist_name_variant.artist_id = j.lastfm_id AND j.lastfm_id <> j.artist_id;

DELETE FROM artist WHERE artist_id IN (SELECT lastfm_id FROM lib_joined WHERE lastfm_id <> artist_id);

UPDATE artist SET artist_key = j.artist_key, mbid = j.mbid, name = j.name, name_norm = j.name_norm
FROM lib_joined j
WHERE artist.artist_id = j.artist_id AND j.lastfm_id <> j.artist_id;

UPDATE library_artist SET lastfm_match = j.lastfm_match, updated_at = now()
FROM lib_joined j
WHERE library_artist.artist_id = j.artist_id;
