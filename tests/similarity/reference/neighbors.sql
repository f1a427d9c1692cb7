-- The top $k neighbours of every artist for each metric of sim_scored, in both directions.
-- Ties are broken deterministically: higher score first, then more co-listeners, then the lower artist id.
-- (A window per metric; max_by over a (score, co, id) struct was 25x slower at full scale, and max_by over
-- the score alone breaks ties arbitrarily.) pmi = ln(lift) ranks exactly like lift.
CREATE OR REPLACE TEMP TABLE sim_directed AS
SELECT artist_a AS artist_id, artist_b AS neighbor_id, co, seed, jaccard, cosine, lift FROM sim_scored
UNION ALL
SELECT artist_b, artist_a, co, seed, jaccard, cosine, lift FROM sim_scored;

INSERT INTO artist_neighbors (dump_id, metric, artist_id, rank, neighbor_id, score, co_listeners)
SELECT $dump_id, 'seed', artist_id,
       row_number() OVER (PARTITION BY artist_id ORDER BY seed DESC, co DESC, neighbor_id) AS rank,
       neighbor_id, seed, co
FROM sim_directed QUALIFY rank <= $k;

INSERT INTO artist_neighbors (dump_id, metric, artist_id, rank, neighbor_id, score, co_listeners)
SELECT $dump_id, 'jaccard', artist_id,
       row_number() OVER (PARTITION BY artist_id ORDER BY jaccard DESC, co DESC, neighbor_id) AS rank,
       neighbor_id, jaccard, co
FROM sim_directed QUALIFY rank <= $k;

INSERT INTO artist_neighbors (dump_id, metric, artist_id, rank, neighbor_id, score, co_listeners)
SELECT $dump_id, 'cosine', artist_id,
       row_number() OVER (PARTITION BY artist_id ORDER BY cosine DESC, co DESC, neighbor_id) AS rank,
       neighbor_id, cosine, co
FROM sim_directed QUALIFY rank <= $k;

INSERT INTO artist_neighbors (dump_id, metric, artist_id, rank, neighbor_id, score, co_listeners)
SELECT $dump_id, 'lift', artist_id,
       row_number() OVER (PARTITION BY artist_id ORDER BY lift DESC, co DESC, neighbor_id) AS rank,
       neighbor_id, lift, co
FROM sim_directed QUALIFY rank <= $k;

INSERT INTO artist_neighbors (dump_id, metric, artist_id, rank, neighbor_id, score, co_listeners)
SELECT dump_id, 'pmi', artist_id, rank, neighbor_id, ln(score), co_listeners
FROM artist_neighbors WHERE dump_id = $dump_id AND metric = 'lift';

DROP TABLE sim_directed;
