-- Tracks rejected per reason by the extractor $kind with parameters $params_hash.
SELECT reason, count(DISTINCT track_id)
FROM feature_reject
WHERE kind = $kind AND params_hash = $params_hash
GROUP BY reason
ORDER BY reason;
