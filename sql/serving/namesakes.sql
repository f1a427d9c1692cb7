-- The artists with the normalised name of artist $artist_id, itself included, or (with $artist_id NULL) the artists
-- keyed $name_key (musim.names.name_key: "Motley Crue" and "Mötley Crüe" alike), which a name found by its key chose
-- among: id, MBID (text), name, listeners in dump $dump_id and tracks (in `track`), in the order a name or a key is
-- answered in (serving/find_artist.sql): most listened first, without listeners the most tracks, then the most
-- listened in the other dumps the snapshot serves a build of, then the lower id. Give one of $artist_id and
-- $name_key, the other NULL.
WITH same AS (
    SELECT a.artist_id, a.mbid, a.name FROM artist a JOIN artist x ON x.name_norm = a.name_norm WHERE x.artist_id = $artist_id
    UNION ALL
    SELECT artist_id, mbid, name FROM artist WHERE name_key = $name_key
), tracks AS (
    SELECT artist_id, count(*) AS tracks FROM track WHERE artist_id IN (SELECT artist_id FROM same) GROUP BY artist_id
), elsewhere AS (
    SELECT l.artist_id, max(l.listeners) AS listeners
    FROM artist_listeners l JOIN similarity_build b USING (dump_id)
    WHERE l.artist_id IN (SELECT artist_id FROM same) GROUP BY l.artist_id
)
SELECT s.artist_id, s.mbid::VARCHAR AS mbid, s.name, coalesce(l.listeners, 0) AS listeners, coalesce(t.tracks, 0) AS tracks
FROM same s
LEFT JOIN artist_listeners l ON l.artist_id = s.artist_id AND l.dump_id = $dump_id
LEFT JOIN tracks t ON t.artist_id = s.artist_id
LEFT JOIN elsewhere e ON e.artist_id = s.artist_id
ORDER BY coalesce(l.listeners, 0) DESC,
         CASE WHEN coalesce(l.listeners, 0) = 0 THEN coalesce(t.tracks, 0) END DESC NULLS LAST,
         CASE WHEN coalesce(l.listeners, 0) = 0 THEN coalesce(e.listeners, 0) END DESC NULLS LAST, s.artist_id;
