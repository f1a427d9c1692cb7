-- Deletes the rows of dump $dump_id (seq $dump_seq) from the similarity tables (before they are written again).
DELETE FROM artist_listeners WHERE dump_id = $dump_id;
DELETE FROM artist_pair_counts WHERE dump_seq = $dump_seq;
DELETE FROM artist_pair_similarity WHERE dump_id = $dump_id;
DELETE FROM similarity_build WHERE dump_id = $dump_id;
DELETE FROM similarity_gated WHERE dump_id = $dump_id;
