-- Similarity builds made before the metrics became one correctly rounded operation on exact integers
-- (sql/similarity/views.sql: r = co (la + lb) / (2 la lb), was (co/la + co/lb) / 2; cosine = sqrt(co^2 / (la lb)),
-- was co / sqrt(la lb)) stored the older roundings, a last bit apart: the seed scale (similarity_build.seed_raw_max,
-- max r of the build's pairs), the catalogue's scores (artist_pair_similarity: seed and cosine; jaccard, lift and
-- pmi were already one rounding and are recomputed alike) and the warehouse's metric macros (the old
-- views.sql's, created by the last build, read by the warehouse's views and the similarity quality gate). Where a
-- recorded scale was an ulp below today's max r, the top pair's seed came out as 1.0000000000000002 and the gate
-- refused it. This brings every stored build to the new arithmetic from its stored counts, so an upgraded
-- warehouse needs no rebuild: the scale and scores equal what a build records now, bit for bit
-- (tests/test_warehouse.py). Snapshots are files published earlier: the next `musim publish` serves the new ones.
--
-- The formulas are written out here: the macros are created by a build (sql/similarity/views.sql), so a
-- warehouse without one has none yet. Each expression below is views.sql's, operation for operation, as of this
-- migration.

-- The macros as sql/similarity/views.sql defines them (every build and publish creates them again from there).
CREATE OR REPLACE MACRO sim_seed_raw(co, la, lb) AS
    co::DOUBLE * (la::DOUBLE + lb::DOUBLE) / (2.0 * la::DOUBLE * lb::DOUBLE);

CREATE OR REPLACE MACRO sim_score(metric, co, la, lb, users, seed_raw_max) AS CASE metric
    WHEN 'seed' THEN sim_seed_raw(co, la, lb) / seed_raw_max
    WHEN 'jaccard' THEN co::DOUBLE / (la::DOUBLE + lb::DOUBLE - co::DOUBLE)
    WHEN 'cosine' THEN sqrt(co::DOUBLE * co::DOUBLE / (la::DOUBLE * lb::DOUBLE))
    WHEN 'lift' THEN co::DOUBLE * users::DOUBLE / (la::DOUBLE * lb::DOUBLE)
    WHEN 'pmi' THEN ln(co::DOUBLE * users::DOUBLE / (la::DOUBLE * lb::DOUBLE)) END;

-- The seed scale: the largest r (sim_seed_raw) of the build's co-listened pairs and of its catalogue's pairs, as a
-- build records it (musim.similarity.build: store_pairs, then catalogue_seed_raw_max.sql). A build with no stored
-- pair keeps its record.
UPDATE similarity_build AS b
SET seed_raw_max = r.seed_raw_max
FROM (
    SELECT dump_id, max(co::DOUBLE * (la::DOUBLE + lb::DOUBLE) / (2.0 * la::DOUBLE * lb::DOUBLE)) AS seed_raw_max
    FROM (
        SELECT p.dump_id, p.co_listeners AS co, la.listeners AS la, lb.listeners AS lb
        FROM artist_pairs p
        JOIN artist_listeners la ON la.dump_id = p.dump_id AND la.artist_id = p.artist_a
        JOIN artist_listeners lb ON lb.dump_id = p.dump_id AND lb.artist_id = p.artist_b
        UNION ALL
        SELECT c.dump_id, c.co_listeners, la.listeners, lb.listeners
        FROM artist_pair_similarity c
        JOIN artist_listeners la ON la.dump_id = c.dump_id AND la.artist_id = c.artist_a
        JOIN artist_listeners lb ON lb.dump_id = c.dump_id AND lb.artist_id = c.artist_b
    )
    GROUP BY dump_id
) AS r
WHERE r.dump_id = b.dump_id;

-- The catalogue's scores, as sql/similarity/catalogue_pairs.sql stores them (sim_score), on the new scale.
UPDATE artist_pair_similarity AS c
SET seed = c.co_listeners::DOUBLE * (la.listeners::DOUBLE + lb.listeners::DOUBLE)
               / (2.0 * la.listeners::DOUBLE * lb.listeners::DOUBLE) / b.seed_raw_max,
    jaccard = c.co_listeners::DOUBLE / (la.listeners::DOUBLE + lb.listeners::DOUBLE - c.co_listeners::DOUBLE),
    cosine = sqrt(c.co_listeners::DOUBLE * c.co_listeners::DOUBLE / (la.listeners::DOUBLE * lb.listeners::DOUBLE)),
    lift = c.co_listeners::DOUBLE * b.users::DOUBLE / (la.listeners::DOUBLE * lb.listeners::DOUBLE),
    pmi = ln(c.co_listeners::DOUBLE * b.users::DOUBLE / (la.listeners::DOUBLE * lb.listeners::DOUBLE))
FROM similarity_build b, artist_listeners la, artist_listeners lb
WHERE b.dump_id = c.dump_id
  AND la.dump_id = c.dump_id AND la.artist_id = c.artist_a
  AND lb.dump_id = c.dump_id AND lb.artist_id = c.artist_b;
