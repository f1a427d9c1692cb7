-- A sandbox's own spill directory, set before it is locked down (DuckDB lets a locked-down connection read its
-- temp_directory: the shared one would show other processes' spilled rows). DuckDB makes it when it first spills
-- and removes it when the sandbox closes.
SET temp_directory = $temp_directory;
