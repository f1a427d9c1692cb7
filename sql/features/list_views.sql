-- Registry rows of every feature view with their entity counts (tensors: tracks with an object): the entities with a
-- current value (a track whose latest row of the extractor is a rejection, newer than its values, has none).
SELECT v.name, v.version, v.entity, v.kind, v.storage, v.params_hash, v.model_version, v.description,
       v.created_at, v.materialised_at, v.lineage,
       CASE v.kind
         WHEN 'tensor' THEN (SELECT count(DISTINCT m.track_id) FROM track_mel m
                             WHERE m.params_hash = v.params_hash
                               AND m.kind = json_extract_string(v.source, '$.extractor')
                               AND NOT EXISTS (SELECT 1 FROM feature_reject r
                                               WHERE r.kind = m.kind AND r.params_hash = m.params_hash
                                                 AND r.track_id = m.track_id AND r.created_at > m.created_at))
         WHEN 'scalars' THEN (SELECT count(DISTINCT d.track_id) FROM track_descriptors d
                              WHERE d.params_hash = v.params_hash
                                AND NOT EXISTS (SELECT 1 FROM feature_reject r
                                                WHERE r.kind = 'descriptors' AND r.params_hash = d.params_hash
                                                  AND r.track_id = d.track_id AND r.created_at > d.created_at))
         ELSE (SELECT count(*) FROM (SELECT f.vec FROM feature_value f
                                     WHERE f.view_name = v.name AND f.view_version = v.version
                                     QUALIFY row_number() OVER (PARTITION BY f.entity_id ORDER BY f.created_at DESC) = 1)
               WHERE vec IS NOT NULL)  -- a NULL latest row ended the entity's value (migration 032)
       END AS entities
FROM feature_view v ORDER BY v.name, v.version;
