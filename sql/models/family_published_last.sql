-- The version of the family $family whose audio neighbours were published last (what serves the family when it
-- has no champion, as `similar --audio` serves the version published last), or no row.
SELECT model_version FROM artist_neighbors_audio
WHERE family = $family
GROUP BY model_version
ORDER BY max(created_at) DESC, model_version
LIMIT 1
