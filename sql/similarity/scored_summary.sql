-- How many scored pairs the scratch table sim_scored holds, and their largest raw seed score.
SELECT count(*), max(seed_raw) FROM sim_scored;
