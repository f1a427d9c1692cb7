-- Whether the snapshot's table `table` (a quoted identifier from the fixed list of tables the page reads)
-- holds any row.
SELECT EXISTS (SELECT 1 FROM {{table}});
