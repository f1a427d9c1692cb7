-- Creates (empty) the scratch table sim_pairs that sql/similarity/pairs.sql fills slice by slice.
CREATE OR REPLACE TEMP TABLE sim_pairs (idx_a INTEGER, idx_b INTEGER, co INTEGER);
