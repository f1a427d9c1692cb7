-- The online snapshot files of each audio-neighbour publication (musim.models.serve.publish_neighbors). A publish
-- wrote its embeddings' online vectors and moved the online store's pointers (`latest` included) before its
-- neighbour rows, the real commit point: killed or failed in between, a lookup of the embedding view without a
-- version returned the new version while the snapshot served the old neighbours. The vectors are now staged under
-- names of their own, named here in the same transaction as the rows, and the pointers move after it commits; a
-- publish killed after the commit but before the pointers moved is mended from these names by the next publish.
-- NULL: published without online vectors, or before this migration.
ALTER TABLE audio_neighbors_build ADD COLUMN track_online VARCHAR;   -- file name under online/<track view name>/
ALTER TABLE audio_neighbors_build ADD COLUMN artist_online VARCHAR;  -- file name under online/<artist view name>/
