-- The serving manifest's object key that a snapshot records for model version $model_version (its served_manifest
-- table, written by sql/serving/publish_extras.sql): none when the snapshot does not serve the version.
SELECT manifest_key FROM served_manifest WHERE model_version = $model_version;
