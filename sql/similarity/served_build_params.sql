-- The parameters dump $dump_id's similarity build was made with (min_listeners, min_co_listeners, and its catalogue:
-- catalogue_size records the artists it kept, at most the compared artists, `artists`): what `musim similar` names
-- when it suggests the same build with a larger k.
SELECT min_listeners, min_co_listeners, catalogue_size, artists FROM similarity_build WHERE dump_id = $dump_id;
