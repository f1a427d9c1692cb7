-- The analysis window the features of whole tracks were computed in: where `musim library add` and the local provider
-- cut each file longer than MUSIM_EXCERPT_S, as they record it against the source file (a library track's preview row
-- holds the window within its stored excerpt instead, offset 0). The longest such window, and where it sat in the
-- free room before it as a fraction (0 the start, 0.5 the middle, 1 the end; the median over those tracks). NULL when
-- no track was cut from a longer file (remote previews are whole; every file within the window): the caller falls
-- back to the 30-s middle.
WITH cut AS (
    SELECT duration_s AS whole_s, excerpt_offset_s AS offset_s, excerpt_duration_s AS window_s FROM library_track
    UNION ALL
    SELECT track_duration_s, excerpt_offset_s, excerpt_duration_s FROM preview
    WHERE provider = 'local' AND status = 'downloaded'
)
SELECT max(window_s), round(median(offset_s / (whole_s - window_s)), 2)
FROM cut
WHERE whole_s - window_s > 0.5;
