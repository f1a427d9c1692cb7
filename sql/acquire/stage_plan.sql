-- Staging tables of a plan: the catalogue read from the snapshot, and the artists with work left.
CREATE OR REPLACE TEMP TABLE plan_catalogue (
    artist_id INTEGER, name VARCHAR, listeners BIGINT, dump_id VARCHAR, catalogue_rank INTEGER
);
CREATE OR REPLACE TEMP TABLE plan_todo (artist_id INTEGER, name VARCHAR);
