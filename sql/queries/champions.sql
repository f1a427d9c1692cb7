-- The registry's champion version(s), one per family: the one whose audio neighbours were published last first,
-- then those never published, most recently promoted first. The order sql/models/serving_model.sql serves by, so
-- that `similar --audio` and `similar-tracks` answer by default with the champion `similar-audio` and `embed` use.
SELECT r.version
FROM model_registry r
LEFT JOIN (SELECT model_version, max(created_at) AS published_at
           FROM artist_neighbors_audio GROUP BY model_version) p ON p.model_version = r.version
WHERE r.status = 'champion'
ORDER BY p.published_at DESC NULLS LAST, r.status_at DESC, r.version;
