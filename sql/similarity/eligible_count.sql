-- How many artists are eligible (the scratch table sim_eligible).
SELECT count(*) FROM sim_eligible;
