-- Artists named $name_norm (normalised name) or, when none is, $name_key (musim.names.name_key: the music
-- library's rule, spacing and punctuation aside): the normalised name first, then the most listened (dump
-- $dump_id; NULL: no dump), without listeners the one with the most tracks, then the most listened in the other
-- dumps the snapshot serves a build of (its most listeners in one), then the lower id (the order
-- serving/namesakes.sql lists them in). Each branch is one index lookup.
WITH named AS (
    SELECT artist_id, name, 0 AS how FROM artist WHERE name_norm = $name_norm
    UNION ALL
    SELECT artist_id, name, 1 AS how FROM artist WHERE name_key = $name_key
), tracks AS (
    SELECT artist_id, count(*) AS tracks FROM track WHERE artist_id IN (SELECT artist_id FROM named) GROUP BY artist_id
), elsewhere AS (
    SELECT l.artist_id, max(l.listeners) AS listeners
    FROM artist_listeners l JOIN similarity_build b USING (dump_id)
    WHERE l.artist_id IN (SELECT artist_id FROM named) GROUP BY l.artist_id
)
SELECT n.artist_id, n.name, coalesce(l.listeners, 0) AS listeners
FROM named n
LEFT JOIN artist_listeners l ON l.artist_id = n.artist_id AND l.dump_id = $dump_id
LEFT JOIN tracks t ON t.artist_id = n.artist_id
LEFT JOIN elsewhere e ON e.artist_id = n.artist_id
ORDER BY n.how, coalesce(l.listeners, 0) DESC,
         CASE WHEN coalesce(l.listeners, 0) = 0 THEN coalesce(t.tracks, 0) END DESC NULLS LAST,
         CASE WHEN coalesce(l.listeners, 0) = 0 THEN coalesce(e.listeners, 0) END DESC NULLS LAST, n.artist_id;
