-- The rows of the dump of seq $dump_seq in the new snapshot's pair_lookup: rowids $first_row to
-- $first_row + $row_count - 1 (musim.serving, after appending them).
INSERT INTO snap.pair_lookup_dumps VALUES ($dump_seq, $first_row, $row_count);
