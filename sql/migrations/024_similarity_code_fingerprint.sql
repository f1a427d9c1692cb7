-- Each similarity build records the version of the code that made it (musim.similarity.fingerprint: a sha256 of
-- the build path's Python, C and SQL sources), so that a rerun of the same dump and parameters is a no-op only
-- when the same code would make it (musim.similarity.build.existing_build); other code builds it again.
-- Builds recorded before this migration keep NULL: the code that made them is unknown, so the next build asked
-- of such a dump is made once (then it records its fingerprint). Nothing is rebuilt by this migration itself.
ALTER TABLE similarity_build ADD COLUMN code_fingerprint VARCHAR;
