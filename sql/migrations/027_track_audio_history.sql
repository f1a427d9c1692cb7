-- The audio a track had before it changed (a `musim library add` that reads again an excerpt an older reader cut):
-- its sha256, and when the track stopped using it. The feature rows of that audio stay (a feature
-- service pinned before the change was trained on them: its point-in-time training set must come back unchanged);
-- the new audio's rows are added as newer values. The features suite compares each spectrogram or descriptor row
-- with the track's audio at the row's time: the current one, or one recorded here that the track used until after
-- the row was made.
CREATE TABLE IF NOT EXISTS track_audio_history (
    track_id    VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (track_id, sha256)
);
