-- The online snapshot files of each model version's newest committed audio-neighbour publication that published
-- its vectors (migration 021): what the online store's pointers must name (musim.models.serve._mend_online).
-- The file names carry their UTC stamp after `v<N>-`, so within a version the greatest is the newest.
SELECT track_view, artist_view, track_online, artist_online
FROM audio_neighbors_build
WHERE track_online IS NOT NULL AND artist_online IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY model_version ORDER BY artist_online DESC) = 1
ORDER BY model_version;
