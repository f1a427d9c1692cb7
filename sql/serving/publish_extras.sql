-- Serving tables of later stages (audio neighbours, models, quality results; migrations 004-008 create
-- them, maybe empty) into the attached new snapshot `snap`.
CREATE TABLE snap.track AS SELECT * FROM track;
CREATE TABLE snap.artist_neighbors_audio AS SELECT * FROM artist_neighbors_audio;
CREATE TABLE snap.track_neighbors AS SELECT * FROM track_neighbors;
CREATE TABLE snap.model_registry AS SELECT * FROM model_registry;
CREATE TABLE snap.quality_result AS SELECT * FROM quality_result;
