-- Every promotion decision (all columns), newest first, optionally of one family.
SELECT * FROM model_promotion WHERE ($family IS NULL OR family = $family) ORDER BY decided_at DESC;
