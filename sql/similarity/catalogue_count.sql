-- How many catalogue pair rows dump $dump_id has.
SELECT count(*) FROM artist_pair_similarity WHERE dump_id = $dump_id;
