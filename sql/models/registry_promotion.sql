-- Records one promotion decision (a row of model_promotion, in its column order).
INSERT INTO model_promotion VALUES ($decided_at, $family, $version, $against, $metric, $diff, $lo, $hi, $n,
                                    $confidence, $promoted, $forced, $reason);
