-- The top $k audio neighbours of artist $artist_id (optionally of one model: $model), best first.
-- {{...}} placeholders are column identifiers of artist_neighbors_audio, matched by musim.queries
-- against fixed candidate names (never taken from a request); {{model_filter}} is "true" when the table
-- has no model column.
SELECT n.{{neighbor}} AS artist_id, a.name AS artist, {{score_expr}} AS score, {{rank_expr}} AS rank,
       l.listeners
FROM artist_neighbors_audio n
LEFT JOIN artist a ON a.artist_id = n.{{neighbor}}
LEFT JOIN artist_listeners l ON l.artist_id = n.{{neighbor}} AND l.dump_id = $dump_id
WHERE n.{{subject}} = $artist_id AND n.{{neighbor}} <> $artist_id AND {{model_filter}}
ORDER BY {{order}}
LIMIT $k;
