-- The serving model's champion (musim.models.new_audio.serving_choice): among the registry's champions, the one
-- whose audio neighbours were published last, with when (NULL: a champion never published, the most recently
-- promoted first). Without a published champion, `similar --audio`, `similar-tracks`, `similar-audio` and
-- `embed` serve the version published last (published_versions.sql).
SELECT r.version, p.published_at
FROM model_registry r
LEFT JOIN (SELECT model_version, max(created_at) AS published_at
           FROM artist_neighbors_audio GROUP BY model_version) p ON p.model_version = r.version
WHERE r.status = 'champion'
ORDER BY p.published_at DESC NULLS LAST, r.status_at DESC, r.version
LIMIT 1
