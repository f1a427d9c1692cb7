-- Whether dump $dump_id was judged by the lastfm_ingest DAG's quality gate (its lastfm_plays suite ran on it, passed
-- or failed): a dump ingested again that was never judged (ingested by hand, or a run cut off between its ingest and
-- its gate) is judged and announced then.
SELECT EXISTS (SELECT 1 FROM quality_result WHERE dump_id = $dump_id AND dataset = 'lastfm_plays');
