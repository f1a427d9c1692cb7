-- Every object key a warehouse row refers to: what `musim store gc` (musim/storage_gc.py) must never delete.
-- One row per reference: ref_key is an object key (is_prefix false) or a key prefix every key under which is
-- referenced (is_prefix true: a registered model version's folder, a quality run's Data Docs site); source names
-- the column, for the report. A NEW TABLE OR COLUMN THAT HOLDS AN OBJECT KEY IS ADDED HERE, as one more branch.
--
-- History is referenced: feature_superseded keeps the tensor values a recompute replaced, valid until superseded_at,
-- and point-in-time reads (`as_of`: a training set pinned before the recompute, sql/features/source_tensor.sql) read
-- their objects; they stay as long as their rows do. Every model version in model_registry (archived ones too:
-- `musim models compare` and the cards read them) holds its folder. What no row holds any more goes: the audio a
-- track used before a re-read (track_audio_history keeps its sha256 only, which the features suite compares; no
-- reader opens that audio), a removed library track's excerpt, a deleted model version's folder, a recompute's
-- bytes that a newer row no longer names.
SELECT object_key AS ref_key, false AS is_prefix, 'preview.object_key' AS source
FROM preview WHERE object_key IS NOT NULL
UNION ALL
SELECT object_key, false, 'preview_source.object_key' FROM preview_source WHERE object_key IS NOT NULL
UNION ALL
SELECT object_key, false, 'track.object_key' FROM track WHERE object_key IS NOT NULL
UNION ALL
SELECT object_key, false, 'library_track.object_key' FROM library_track WHERE object_key IS NOT NULL
UNION ALL
SELECT object_key, false, 'track_mel.object_key' FROM track_mel WHERE object_key IS NOT NULL
UNION ALL
-- superseded values, kept for point-in-time (as_of) reads: referenced (see above)
SELECT object_key, false, 'feature_superseded.object_key' FROM feature_superseded WHERE object_key IS NOT NULL
UNION ALL
-- a feature build's heartbeat (kept in its run's staging folder, features/runs/<run>/) and the acquisition's
-- journals (outside the collected prefixes): listed so that every key column is here
SELECT heartbeat_key, false, 'feature_build.heartbeat_key' FROM feature_build WHERE heartbeat_key IS NOT NULL
UNION ALL
SELECT journal_key, false, 'acquire_journal.journal_key' FROM acquire_journal
UNION ALL
-- models/<family>/<version>/: the model, its card, metrics, embeddings, ANN indexes and serving manifests
SELECT CASE WHEN object_prefix LIKE '%/' THEN object_prefix ELSE object_prefix || '/' END, true,
       'model_registry.object_prefix'
FROM model_registry WHERE object_prefix IS NOT NULL AND object_prefix <> ''
UNION ALL
-- docs_url is the site's index URL (file:///.../quality/docs/<run>/index.html, s3://bucket/prefix/quality/docs/...):
-- the site's folder, every page and image of it, is referenced (musim.quality.report.docs_key reads the same key)
SELECT DISTINCT regexp_replace(regexp_extract(docs_url, '(^|/)(quality/docs/[^?#]+)', 2), '[^/]*$', ''), true,
       'quality_result.docs_url'
FROM quality_result
WHERE regexp_matches(docs_url, '(^|/)quality/docs/[^?#]*/[^/?#]+');
