-- The versions whose audio neighbours are published (what `similar-audio --model VERSION` can search), the
-- most recently published first (for a "no champion" message).
SELECT model_version FROM artist_neighbors_audio
GROUP BY model_version
ORDER BY max(created_at) DESC, model_version
LIMIT 10;
