-- The registry's champion version(s), one per family, most recently promoted first.
SELECT version FROM model_registry WHERE status = 'champion' ORDER BY status_at DESC;
