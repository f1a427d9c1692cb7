-- Whether the new snapshot `snap` holds audio neighbour rows (none before a model is published).
SELECT EXISTS (FROM snap.artist_neighbors_audio);
