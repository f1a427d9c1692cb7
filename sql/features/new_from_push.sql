-- Fills the scratch table fs_new from the registered arrow table fs_push (pushed vectors).
CREATE OR REPLACE TEMP TABLE fs_new AS SELECT entity_key, vec FROM fs_push;
