-- Audio neighbours with names, for ad-hoc SQL (as similar_artists is for co-listening), created in every
-- published snapshot: the rows of every published model version (filter on model_version; `musim models
-- list` names the champion). Artists without listening data (cold_start) are in them like the others.
CREATE OR REPLACE VIEW similar_artists_audio AS
    SELECT n.model_version, a.name AS artist, n.rank, b.name AS neighbor, n.score, n.cold_start,
           n.artist_id, n.neighbor_id
    FROM artist_neighbors_audio n
    JOIN artist a ON a.artist_id = n.artist_id
    JOIN artist b ON b.artist_id = n.neighbor_id;
