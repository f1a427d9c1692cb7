-- Sets a connection's memory limit, threads, spill directory, insertion order and progress bar.
SET memory_limit = $memory_limit;
SET threads = $threads;
SET temp_directory = $temp_directory;
SET preserve_insertion_order = false;
SET enable_progress_bar = false;
