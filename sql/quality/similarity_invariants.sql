-- Whole-table facts of the similarity build of dump $dump_id, over every row, as one row (similarity).
-- Thresholds come from the build's own record: $min_listeners, $min_co_listeners, $k, $catalogue_size.
-- Every metric is symmetric, so a -> b and b -> a must carry the same score (up to $tolerance, relative).
WITH n AS (
    SELECT metric, artist_id, rank, neighbor_id, score, co_listeners FROM artist_neighbors WHERE dump_id = $dump_id
),
c AS (
    SELECT * FROM artist_pair_similarity WHERE dump_id = $dump_id
),
eligible AS (
    SELECT artist_id FROM artist_listeners WHERE dump_id = $dump_id AND listeners >= $min_listeners
),
rows_ AS (
    SELECT count(*) AS neighbor_rows,
           count(*) FILTER (WHERE score IS NULL OR isnan(score) OR CASE metric
               WHEN 'lift' THEN NOT (score > 0)
               WHEN 'pmi' THEN NOT isfinite(score)
               ELSE NOT (score BETWEEN 0 AND 1) END) AS out_of_range_rows,
           count(*) FILTER (WHERE artist_id = neighbor_id) AS self_pairs,
           count(*) FILTER (WHERE co_listeners IS NULL OR co_listeners < $min_co_listeners) AS below_min_co_listeners,
           count(*) - count(DISTINCT (metric, artist_id, neighbor_id)) AS duplicate_neighbors
    FROM n
),
per_artist AS (
    SELECT coalesce(max(cnt), 0) AS max_neighbors_per_artist,
           count(*) FILTER (WHERE lo <> 1 OR hi <> cnt OR ranks <> cnt) AS rank_gaps
    FROM (SELECT metric, artist_id, count(*) AS cnt, min(rank) AS lo, max(rank) AS hi, count(DISTINCT rank) AS ranks
          FROM n GROUP BY metric, artist_id)
),
sym AS (
    SELECT count(*) AS asymmetric_pairs
    FROM n x
    JOIN n y ON y.metric = x.metric AND y.artist_id = x.neighbor_id AND y.neighbor_id = x.artist_id
    WHERE x.artist_id < x.neighbor_id
      AND NOT (abs(x.score - y.score) <= $tolerance * greatest(1.0, abs(x.score))
               AND x.co_listeners = y.co_listeners)
),
ineligible AS (
    SELECT count(*) AS ineligible_rows
    FROM n
    WHERE artist_id NOT IN (SELECT artist_id FROM eligible) OR neighbor_id NOT IN (SELECT artist_id FROM eligible)
),
cat AS (
    SELECT count(*) AS catalogue_pairs,
           count(*) FILTER (WHERE artist_a >= artist_b) AS catalogue_unordered,
           count(*) - count(DISTINCT (artist_a, artist_b)) AS catalogue_duplicates,
           count(*) FILTER (WHERE NOT (seed BETWEEN 0 AND 1 AND jaccard BETWEEN 0 AND 1 AND cosine BETWEEN 0 AND 1
                                       AND lift > 0 AND co_listeners >= 1
                                       AND abs(pmi - ln(lift)) <= $tolerance * greatest(1.0, abs(pmi)))
                                 OR seed IS NULL OR jaccard IS NULL OR cosine IS NULL OR lift IS NULL OR pmi IS NULL)
               AS catalogue_out_of_range
    FROM c
),
cat_artists AS (
    SELECT count(*) AS catalogue_artists FROM (SELECT artist_a AS a FROM c UNION SELECT artist_b FROM c)
),
cross_ AS (
    SELECT count(*) AS catalogue_mismatches
    FROM n
    JOIN c ON c.artist_a = least(n.artist_id, n.neighbor_id) AND c.artist_b = greatest(n.artist_id, n.neighbor_id)
    WHERE NOT (abs(n.score - CASE n.metric WHEN 'seed' THEN c.seed WHEN 'jaccard' THEN c.jaccard
                                           WHEN 'cosine' THEN c.cosine WHEN 'lift' THEN c.lift ELSE c.pmi END)
               <= $tolerance * greatest(1.0, abs(n.score))
               AND n.co_listeners = c.co_listeners)
)
SELECT * FROM rows_, per_artist, sym, ineligible, cat, cat_artists, cross_;
