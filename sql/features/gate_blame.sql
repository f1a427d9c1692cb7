-- Who wrote what failed the features gate of build $run_id, checked by quality run $quality_run_id: whether the
-- build wrote any row (computed, reused or rejected), and the builds named by the failing rows' examples (the
-- features suite names each failing descriptor row's build: "(audio <audio_id>, build <run_id>)"), other than it.
SELECT coalesce((SELECT computed + reused + rejected FROM feature_build WHERE run_id = $run_id), 0) AS wrote,
       coalesce((SELECT list(DISTINCT b ORDER BY b) FILTER (WHERE b <> $run_id)
                 FROM (SELECT unnest(regexp_extract_all(failures::VARCHAR, ', build ([^)"\\]+)\)', 1)) AS b
                       FROM quality_result WHERE run_id = $quality_run_id AND dataset = 'features')),
                []::VARCHAR[]) AS writers;
