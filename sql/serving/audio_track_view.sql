-- Track audio neighbours with titles and artists, for ad-hoc SQL (see audio_artist_view.sql).
CREATE OR REPLACE VIEW similar_tracks AS
    SELECT n.model_version, t.title, ta.name AS artist, n.rank, u.title AS neighbor_title,
           ua.name AS neighbor_artist, n.score, n.track_id, n.neighbor_track_id
    FROM track_neighbors n
    JOIN track t ON t.track_id = n.track_id
    JOIN track u ON u.track_id = n.neighbor_track_id
    LEFT JOIN artist ta ON ta.artist_id = t.artist_id
    LEFT JOIN artist ua ON ua.artist_id = u.artist_id;
COMMENT ON VIEW similar_tracks IS 'Audio neighbours of every track (its own artist''s tracks excluded), with titles and artists, per published model version: filter on model_version and title or track_id.';
COMMENT ON COLUMN similar_tracks.model_version IS 'The model version that scored them (model_registry.version).';
COMMENT ON COLUMN similar_tracks.title IS 'The track''s title.';
COMMENT ON COLUMN similar_tracks.artist IS 'The track''s artist.';
COMMENT ON COLUMN similar_tracks.rank IS '1 = sounds most alike.';
COMMENT ON COLUMN similar_tracks.neighbor_title IS 'The neighbour track''s title.';
COMMENT ON COLUMN similar_tracks.neighbor_artist IS 'The neighbour track''s artist.';
COMMENT ON COLUMN similar_tracks.score IS 'Higher = more similar; its meaning depends on the family: siamese: the model''s output for the clip pair, 0..1; every other family: cosine of the tracks'' embeddings, -1..1. Compare scores within one model_version only.';
COMMENT ON COLUMN similar_tracks.track_id IS 'The track (track.track_id).';
COMMENT ON COLUMN similar_tracks.neighbor_track_id IS 'The neighbour track (track.track_id).';
