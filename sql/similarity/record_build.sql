-- Records one similarity build (a row of similarity_build, in its column order).
INSERT INTO similarity_build VALUES ($dump_id, $min_listeners, $min_co_listeners, $k, $users, $artists, $pairs,
                                     $seed_raw_max, $catalogue, $built_at, $seconds);

-- A gated build (its quality check follows) is marked until a check is recorded (serving/failed_quality.sql).
DELETE FROM similarity_gated WHERE dump_id = $dump_id;
INSERT INTO similarity_gated SELECT $dump_id, $built_at WHERE $gated;
