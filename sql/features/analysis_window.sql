-- The analysis window the features of whole tracks were computed in: where the library (and the local provider) cut
-- each file longer than MUSIM_EXCERPT_S, as the tracks record it. The longest such window, and where it sat in the
-- free room before it as a fraction (0 the start, 0.5 the middle, 1 the end; the median over those tracks). NULL
-- when no stored track was cut from a longer file (previews, or every file within the window): the caller falls back
-- to the 30-s middle. Remote previews are whole (their provider's track length says nothing of a cut).
SELECT max(excerpt_duration_s),
       round(median(excerpt_offset_s / (track_duration_s - excerpt_duration_s)), 2)
FROM preview
WHERE status = 'downloaded' AND provider IN ('library', 'local')
  AND track_duration_s - excerpt_duration_s > 0.5;
