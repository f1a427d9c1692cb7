-- How many pairs the scratch table sim_pairs holds.
SELECT count(*) FROM sim_pairs;
