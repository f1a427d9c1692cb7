-- The scan's line events (musim.ingest.plays_360k.register, as Arrow tables over its buffers): lines rejected for their fields or plays
-- (their reason is given by sql/ingest/group_360k.sql), and the raw text of good lines whose plays are not
-- written as a plain integer (kept in case a later check rejects them).
CREATE OR REPLACE TEMP TABLE scan_events AS
SELECT row_id, list_extract($events::VARCHAR[], label + 1) AS event, raw::VARCHAR AS raw FROM scan_event_lines;

CREATE OR REPLACE TEMP TABLE scan_kept_raw AS
SELECT row_id, raw::VARCHAR AS raw FROM scan_kept_lines;
