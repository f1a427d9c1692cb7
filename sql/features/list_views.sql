-- Registry rows of every feature view with their entity counts (tensors: tracks with an object).
SELECT v.name, v.version, v.entity, v.kind, v.storage, v.params_hash, v.model_version, v.description,
       v.created_at, v.materialised_at, v.lineage,
       CASE v.kind
         WHEN 'tensor' THEN (SELECT count(DISTINCT m.track_id) FROM track_mel m
                             WHERE m.params_hash = v.params_hash
                               AND m.kind = json_extract_string(v.source, '$.extractor'))
         WHEN 'scalars' THEN (SELECT count(DISTINCT d.track_id) FROM track_descriptors d
                              WHERE d.params_hash = v.params_hash)
         ELSE (SELECT count(DISTINCT f.entity_id) FROM feature_value f
               WHERE f.view_name = v.name AND f.view_version = v.version)
       END AS entities
FROM feature_view v ORDER BY v.name, v.version;
