-- How many cold-start artists (no co-listened pair in the latest dump) a published neighbour build served.
SELECT cold_start FROM audio_neighbors_build WHERE model_version = $model_version AND created_at = $created_at
