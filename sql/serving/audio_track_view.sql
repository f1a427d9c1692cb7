-- Track audio neighbours with titles and artists, for ad-hoc SQL (see audio_artist_view.sql).
CREATE OR REPLACE VIEW similar_tracks AS
    SELECT n.model_version, t.title, ta.name AS artist, n.rank, u.title AS neighbor_title,
           ua.name AS neighbor_artist, n.score, n.track_id, n.neighbor_track_id
    FROM track_neighbors n
    JOIN track t ON t.track_id = n.track_id
    JOIN track u ON u.track_id = n.neighbor_track_id
    LEFT JOIN artist ta ON ta.artist_id = t.artist_id
    LEFT JOIN artist ua ON ua.artist_id = u.artist_id;
