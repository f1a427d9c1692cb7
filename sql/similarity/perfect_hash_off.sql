-- Back to DuckDB's default for grouping by ids (sql/similarity/perfect_hash.sql).
RESET perfect_ht_threshold;
