-- How many result rows run $run_id took over from identical audio already computed (plan.sql wrote them).
SELECT (SELECT count(*) FROM track_mel WHERE run_id = $run_id)
     + (SELECT count(*) FROM track_descriptors WHERE run_id = $run_id);
