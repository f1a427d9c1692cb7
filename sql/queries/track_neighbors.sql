-- The top $k neighbours of track $track_id (optionally of one model: $model), best first, with titles and
-- artists when the track table is published. Placeholders as in audio_neighbors.sql.
SELECT n.{{neighbor}} AS track_id, {{title_expr}} AS title, {{artist_expr}} AS artist,
       {{score_expr}} AS score, {{rank_expr}} AS rank
FROM track_neighbors n
{{track_join}}
WHERE n.{{subject}} = $track_id AND n.{{neighbor}} <> $track_id AND {{model_filter}}
ORDER BY {{order}}
LIMIT $k;
