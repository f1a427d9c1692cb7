-- Every dump with a similarity build, with its ingest seq.
SELECT b.dump_id, d.seq FROM similarity_build b JOIN lastfm_dump d USING (dump_id) ORDER BY d.seq;
