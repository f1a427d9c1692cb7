-- Records the artists $artists that version $version trained on (once each).
INSERT OR IGNORE INTO model_training_artist SELECT $version, unnest($artists);
