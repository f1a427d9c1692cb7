-- How many spectrogram arrays are stored and how many previews were rejected.
SELECT (SELECT count(*) FROM track_mel), (SELECT count(*) FROM feature_reject);
