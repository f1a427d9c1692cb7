-- The scratch table {{lines}} that maps a staged table's rowids to line numbers: a row's line is rowid + shift of
-- the last entry at or below its rowid ($first: first rowids, $shift: their shifts).
CREATE OR REPLACE TABLE ingest_scratch.{{lines}} AS SELECT unnest($first) AS first_rowid, unnest($shift) AS shift;
