-- The one suggestion rule for an artist name typed, or being typed ($name_norm: musim.names.name_norm of it,
-- $name_key: musim.names.name_key): `musim similar`'s "did you mean" and the page's autocomplete. In order: the
-- name itself, then its key (how find_artist.sql finds a name), names starting with it, then keys starting with
-- its key, names containing it, then keys containing its key; within each, the most listened in dump $dump_id,
-- then the name and the lower id. While fewer than $limit match so, the names closest to it follow (Jaro-Winkler
-- of the normalised names >= 0.8, among those of its first letter: a misspelt name). The artists are those that
-- `musim similar` answers with neighbours: with listeners in $dump_id, or with audio neighbours (artists of the music
-- library without listening data: cold start); when $dump_id is NULL (a library without any), every catalogue
-- artist; placeholders never. Each row: id, name, MBID, listeners, tracks (in `track`) and how many of those
-- artists have its normalised name (more than one: the id tells them apart).
WITH audible AS (
    SELECT DISTINCT artist_id FROM artist_neighbors_audio
), found AS MATERIALIZED (
    SELECT a.artist_id, a.name, a.name_norm, a.mbid, coalesce(l.listeners, 0) AS listeners,
           CASE WHEN a.name_norm = $name_norm THEN 0
                WHEN a.name_key = $name_key THEN 1
                WHEN starts_with(a.name_norm, $name_norm) THEN 2
                WHEN starts_with(a.name_key, $name_key) THEN 3
                WHEN contains(a.name_norm, $name_norm) THEN 4
                ELSE 5 END AS how,
           NULL::DOUBLE AS closeness
    FROM artist a
    LEFT JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
    WHERE (contains(a.name_norm, $name_norm) OR ($name_key <> '' AND contains(a.name_key, $name_key)))
      AND NOT a.is_placeholder
      AND ($dump_id IS NULL OR l.artist_id IS NOT NULL OR a.artist_id IN (SELECT artist_id FROM audible))
    ORDER BY how, listeners DESC, a.name, a.artist_id
    LIMIT $limit
), close AS (
    SELECT a.artist_id, a.name, a.name_norm, a.mbid, coalesce(l.listeners, 0) AS listeners, 6 AS how,
           jaro_winkler_similarity(a.name_norm, $name_norm) AS closeness
    FROM artist a
    LEFT JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
    WHERE (SELECT count(*) FROM found) < $limit AND starts_with(a.name_norm, left($name_norm, 1))
      AND NOT contains(a.name_norm, $name_norm) AND NOT ($name_key <> '' AND coalesce(contains(a.name_key, $name_key), false))
      AND jaro_winkler_similarity(a.name_norm, $name_norm) >= 0.8
      AND NOT a.is_placeholder
      AND ($dump_id IS NULL OR l.artist_id IS NOT NULL OR a.artist_id IN (SELECT artist_id FROM audible))
    ORDER BY closeness DESC, listeners DESC, a.name, a.artist_id
    LIMIT $limit
), suggested AS MATERIALIZED (
    SELECT * FROM found UNION ALL SELECT * FROM close
), namesakes AS (  -- the artists of each suggested name, in the same catalogue
    SELECT o.name_norm, count(*) AS namesakes
    FROM artist o
    LEFT JOIN artist_listeners ol ON ol.artist_id = o.artist_id AND ol.dump_id = $dump_id
    WHERE o.name_norm IN (SELECT name_norm FROM suggested)
      AND NOT o.is_placeholder
      AND ($dump_id IS NULL OR ol.artist_id IS NOT NULL OR o.artist_id IN (SELECT artist_id FROM audible))
    GROUP BY o.name_norm
), tracks AS (
    SELECT artist_id, count(*) AS tracks FROM track WHERE artist_id IN (SELECT artist_id FROM suggested) GROUP BY artist_id
)
SELECT s.artist_id, s.name, s.mbid::VARCHAR AS mbid, s.listeners, coalesce(t.tracks, 0) AS tracks, n.namesakes
FROM suggested s
JOIN namesakes n USING (name_norm)
LEFT JOIN tracks t USING (artist_id)
ORDER BY s.how, s.closeness DESC, s.listeners DESC, s.name, s.artist_id
LIMIT $limit;
