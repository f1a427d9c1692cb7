-- The payloads of the scratch table fs_pit in the order of the requested rows.
SELECT payload FROM fs_pit ORDER BY row_id;
