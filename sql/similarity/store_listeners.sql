-- Stores a dump's listener counts per artist from the scratch table sim_listeners.
INSERT INTO artist_listeners SELECT $dump_id, artist_id, listeners, plays FROM sim_listeners;
