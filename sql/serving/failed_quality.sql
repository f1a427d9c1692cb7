-- A similarity build that must not be published: its latest quality check (at or after the build) failed, or it
-- is a gated build (similarity_gated) whose check never finished. (run_id or NULL, dump_id), or none.
SELECT q.run_id, q.dump_id FROM similarity_build b
JOIN quality_result q ON q.dataset = 'similarity' AND q.dump_id = b.dump_id AND q.created_at >= b.built_at
QUALIFY row_number() OVER (PARTITION BY b.dump_id ORDER BY q.created_at DESC) = 1
   AND NOT q.success
UNION ALL
SELECT NULL, b.dump_id FROM similarity_build b
JOIN similarity_gated g ON g.dump_id = b.dump_id AND g.built_at = b.built_at
WHERE NOT EXISTS (SELECT 1 FROM quality_result q
                  WHERE q.dataset = 'similarity' AND q.dump_id = b.dump_id AND q.created_at >= b.built_at)
LIMIT 1;
