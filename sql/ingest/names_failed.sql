-- Whether a spelling of a staged 1K file fails its check (sql/ingest/group_staged.sql's stage_spelling_ref): the
-- staging left its check for control characters to this one (sql/ingest/scratch.sql, spelling_reason_1k_line).
SELECT EXISTS (SELECT 1 FROM stage_spelling_ref WHERE reason IS NOT NULL);
