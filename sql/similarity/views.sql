-- The metrics of a pair and the user-facing views over artist_pairs, created in the warehouse by every
-- similarity build and in every published snapshot (the one definition of the five metrics).
-- With co the co-listeners of a and b, la and lb their listeners and U the users of the dump:
--   seed    = r / max(r) over the build's stored pairs (similarity_build.seed_raw_max: the co-listened pairs
--             and the catalogue's pairs), where r = (co/la + co/lb) / 2: co-listeners normalised by each
--             artist's listeners (the mean of P(b|a) and P(a|b)), 0..1
--   jaccard = co / (la + lb - co)        cosine = co / sqrt(la * lb)
--   lift    = co * U / (la * lb)         pmi    = ln(lift)
-- Each is computed as ONE correctly rounded IEEE operation on integers that doubles hold exactly, so that
-- mathematically equal scores are the same double (a score prints, compares and joins like its value; written
-- as above, (2/5 + 2/4) / 2 and (3/5 + 3/10) / 2, or 3/sqrt(18) and 1/sqrt(2), differed in the last bit):
--   r = co (la + lb) / (2 la lb)   one division; seed = r / max(r): one more division of equal doubles
--   jaccard = co / (la + lb - co)  cosine = sqrt(co^2 / (la lb)): one division, then one sqrt
--   lift = co U / (la lb)          pmi = ln(lift): ln of equal doubles
-- Exact integers: co <= la, lb <= U, so every product and sum here is at most 2 U^2, which a double holds
-- exactly while U <= 2^26 (67 million users; the full Last.FM 360K dump has 360K, the 1K dump 1K), whatever
-- the order of the multiplications. musim/similarity/metrics.py (`musim similar`), musim/similarity/colisten.py
-- and musim/_cooccurrence.c (the build's record of max(r)) do the same operations: bit-identical results
-- (tests/similarity/test_metrics.py).
CREATE OR REPLACE MACRO sim_seed_raw(co, la, lb) AS
    co::DOUBLE * (la::DOUBLE + lb::DOUBLE) / (2.0 * la::DOUBLE * lb::DOUBLE);

CREATE OR REPLACE MACRO sim_score(metric, co, la, lb, users, seed_raw_max) AS CASE metric
    WHEN 'seed' THEN sim_seed_raw(co, la, lb) / seed_raw_max
    WHEN 'jaccard' THEN co::DOUBLE / (la::DOUBLE + lb::DOUBLE - co::DOUBLE)
    WHEN 'cosine' THEN sqrt(co::DOUBLE * co::DOUBLE / (la::DOUBLE * lb::DOUBLE))
    WHEN 'lift' THEN co::DOUBLE * users::DOUBLE / (la::DOUBLE * lb::DOUBLE)
    WHEN 'pmi' THEN ln(co::DOUBLE * users::DOUBLE / (la::DOUBLE * lb::DOUBLE)) END;

-- How the neighbours of artist a (la listeners) rank by a metric: by a key, not by its score. Equal values have
-- equal scores (above), but two different values can round to one score (seed is rounded twice, and a score's
-- integers are up to la times its key's), so the ranking uses a key that orders exactly like it within one artist: p / q, one correctly rounded division of integers p
-- and q that doubles hold exactly, so equal values give the same key (the tie then goes to co-listeners and the
-- lower id) and different values keep their order while p * q < 2^52 (each artist under 130,000 listeners):
--   seed: co (la + lb) / lb  (r * 2 la)    jaccard: co / (la + lb - co)
--   cosine: co^2 / lb  (cosine^2 * la)      lift and pmi: co / lb  (lift * la / U)
-- musim/similarity/metrics.py ranks with the same arithmetic.
CREATE OR REPLACE MACRO sim_rank_key(metric, co, la, lb) AS CASE metric
    WHEN 'seed' THEN co::DOUBLE * (la::DOUBLE + lb::DOUBLE) / lb::DOUBLE
    WHEN 'jaccard' THEN co / (la::DOUBLE + lb::DOUBLE - co)
    WHEN 'cosine' THEN co::DOUBLE * co::DOUBLE / lb::DOUBLE
    ELSE co::DOUBLE / lb::DOUBLE END;

-- The top-k neighbours (k of the build) of every artist for each metric, in both directions; the columns
-- of the table this view replaced, with the neighbour's name and listeners and the artist's name. Scoring a
-- whole dump takes seconds per million pairs: filter on artist_id or artist_name (both are partition keys of
-- the ranking, so DuckDB pushes such a filter below it and scores only that artist's pairs), or use
-- `musim similar`. A filter on a subquery's result is not pushed down: look the id up first.
CREATE OR REPLACE VIEW artist_neighbors AS
WITH directed AS (
    SELECT dump_id, artist_a AS artist_id, artist_b AS neighbor_id, co_listeners FROM artist_pairs
    UNION ALL
    SELECT dump_id, artist_b, artist_a, co_listeners FROM artist_pairs
),
scored AS (
    SELECT d.dump_id, m.metric, d.artist_id, an.name AS artist_name, d.neighbor_id, d.co_listeners, b.k, ln.listeners AS neighbor_listeners,
           sim_score(m.metric, d.co_listeners, la.listeners, ln.listeners, b.users, b.seed_raw_max) AS score,
           sim_rank_key(m.metric, d.co_listeners, la.listeners, ln.listeners) AS rank_key
    FROM directed d
    JOIN similarity_build b USING (dump_id)
    JOIN artist an ON an.artist_id = d.artist_id
    JOIN artist_listeners la ON la.dump_id = d.dump_id AND la.artist_id = d.artist_id
    JOIN artist_listeners ln ON ln.dump_id = d.dump_id AND ln.artist_id = d.neighbor_id
    CROSS JOIN (VALUES ('seed'), ('jaccard'), ('cosine'), ('lift'), ('pmi')) m(metric)
)
SELECT s.dump_id, s.metric, s.artist_id,
       row_number() OVER (PARTITION BY s.dump_id, s.metric, s.artist_id, s.artist_name
                          ORDER BY s.rank_key DESC, s.co_listeners DESC, s.neighbor_id) AS rank,
       s.neighbor_id, s.score, s.co_listeners, a.name AS neighbor_name, s.neighbor_listeners, s.artist_name
FROM scored s
JOIN artist a ON a.artist_id = s.neighbor_id
QUALIFY rank <= s.k;

-- Convenience: neighbours with names, for ad-hoc SQL.
CREATE OR REPLACE VIEW similar_artists AS
    SELECT n.dump_id, n.metric, n.artist_name AS artist, n.rank, n.neighbor_name AS neighbor, n.score, n.co_listeners,
           n.artist_id, n.neighbor_id
    FROM artist_neighbors n;
