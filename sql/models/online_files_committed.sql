-- How many audio-neighbour publications name the online snapshot file $file_name (migration 021): 0 when the
-- publish that staged it never committed, so the file may go.
SELECT count(*) FROM audio_neighbors_build WHERE track_online = $file_name OR artist_online = $file_name;
