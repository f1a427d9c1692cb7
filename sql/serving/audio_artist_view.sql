-- Audio neighbours with names, for ad-hoc SQL (as similar_artists is for co-listening), created in every
-- published snapshot: the rows of every published model version (filter on model_version; `musim models
-- list` names the champion). Cold-start artists (no co-listened pair in the dump the snapshot serves,
-- latest_dump: placed by their audio alone) are in them like the others.
CREATE OR REPLACE VIEW similar_artists_audio AS
    SELECT n.model_version, a.name AS artist, n.rank, b.name AS neighbor, n.score, n.cold_start,
           n.artist_id, n.neighbor_id
    FROM artist_neighbors_audio n
    JOIN artist a ON a.artist_id = n.artist_id
    JOIN artist b ON b.artist_id = n.neighbor_id;
COMMENT ON VIEW similar_artists_audio IS 'Audio neighbours of every artist with tracks, with names, per published model version: filter on model_version (`musim models list` names each family''s champion) and artist.';
COMMENT ON COLUMN similar_artists_audio.model_version IS 'The model version that scored them (model_registry.version, e.g. siamese-1).';
COMMENT ON COLUMN similar_artists_audio.artist IS 'The artist''s display name.';
COMMENT ON COLUMN similar_artists_audio.rank IS '1 = sounds most alike.';
COMMENT ON COLUMN similar_artists_audio.neighbor IS 'The neighbour''s display name.';
COMMENT ON COLUMN similar_artists_audio.score IS 'Higher = more similar; its meaning depends on the family: siamese: the model''s output for the pair, the mean over the two artists'' clip pairs, 0..1; every other family (cnn_classifier, autoencoder, contrastive, descriptors): cosine of the artists'' mean embeddings, -1..1. Compare scores within one model_version only.';
COMMENT ON COLUMN similar_artists_audio.cold_start IS 'True when the artist has no co-listened pair in the dump this snapshot serves by default (latest_dump): its place among the others comes from its audio alone. It may still have listeners.';
COMMENT ON COLUMN similar_artists_audio.artist_id IS 'The artist (artist.artist_id).';
COMMENT ON COLUMN similar_artists_audio.neighbor_id IS 'The neighbour (artist.artist_id).';
