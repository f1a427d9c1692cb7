-- Every acquired preview (not the library's own) by content hash: a library file with the same bytes is a
-- track the catalogue already has, not a new one.
SELECT p.sha256, p.track_id, p.provider, coalesce(a.name, 'artist ' || p.artist_id) AS artist, p.source_url
FROM preview p
LEFT JOIN artist a USING (artist_id)   -- a warehouse acquired from a published snapshot may lack the row
WHERE p.status = 'downloaded' AND p.provider <> 'library' AND p.sha256 IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY p.sha256 ORDER BY p.track_id) = 1;
