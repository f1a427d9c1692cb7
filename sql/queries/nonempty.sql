-- Whether the snapshot's table {{table}} (one of the fixed list the page reads) holds any row.
SELECT EXISTS (SELECT 1 FROM {{table}});
