-- The entities of the derived view $view_name:$view_version whose latest value is a vector but that the materialisation
-- being written (fs_new, artist_mean.sql) no longer has (none of the artist's tracks has a current value): added to
-- fs_new with a NULL vec, which write_values.sql records as the end of their value (migration 032).
INSERT INTO fs_new (entity_key, vec, n_tracks)
SELECT cur.entity_id, NULL, 0
FROM (SELECT entity_id, vec FROM feature_value
      WHERE view_name = $view_name AND view_version = $view_version
      QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY created_at DESC) = 1) cur
WHERE cur.vec IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM fs_new n WHERE n.entity_key = cur.entity_id);
