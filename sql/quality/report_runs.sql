-- Quality run ids, latest first, optionally of runs whose id or dump id starts with $run_id / $dump_id and that
-- checked $dataset (a null argument matches every run).
SELECT run_id FROM quality_result
WHERE ($run_id IS NULL OR starts_with(run_id, $run_id))
  AND ($dataset IS NULL OR dataset = $dataset)
  AND ($dump_id IS NULL OR starts_with(dump_id, $dump_id))
GROUP BY run_id ORDER BY max(created_at) DESC, run_id DESC;
