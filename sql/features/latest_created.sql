-- When the newest value of the scratch table fs_latest was created, or null.
SELECT max(created_at) FROM fs_latest;
