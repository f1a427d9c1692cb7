-- Deletes a dump's rows from the similarity tables (before they are written again).
DELETE FROM artist_listeners WHERE dump_id = $dump_id;
DELETE FROM artist_pairs WHERE dump_id = $dump_id;
DELETE FROM artist_pair_similarity WHERE dump_id = $dump_id;
DELETE FROM similarity_build WHERE dump_id = $dump_id;
