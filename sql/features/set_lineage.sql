-- Record the lineage (JSON) of the extraction run that materialised feature view $name version $version.
UPDATE feature_view SET lineage = $lineage, materialised_at = $now WHERE name = $name AND version = $version;
