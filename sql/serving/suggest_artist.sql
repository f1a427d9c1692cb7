-- The one suggestion rule for an artist name typed, or being typed ($name_norm: musim.names.name_norm of it,
-- $name_key: musim.names.name_key): `musim similar`'s "did you mean" and the page's autocomplete. In order: the
-- name itself, then its key (how find_artist.sql finds a name), names starting with it, then keys starting with
-- its key, names containing it, then keys containing its key, then the names closest to it (Jaro-Winkler of the
-- normalised names >= 0.8, closest first); within each, the most listened in dump $dump_id, then the name and the
-- lower id. The artists are those with listeners in $dump_id, or, when $dump_id is NULL (a music library without
-- listening data), every catalogue artist; placeholders never. Each row: id, name, MBID, listeners, tracks (in
-- `track`) and how many artists suggested share its normalised name (more than one: the id tells them apart).
WITH candidates AS (
    SELECT a.artist_id, a.name, a.name_norm, a.mbid::VARCHAR AS mbid, coalesce(l.listeners, 0) AS listeners,
           CASE WHEN a.name_norm = $name_norm THEN 0
                WHEN a.name_key = $name_key THEN 1
                WHEN starts_with(a.name_norm, $name_norm) THEN 2
                WHEN $name_key <> '' AND starts_with(a.name_key, $name_key) THEN 3
                WHEN contains(a.name_norm, $name_norm) THEN 4
                WHEN $name_key <> '' AND contains(a.name_key, $name_key) THEN 5
                ELSE 6 END AS how
    FROM artist a
    LEFT JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
    WHERE NOT a.is_placeholder AND ($dump_id IS NULL OR l.artist_id IS NOT NULL)
), matched AS (
    SELECT *, CASE WHEN how = 6 THEN jaro_winkler_similarity(name_norm, $name_norm) END AS closeness
    FROM candidates
), suggested AS (
    SELECT *, count(*) OVER (PARTITION BY name_norm) AS namesakes
    FROM matched
    WHERE how < 6 OR closeness >= 0.8
    ORDER BY how, closeness DESC, listeners DESC, name, artist_id
    LIMIT $limit
)
SELECT s.artist_id, s.name, s.mbid, s.listeners, count(t.track_id) AS tracks, any_value(s.namesakes) AS namesakes
FROM suggested s
LEFT JOIN track t ON t.artist_id = s.artist_id
GROUP BY s.artist_id, s.name, s.mbid, s.listeners, s.how, s.closeness
ORDER BY s.how, s.closeness DESC, s.listeners DESC, s.name, s.artist_id;
