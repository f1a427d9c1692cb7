-- Every model version whose embeddings and audio neighbours were published at least once.
SELECT DISTINCT model_version FROM audio_neighbors_build
