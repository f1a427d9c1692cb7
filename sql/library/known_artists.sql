-- The artists the library has resolved so far, by the key their spellings share.
SELECT name_key, artist_id, name, CAST(mbid AS VARCHAR) AS mbid, lastfm_match, spellings FROM library_artist
