-- The artists the library has resolved so far, with every name key of their spellings and the MBID their
-- catalogue artist has (a Last.FM artist a name-only library artist was matched to may have one).
SELECT l.artist_id, l.name, CAST(l.mbid AS VARCHAR) AS mbid, l.lastfm_match, l.spellings, l.name_keys,
       CAST(a.mbid AS VARCHAR) AS catalogue_mbid
FROM library_artist l
LEFT JOIN artist a USING (artist_id)
