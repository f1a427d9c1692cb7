-- Whether each similarity build may be served and trained on, in one place: a build whose latest quality check
-- (at or after the build) failed, or a gated build (similarity_gated) whose check never finished, may not.
-- `musim publish` refuses such a build (sql/serving/failed_quality.sql) and the models' default targets skip it
-- (sql/models/latest_dump.sql): models were trained, evaluated and promoted on a build that was never served.
CREATE OR REPLACE VIEW similarity_build_state AS
SELECT b.dump_id, b.built_at, q.run_id AS check_run_id, q.success AS check_passed, g.dump_id IS NOT NULL AS gated,
       coalesce(q.success, g.dump_id IS NULL) AS servable
FROM similarity_build b
LEFT JOIN similarity_gated g ON g.dump_id = b.dump_id AND g.built_at = b.built_at
LEFT JOIN (SELECT run_id, dump_id, success, created_at FROM quality_result WHERE dataset = 'similarity'
           QUALIFY row_number() OVER (PARTITION BY dump_id ORDER BY created_at DESC) = 1) q
       ON q.dump_id = b.dump_id AND q.created_at >= b.built_at;
