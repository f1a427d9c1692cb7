-- Group by dense integer ids (artists, users) in a perfect hash table, one slot per id between the column's
-- smallest and largest (DuckDB's statistics), where the range takes at most $bits bits: no hashing or probing.
-- DuckDB's default (12 bits, 4,096 ids) leaves the aggregates of sql/similarity/listeners.sql and users.sql
-- (~290K artists, 360K users at full scale) to a hash table: 0.95 -> 0.6 s and 0.25 -> 0.17 s of CPU there.
-- A wider range falls back to hashing as before. Reset by sql/similarity/perfect_hash_off.sql.
SET perfect_ht_threshold = $bits;
