-- The lineage of run $run_id: its preview set, tracks and dump, and how many items it planned.
SELECT preview_set, tracks, dump_id, items_planned FROM feature_build WHERE run_id = $run_id;
