-- Examples for sql/quality/similarity_invariants.sql (at most $limit each).
(SELECT 'unordered_pairs' AS check_name, 'pair ' || artist_a || ', ' || artist_b || ' (artist_a must be < artist_b)' AS example
 FROM artist_pair_counts WHERE dump_seq = $dump_seq AND artist_a >= artist_b LIMIT $limit)
UNION ALL
(SELECT 'pairs_out_of_order', 'pair ' || artist_a || ', ' || artist_b || ': ' || count(*) || ' rows'
 FROM artist_pair_counts WHERE dump_seq = $dump_seq
 GROUP BY artist_a, artist_b HAVING count(*) > 1 LIMIT $limit)
UNION ALL
(SELECT 'pairs_out_of_order', 'pair ' || artist_a || ', ' || artist_b || ' stored after pair ' || prev_a || ', ' || prev_b
 FROM (SELECT artist_a, artist_b, lag(artist_a) OVER () AS prev_a, lag(artist_b) OVER () AS prev_b
       FROM artist_pair_counts WHERE dump_seq = $dump_seq)
 WHERE artist_a < prev_a OR (artist_a = prev_a AND artist_b < prev_b) LIMIT $limit)
UNION ALL
(SELECT 'duplicate_listeners', 'artist ' || artist_id || ': ' || count(*) || ' listeners rows'
 FROM artist_listeners WHERE dump_id = $dump_id GROUP BY artist_id HAVING count(*) > 1 LIMIT $limit)
UNION ALL
(SELECT 'below_min_co_listeners', 'pair ' || artist_a || ', ' || artist_b || ': co_listeners '
        || coalesce(co_listeners::VARCHAR, 'NULL') || ' < ' || $min_co_listeners
 FROM artist_pair_counts WHERE dump_seq = $dump_seq AND (co_listeners IS NULL OR co_listeners < $min_co_listeners)
 LIMIT $limit)
UNION ALL
(SELECT 'co_listeners_above_listeners', 'pair ' || p.artist_a || ', ' || p.artist_b || ': ' || p.co_listeners
        || ' co-listeners but ' || la.listeners || ' and ' || lb.listeners || ' listeners'
 FROM artist_pairs p
 JOIN artist_listeners la ON la.dump_id = p.dump_id AND la.artist_id = p.artist_a
 JOIN artist_listeners lb ON lb.dump_id = p.dump_id AND lb.artist_id = p.artist_b
 WHERE p.dump_id = $dump_id AND p.co_listeners > least(la.listeners, lb.listeners)
 LIMIT $limit)
UNION ALL
(SELECT 'ineligible_pairs', 'pair ' || p.artist_a || ', ' || p.artist_b
        || ': an artist with fewer than ' || $min_listeners || ' listeners'
 FROM artist_pairs p
 WHERE p.dump_id = $dump_id
   AND (p.artist_a NOT IN (SELECT artist_id FROM artist_listeners WHERE dump_id = $dump_id AND listeners >= $min_listeners)
        OR p.artist_b NOT IN (SELECT artist_id FROM artist_listeners WHERE dump_id = $dump_id AND listeners >= $min_listeners))
 LIMIT $limit)
UNION ALL
(SELECT 'unknown_artist_pairs', 'pair ' || p.artist_a || ', ' || p.artist_b || ': artist '
        || CASE WHEN p.artist_a IN (SELECT artist_id FROM artist) THEN p.artist_b ELSE p.artist_a END
        || ' is not in the artist table'
 FROM artist_pair_counts p
 WHERE p.dump_seq = $dump_seq
   AND (p.artist_a NOT IN (SELECT artist_id FROM artist) OR p.artist_b NOT IN (SELECT artist_id FROM artist))
   AND p.artist_a IN (SELECT artist_id FROM artist_listeners WHERE dump_id = $dump_id AND listeners >= $min_listeners)
   AND p.artist_b IN (SELECT artist_id FROM artist_listeners WHERE dump_id = $dump_id AND listeners >= $min_listeners)
 LIMIT $limit)
UNION ALL
(SELECT 'catalogue_unknown_artists', 'artist ' || artist_id || ' of the catalogue pairs is not in the artist table'
 FROM (SELECT artist_a AS artist_id FROM artist_pair_similarity WHERE dump_id = $dump_id
       UNION SELECT artist_b FROM artist_pair_similarity WHERE dump_id = $dump_id)
 WHERE artist_id NOT IN (SELECT artist_id FROM artist) LIMIT $limit)
UNION ALL
(SELECT 'listeners_out_of_range', 'artist ' || l.artist_id || ': ' || l.listeners || ' listeners of ' || b.users || ' users'
 FROM artist_listeners l JOIN similarity_build b USING (dump_id)
 WHERE l.dump_id = $dump_id AND (l.listeners < 1 OR l.listeners > b.users) LIMIT $limit)
UNION ALL
(SELECT 'build_record_mismatches', 'similarity_build says ' || b.pairs || ' pairs, seed scale ' || b.seed_raw_max
        || '; artist_pairs holds ' || (SELECT count(*) FROM artist_pair_counts WHERE dump_seq = $dump_seq) || ' pairs'
 FROM similarity_build b WHERE b.dump_id = $dump_id)
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
(SELECT 'catalogue_mismatches', 'pair ' || c.artist_a || ', ' || c.artist_b || ': catalogue says co-listeners '
        || c.co_listeners || ', jaccard ' || c.jaccard || '; the pairs say ' || p.co_listeners || ', jaccard '
        || sim_score('jaccard', p.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max)
 FROM artist_pair_similarity c
 JOIN artist_pairs p ON p.dump_id = c.dump_id AND p.artist_a = c.artist_a AND p.artist_b = c.artist_b
 JOIN similarity_build b ON b.dump_id = c.dump_id
 JOIN artist_listeners la ON la.dump_id = c.dump_id AND la.artist_id = c.artist_a
 JOIN artist_listeners lb ON lb.dump_id = c.dump_id AND lb.artist_id = c.artist_b
 WHERE c.dump_id = $dump_id
   AND NOT (c.co_listeners = p.co_listeners
            AND abs(c.jaccard - sim_score('jaccard', p.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max))
                <= $tolerance * greatest(1.0, abs(c.jaccard)))
 LIMIT $limit)
UNION ALL
(SELECT 'catalogue_missing_pairs', 'pair ' || c.artist_a || ', ' || c.artist_b || ' has ' || c.co_listeners
        || ' co-listeners in the catalogue but is not in artist_pairs'
 FROM artist_pair_similarity c
 ANTI JOIN artist_pairs p ON p.dump_id = c.dump_id AND p.artist_a = c.artist_a AND p.artist_b = c.artist_b
 WHERE c.dump_id = $dump_id AND c.co_listeners >= $min_co_listeners
 LIMIT $limit)
UNION ALL
(SELECT 'catalogue_artists', count(*) || ' artists in the catalogue pairs > catalogue_size ' || $catalogue_size
 FROM (SELECT artist_a FROM artist_pair_similarity WHERE dump_id = $dump_id
       UNION SELECT artist_b FROM artist_pair_similarity WHERE dump_id = $dump_id)
 HAVING count(*) > $catalogue_size);
