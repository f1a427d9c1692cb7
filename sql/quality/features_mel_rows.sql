SELECT kind, params_hash, track_id, object_key, len(shape) AS ndim, list_min(shape) AS min_dim, dtype, min_db, max_db,
       bytes
FROM q_base;
