-- The next sequence number of a family's versions (1 for its first).
SELECT coalesce(max(seq), 0) + 1 FROM model_registry WHERE family = $family;
