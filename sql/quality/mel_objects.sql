-- How many spectrogram arrays are recorded in track_mel.
SELECT count(*) FROM track_mel;
