-- The serving model (musim.models.serve.serving_model): among the registry's champions, the one whose
-- audio neighbours were published last (what `similar-audio`, `embed` and the musim page use when no
-- family or version is named); a champion never published comes after, the most recently promoted first.
SELECT r.version
FROM model_registry r
LEFT JOIN (SELECT model_version, max(created_at) AS published_at
           FROM artist_neighbors_audio GROUP BY model_version) p ON p.model_version = r.version
WHERE r.status = 'champion'
ORDER BY p.published_at DESC NULLS LAST, r.status_at DESC, r.version
LIMIT 1
