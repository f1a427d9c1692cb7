-- Sets whether DuckDB keeps the insertion order of rows ($keep: true for a scan in the table's own order).
SET preserve_insertion_order = $keep;
