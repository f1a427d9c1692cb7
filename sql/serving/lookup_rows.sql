-- Rows in the new snapshot's pair_lookup so far, and one past its largest rowid (equal: rows appended in one
-- transaction take consecutive rowids from 0, which the dumps' row ranges rely on; musim.serving checks it).
SELECT count(*), coalesce(max(rowid) + 1, 0) FROM snap.pair_lookup;
