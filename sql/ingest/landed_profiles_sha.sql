-- The sha256 of the profiles file loaded into the dump the landed file $location ($size bytes, modified at $mtime)
-- was ingested as (NULL: none, or the file is not remembered).
SELECT d.profiles_sha256 FROM landing_file l JOIN lastfm_dump d USING (dump_id)
WHERE l.location = $location AND l.size = $size AND l.mtime = $mtime;
