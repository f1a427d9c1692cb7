-- Serving tables of later stages (audio neighbours, models, quality results; migrations 004-008 create
-- them, maybe empty) into the attached new snapshot `snap`.
CREATE TABLE snap.track AS SELECT * FROM track;
CREATE TABLE snap.artist_neighbors_audio AS SELECT * FROM artist_neighbors_audio;
CREATE TABLE snap.track_neighbors AS SELECT * FROM track_neighbors;
CREATE TABLE snap.model_registry AS SELECT * FROM model_registry;
-- with docs_key, the object key of the run's Data Docs (what musim.quality.report.docs_key takes from docs_url, the
-- URL recorded at run time, which another MUSIM_HOME, a restore or a moved store leaves naming the old place)
CREATE TABLE snap.quality_result AS
SELECT *, nullif(regexp_extract(docs_url, '(^|/)(quality/docs/[^?#]+)', 2), '') AS docs_key FROM quality_result;
-- The online vectors (file names under online/<view>/, migration 021) that each model version's neighbours in this
-- snapshot were published with: the newest committed publication per version, as sql/models/committed_online.sql.
-- Where the online lookup must point while this snapshot is served, after a rollback or under its pin
-- (musim.models.serve.align_online_pointers).
CREATE TABLE snap.served_online AS
SELECT model_version, track_view, artist_view, track_online, artist_online
FROM audio_neighbors_build
WHERE track_online IS NOT NULL AND artist_online IS NOT NULL
  AND model_version IN (SELECT model_version FROM artist_neighbors_audio UNION SELECT model_version FROM track_neighbors)
QUALIFY row_number() OVER (PARTITION BY model_version ORDER BY artist_online DESC) = 1;
-- The serving manifest of each model version's neighbours in this snapshot (what `similar-audio` and `embed` read for
-- the version while it is served: musim.models.serve.read_manifest): the one their publication wrote before its commit,
-- named by the publication's created_at, which the rows carry. The key is the one sql/models/manifest_key.sql gives.
CREATE TABLE snap.served_manifest AS
SELECT model_version, family,
       'models/' || family || '/' || model_version || '/manifests/'
           || strftime(make_timestamp(epoch_us(max(created_at))), '%Y%m%dT%H%M%S%fZ') || '.json' AS manifest_key
FROM (SELECT family, model_version, created_at FROM artist_neighbors_audio
      UNION SELECT family, model_version, created_at FROM track_neighbors)
GROUP BY model_version, family;
