-- Attach the new snapshot being written (a partial file) as `snap`.
ATTACH $path AS snap;
