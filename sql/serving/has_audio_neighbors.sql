-- Whether the new snapshot `snap` holds audio neighbour rows with a cold_start flag to set (no rows before a model
-- is published; a table of another shape, as readers of musim.queries accept, has no flag).
SELECT EXISTS (FROM snap.artist_neighbors_audio)
   AND EXISTS (SELECT 1 FROM duckdb_columns()
               WHERE database_name = 'snap' AND table_name = 'artist_neighbors_audio' AND column_name = 'cold_start');
