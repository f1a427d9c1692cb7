-- Artists, tracks and cold-start tracks of the latest published audio-neighbour build.
SELECT artists, tracks, cold_start FROM audio_neighbors_build ORDER BY created_at DESC LIMIT 1;
