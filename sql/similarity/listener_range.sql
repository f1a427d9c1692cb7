-- How many artists of the dump have listeners, and the most listeners any has (the scratch table sim_listeners).
SELECT count(*), coalesce(max(listeners), 0) FROM sim_listeners;
