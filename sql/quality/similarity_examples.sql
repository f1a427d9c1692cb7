-- Examples for sql/quality/similarity_invariants.sql (at most $limit each).
(SELECT 'out_of_range_rows' AS check_name,
        metric || ' ' || artist_id || ' -> ' || neighbor_id || ' score ' || coalesce(score::VARCHAR, 'NULL') AS example
 FROM artist_neighbors
 WHERE dump_id = $dump_id AND (score IS NULL OR isnan(score) OR CASE metric
     WHEN 'lift' THEN NOT (score > 0) WHEN 'pmi' THEN NOT isfinite(score) ELSE NOT (score BETWEEN 0 AND 1) END)
 LIMIT $limit)
UNION ALL
(SELECT 'self_pairs', metric || ' ' || artist_id || ' -> ' || neighbor_id || ' rank ' || rank
 FROM artist_neighbors WHERE dump_id = $dump_id AND artist_id = neighbor_id LIMIT $limit)
UNION ALL
(SELECT 'below_min_co_listeners', metric || ' ' || artist_id || ' -> ' || neighbor_id || ' co_listeners '
        || coalesce(co_listeners::VARCHAR, 'NULL') || ' < ' || $min_co_listeners
 FROM artist_neighbors WHERE dump_id = $dump_id AND (co_listeners IS NULL OR co_listeners < $min_co_listeners)
 LIMIT $limit)
UNION ALL
(SELECT 'duplicate_neighbors', metric || ' ' || artist_id || ' -> ' || neighbor_id || ': ' || count(*) || ' rows'
 FROM artist_neighbors WHERE dump_id = $dump_id
 GROUP BY metric, artist_id, neighbor_id HAVING count(*) > 1 LIMIT $limit)
UNION ALL
(SELECT 'max_neighbors_per_artist', metric || ' artist ' || artist_id || ': ' || count(*) || ' neighbours > k = ' || $k
 FROM artist_neighbors WHERE dump_id = $dump_id
 GROUP BY metric, artist_id HAVING count(*) > $k ORDER BY count(*) DESC LIMIT $limit)
UNION ALL
(SELECT 'rank_gaps', metric || ' artist ' || artist_id || ': ranks ' || min(rank) || '..' || max(rank) || ' for '
        || count(*) || ' neighbours'
 FROM artist_neighbors WHERE dump_id = $dump_id
 GROUP BY metric, artist_id HAVING min(rank) <> 1 OR max(rank) <> count(*) OR count(DISTINCT rank) <> count(*)
 LIMIT $limit)
UNION ALL
(SELECT 'asymmetric_pairs', x.metric || ' ' || x.artist_id || ' -> ' || x.neighbor_id || ' = ' || x.score
        || ' but ' || y.artist_id || ' -> ' || y.neighbor_id || ' = ' || y.score
 FROM artist_neighbors x
 JOIN artist_neighbors y ON y.dump_id = x.dump_id AND y.metric = x.metric AND y.artist_id = x.neighbor_id
                        AND y.neighbor_id = x.artist_id
 WHERE x.dump_id = $dump_id AND x.artist_id < x.neighbor_id
   AND NOT (abs(x.score - y.score) <= $tolerance * greatest(1.0, abs(x.score)) AND x.co_listeners = y.co_listeners)
 LIMIT $limit)
UNION ALL
(SELECT 'ineligible_rows', n.metric || ' ' || n.artist_id || ' -> ' || n.neighbor_id
        || ': an artist with fewer than ' || $min_listeners || ' listeners'
 FROM artist_neighbors n
 WHERE n.dump_id = $dump_id
   AND (n.artist_id NOT IN (SELECT artist_id FROM artist_listeners WHERE dump_id = $dump_id AND listeners >= $min_listeners)
        OR n.neighbor_id NOT IN (SELECT artist_id FROM artist_listeners WHERE dump_id = $dump_id AND listeners >= $min_listeners))
 LIMIT $limit)
UNION ALL
(SELECT 'catalogue_unordered', 'pair ' || artist_a || ', ' || artist_b || ' (artist_a must be < artist_b)'
 FROM artist_pair_similarity WHERE dump_id = $dump_id AND artist_a >= artist_b LIMIT $limit)
UNION ALL
(SELECT 'catalogue_duplicates', 'pair ' || artist_a || ', ' || artist_b || ': ' || count(*) || ' rows'
 FROM artist_pair_similarity WHERE dump_id = $dump_id
 GROUP BY artist_a, artist_b HAVING count(*) > 1 LIMIT $limit)
UNION ALL
(SELECT 'catalogue_out_of_range', 'pair ' || artist_a || ', ' || artist_b || ': seed ' || seed || ' jaccard ' || jaccard
        || ' cosine ' || cosine || ' lift ' || lift || ' pmi ' || pmi || ' co_listeners ' || co_listeners
 FROM artist_pair_similarity
 WHERE dump_id = $dump_id
   AND (NOT (seed BETWEEN 0 AND 1 AND jaccard BETWEEN 0 AND 1 AND cosine BETWEEN 0 AND 1 AND lift > 0
             AND co_listeners >= 1 AND abs(pmi - ln(lift)) <= $tolerance * greatest(1.0, abs(pmi)))
        OR seed IS NULL OR jaccard IS NULL OR cosine IS NULL OR lift IS NULL OR pmi IS NULL)
 LIMIT $limit)
UNION ALL
(SELECT 'catalogue_mismatches', n.metric || ' ' || n.artist_id || ' -> ' || n.neighbor_id || ': neighbours say '
        || n.score || ' (' || n.co_listeners || ' co-listeners), catalogue says '
        || CASE n.metric WHEN 'seed' THEN c.seed WHEN 'jaccard' THEN c.jaccard WHEN 'cosine' THEN c.cosine
                         WHEN 'lift' THEN c.lift ELSE c.pmi END || ' (' || c.co_listeners || ')'
 FROM artist_neighbors n
 JOIN artist_pair_similarity c ON c.dump_id = n.dump_id AND c.artist_a = least(n.artist_id, n.neighbor_id)
                              AND c.artist_b = greatest(n.artist_id, n.neighbor_id)
 WHERE n.dump_id = $dump_id
   AND NOT (abs(n.score - CASE n.metric WHEN 'seed' THEN c.seed WHEN 'jaccard' THEN c.jaccard
                                        WHEN 'cosine' THEN c.cosine WHEN 'lift' THEN c.lift ELSE c.pmi END)
            <= $tolerance * greatest(1.0, abs(n.score))
            AND n.co_listeners = c.co_listeners)
 LIMIT $limit)
UNION ALL
(SELECT 'catalogue_artists', count(*) || ' artists in the catalogue pairs > catalogue_size ' || $catalogue_size
 FROM (SELECT artist_a FROM artist_pair_similarity WHERE dump_id = $dump_id
       UNION SELECT artist_b FROM artist_pair_similarity WHERE dump_id = $dump_id)
 HAVING count(*) > $catalogue_size);
