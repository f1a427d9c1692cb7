-- Records one similarity build (a row of similarity_build, in its column order).
INSERT INTO similarity_build VALUES ($dump_id, $min_listeners, $min_co_listeners, $k, $users, $artists, $pairs,
                                     $seed_raw_max, $catalogue, $built_at, $seconds);
