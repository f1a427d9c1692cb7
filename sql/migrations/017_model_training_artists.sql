-- The artists each model version trained on (their tracks, labels or co-listening were used by training, validation
-- included): a champion re-scored on a challenger's test set is compared only on the artists it never trained on
-- (musim.models.registry.promote). A version registered before this migration has no rows (its training artists
-- are not known: only its own test artists are known to be unseen).
CREATE TABLE IF NOT EXISTS model_training_artist (
    version   VARCHAR NOT NULL,                       -- model_registry.version
    artist_id INTEGER NOT NULL,
    PRIMARY KEY (version, artist_id)
);
