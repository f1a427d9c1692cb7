-- Record dump $dump_id as ingested, next in sequence.
INSERT INTO lastfm_dump (dump_id, seq, file_name, format, bytes, lines, loaded, rejected, plays_rows, users, artists,
                         profiles_file, profiles_sha256, profile_lines, profile_loaded, profile_rejected, started_at,
                         finished_at)
VALUES ($dump_id, (SELECT coalesce(max(seq), 0) + 1 FROM lastfm_dump), $file_name, $format, $bytes, $lines, $loaded,
        $rejected, $plays_rows, $users, $artists, $profiles_file, $profiles_sha256, $profile_lines, $profile_loaded,
        $profile_rejected, $started_at, $finished_at);
