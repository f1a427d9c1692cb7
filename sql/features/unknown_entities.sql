-- Pushed ids (fs_new.entity_key) that name no artist / track of the warehouse ($entity): how many, and the
-- first three, so a caller who pushes vectors for ids the platform does not have is told which. An artist is
-- known by its catalogue row or by a track of it (a catalogue taken from a published snapshot).
SELECT count(*) AS unknown, list(entity_key ORDER BY entity_key)[1:3] AS examples
FROM fs_new n
WHERE CASE $entity
        WHEN 'artist' THEN NOT EXISTS (SELECT 1 FROM artist a WHERE CAST(a.artist_id AS VARCHAR) = n.entity_key)
                       AND NOT EXISTS (SELECT 1 FROM track t WHERE CAST(t.artist_id AS VARCHAR) = n.entity_key)
        ELSE NOT EXISTS (SELECT 1 FROM track t WHERE t.track_id = n.entity_key)
      END;
