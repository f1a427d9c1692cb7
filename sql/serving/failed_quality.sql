-- A similarity build whose latest quality check (at or after the build) failed: (run_id, dump_id), or none.
SELECT q.run_id, q.dump_id FROM similarity_build b
JOIN quality_result q ON q.dataset = 'similarity' AND q.dump_id = b.dump_id AND q.created_at >= b.built_at
QUALIFY row_number() OVER (PARTITION BY b.dump_id ORDER BY q.created_at DESC) = 1
   AND NOT q.success;
