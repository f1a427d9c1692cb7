-- Metrics of every counted pair. With la, lb the listeners of a and b, co their co-listeners and U the users:
--   seed    = r / max(r) over the dump, where r = (co/la + co/lb) / 2: co-listeners normalised by each
--             artist's listeners (the mean of P(b|a) and P(a|b)), then scaled to 0..1 (the origin's metric)
--   jaccard = co / (la + lb - co)        cosine = co / sqrt(la * lb)
--   lift    = co * U / (la * lb)         pmi    = ln(lift)
-- each one correctly rounded operation on exact integers (r = co (la + lb) / (2 la lb), cosine = sqrt(co^2 / (la lb))),
-- so that equal values are equal doubles (sql/similarity/views.sql).
CREATE OR REPLACE TEMP TABLE sim_scored AS
WITH raw AS (
    SELECT ea.artist_id AS artist_a, eb.artist_id AS artist_b, p.co,
           ea.listeners::DOUBLE AS la, eb.listeners::DOUBLE AS lb,
           p.co::DOUBLE * (ea.listeners::DOUBLE + eb.listeners::DOUBLE) / (2.0 * ea.listeners::DOUBLE * eb.listeners::DOUBLE) AS seed_raw
    FROM sim_pairs p
    JOIN sim_eligible ea ON ea.idx = p.idx_a
    JOIN sim_eligible eb ON eb.idx = p.idx_b
)
SELECT artist_a, artist_b, co,
       seed_raw / max(seed_raw) OVER () AS seed,
       co / (la + lb - co) AS jaccard,
       sqrt(co::DOUBLE * co / (la * lb)) AS cosine,
       co::DOUBLE * $users / (la * lb) AS lift,
       ln(co::DOUBLE * $users / (la * lb)) AS pmi,
       seed_raw
FROM raw;
