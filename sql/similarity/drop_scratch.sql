-- Drops the scratch tables of a similarity build.
DROP TABLE IF EXISTS sim_listeners;
DROP TABLE IF EXISTS sim_eligible;
DROP TABLE IF EXISTS sim_edges;
DROP TABLE IF EXISTS sim_catalogue;
DROP TABLE IF EXISTS sim_catalogue_edges;
DROP TABLE IF EXISTS sim_catalogue_counts;
