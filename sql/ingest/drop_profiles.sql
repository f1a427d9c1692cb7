-- Withdraw dump $dump_id's profiles and their rejected lines (inside the transaction that loads its new profiles
-- file: `musim ingest lastfm PLAYS --profiles PROFILES --replace-profiles`).
DELETE FROM lastfm_profile WHERE dump_id = $dump_id;
DELETE FROM ingest_rejects WHERE dump_id = $dump_id AND file_kind = 'profiles';
