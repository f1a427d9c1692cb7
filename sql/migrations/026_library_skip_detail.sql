-- A skip an earlier scan recorded is reported again by the next `musim library add` with " (recorded; --retry
-- examines it again)" after its detail. Before this migration that note was stored with the detail, so each rerun
-- added one more ("2.00 s < 5 s (recorded; ...) (recorded; ...)", up to the 1,000 characters kept). The note is the
-- summary's now, never stored; the details stored with it are cut back to what the file's examination said.
UPDATE library_skip
SET detail = left(detail, strpos(detail, ' (recorded; --retry') - 1)
WHERE strpos(detail, ' (recorded; --retry') > 0;
