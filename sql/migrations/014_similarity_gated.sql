-- Builds that must pass the similarity quality suite before they are published (built by the CLI with its gate,
-- or by the artist_similarity DAG, whose check_quality task follows): until a check of the dump is recorded after
-- the build, `musim publish` refuses it, so a build whose check was killed half-way is never served unchecked.
-- A build made for publishing without a check (`--skip-quality`, `--no-publish`) has no row here.
CREATE TABLE similarity_gated (
    dump_id  VARCHAR PRIMARY KEY,
    built_at TIMESTAMPTZ NOT NULL
);
