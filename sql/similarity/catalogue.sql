-- The catalogue of a build: the $catalogue_size eligible artists with the most listeners (ties: lower id),
-- numbered densely 0..C-1 by id in idx, and their edges (user, artist) from sim_edges.
CREATE OR REPLACE TEMP TABLE sim_catalogue AS
SELECT artist_id, listeners, (row_number() OVER (ORDER BY artist_id) - 1)::INTEGER AS idx
FROM (SELECT artist_id, listeners FROM sim_eligible ORDER BY listeners DESC, artist_id LIMIT $catalogue_size);

CREATE OR REPLACE TEMP TABLE sim_catalogue_edges AS
SELECT e.user_id, c.artist_id, c.idx
FROM sim_edges e JOIN sim_catalogue c USING (artist_id);
