-- Tracks whose title or artist name contains $q (musim.names.name_norm of the text typed), exact titles first, then
-- the artists' most popular tracks. The title is compared as $q is normalised (the name_norm macro,
-- sql/warehouse/macros.sql, as artist.name_norm is: NFC, whitespace collapsed as Python's str.isspace() takes it
-- and trimmed, lower case): a title in decomposed Unicode (tags and file names from macOS) or with two spaces is
-- found by its own text.
WITH t AS (
    SELECT *, name_norm(title) AS title_norm
    FROM track
)
SELECT t.track_id, t.title, a.name AS artist, t.artist_id, t.genre, t.provider, t.duration_s
FROM t
LEFT JOIN artist a ON a.artist_id = t.artist_id
WHERE contains(t.title_norm, $q) OR contains(a.name_norm, $q)
ORDER BY t.title_norm = $q DESC, a.name_norm = $q DESC, starts_with(t.title_norm, $q) DESC,
         a.name, coalesce(t.provider_rank, 32767), t.title, t.track_id
LIMIT $limit;
