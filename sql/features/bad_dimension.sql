-- How many new values in the scratch table fs_new do not have the dimension $dim.
SELECT count(*) FROM fs_new WHERE len(vec) <> $dim;
