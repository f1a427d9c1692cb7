-- Records one similarity build (a row of similarity_build) with the fingerprint of the code that made it
-- ($code_fingerprint: musim.similarity.fingerprint, migration 024).
INSERT INTO similarity_build (dump_id, min_listeners, min_co_listeners, k, users, artists, pairs, seed_raw_max,
                              catalogue_size, built_at, seconds, code_fingerprint)
VALUES ($dump_id, $min_listeners, $min_co_listeners, $k, $users, $artists, $pairs, $seed_raw_max, $catalogue,
        $built_at, $seconds, $code_fingerprint);

-- A gated build (its quality check follows) is marked until a check is recorded (serving/failed_quality.sql).
DELETE FROM similarity_gated WHERE dump_id = $dump_id;
INSERT INTO similarity_gated SELECT $dump_id, $built_at WHERE $gated;
