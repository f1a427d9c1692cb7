-- The scan's few line events (musim.ingest.plays_360k.register): lines rejected for their fields or plays
-- (their reason is given by sql/ingest/group_360k.sql), and the raw text of good lines whose plays are not
-- written as a plain integer (kept in case a later check rejects them).
CREATE OR REPLACE TEMP TABLE scan_events AS
SELECT unnest($event_row_id)::BIGINT AS row_id, unnest($event) AS event, unnest($event_raw) AS raw;

CREATE OR REPLACE TEMP TABLE scan_kept_raw AS
SELECT unnest($kept_row_id)::BIGINT AS row_id, unnest($kept_raw) AS raw;
