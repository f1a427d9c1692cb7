-- The scratch table {{lines}} that maps a staged table's rowids to line numbers: a row's line is rowid + shift of
-- the last entry at or below its rowid (staged_line_map: registered by musim.ingest.staging, first rowids and their
-- shifts).
CREATE OR REPLACE TABLE ingest_scratch.{{lines}} AS SELECT first_rowid, shift FROM staged_line_map;
