-- How many neighbour rows and catalogue pair rows a dump has.
SELECT (SELECT count(*) FROM artist_neighbors WHERE dump_id = $dump_id),
       (SELECT count(*) FROM artist_pair_similarity WHERE dump_id = $dump_id);
