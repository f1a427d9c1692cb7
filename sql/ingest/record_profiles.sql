-- Record the profiles file loaded later for dump $dump_id (ingested before without one).
UPDATE lastfm_dump
SET profiles_file = $profiles_file, profiles_sha256 = $profiles_sha256, profile_lines = $profile_lines,
    profile_loaded = $profile_loaded, profile_rejected = $profile_rejected
WHERE dump_id = $dump_id;
