-- What each relation of a published snapshot is, readable from any DuckDB client (duckdb_tables(),
-- duckdb_views(), duckdb_columns(), DBeaver): run on the snapshot's own connection at the end of a publish
-- (musim.serving._finish_snapshot), after the views exist. The audio views are commented where they are created
-- (sql/serving/audio_*_view.sql). A dump's answers: join latest_dump (or name a dump_id), else every dump the
-- snapshot serves is mixed.

-- Tables copied from the warehouse.
COMMENT ON TABLE lastfm_dump IS 'The Last.FM dumps ingested: one row per dump (dump_id: sha256 of its content; seq: ingest order; line counts loaded and rejected).';
COMMENT ON TABLE similarity_build IS 'One co-listening similarity build per dump served: its thresholds (min_listeners, min_co_listeners), k (neighbours kept per artist), users U, seed_raw_max (the scale of the seed metric), when it was built and code_fingerprint (the sha256 of the code that built it; NULL before it was recorded).';
COMMENT ON TABLE artist IS 'Every artist of the warehouse: artist_id, display name (its most used spelling), name_norm (NFC, lower case, spaces collapsed), name_key (musim.names.name_key, how `musim similar` finds a name typed otherwise), mbid, is_placeholder ([unknown], Various Artists: never compared). Not a copy of the warehouse table: name_key joined in (from artist_name_key), artist_key and first_dump_id left out.';
COMMENT ON COLUMN artist.name_norm IS 'The name in NFC, lower case, whitespace collapsed: what an exact-name lookup compares.';
COMMENT ON COLUMN artist.name_key IS 'musim.names.name_key of the name: spacing, punctuation and Latin accents aside (OaktamSoljun finds Oaktam Soljun).';
COMMENT ON COLUMN artist.is_placeholder IS 'True for [unknown] and Various Artists: kept, never compared.';
COMMENT ON TABLE artist_listeners IS 'Per dump and artist: listeners (users with plays > 0) and plays. Only artists of a built dump.';
COMMENT ON TABLE artist_pair_similarity IS 'The catalogue: every pair with at least one co-listener among the build''s catalogue_size most listened artists, with its five metrics stored (seed, jaccard, cosine, lift, pmi; see artist_neighbors).';
COMMENT ON TABLE track IS 'The audio previews fetched: one row per track (artist_id, title, provider, object_key in the object store, duration, format).';
COMMENT ON TABLE artist_neighbors_audio IS 'The top audio neighbours of every artist with tracks, per published model version (family, model_version, rank, score, cold_start). Named view: similar_artists_audio.';
COMMENT ON COLUMN artist_neighbors_audio.score IS 'Higher = more similar; its meaning depends on the family: siamese: the model''s output for the pair, the mean over the two artists'' clip pairs, 0..1; every other family (cnn_classifier, autoencoder, contrastive, descriptors): cosine of the artists'' mean embeddings, -1..1. Compare scores within one model_version only.';
COMMENT ON COLUMN artist_neighbors_audio.cold_start IS 'True when the artist has no co-listened pair in the dump this snapshot serves by default (latest_dump): its place among the others comes from its audio alone. It may still have listeners.';
COMMENT ON TABLE track_neighbors IS 'The top audio neighbours of every track (tracks of its own artist excluded), per published model version. Named view: similar_tracks.';
COMMENT ON COLUMN track_neighbors.score IS 'Higher = more similar; its meaning depends on the family: siamese: the model''s output for the clip pair, 0..1; every other family: cosine of the tracks'' embeddings, -1..1. Compare scores within one model_version only.';
COMMENT ON TABLE model_registry IS 'Every trained model version (family, status: champion, challenger or archived; the published ones are the model_version values of similar_artists_audio), its parameters, evaluation metrics and object_prefix in the object store.';
COMMENT ON TABLE quality_result IS 'Every quality gate run (Great Expectations): dataset, dump, status, failed expectations, rows validated and where its Data Docs are (docs_key).';
COMMENT ON COLUMN quality_result.docs_url IS 'The URL of the run''s Data Docs when the run was made: another MUSIM_HOME, a restored backup or a moved object store leaves it naming the old place; docs_key does not.';
COMMENT ON COLUMN quality_result.docs_key IS 'The object key of the run''s Data Docs index page in the object store (quality/docs/<run_id>/index.html; NULL: none published): the store''s URL + / + docs_key, what `musim quality report` prints.';

-- Internal: how `musim similar` finds one artist's pairs fast; query artist_pairs or artist_pair_lookup instead.
COMMENT ON TABLE pair_lookup IS 'Internal (musim similar''s index): the co-listened pairs in both directions grouped by artist, one dump after the other, without the dump; query artist_pair_lookup or artist_pairs instead.';
COMMENT ON TABLE pair_lookup_dumps IS 'Internal (musim similar''s index): each dump''s rowid range (first_row, row_count) in pair_lookup, by dump_seq (lastfm_dump.seq).';
COMMENT ON TABLE served_online IS 'Internal (the online lookup after a rollback): per model version served, the online vector files (track_online, artist_online under online/<track_view or artist_view name>/) its neighbours were published with.';
COMMENT ON TABLE served_manifest IS 'Internal (what similar-audio and embed read for a model version while this snapshot is served): per model version served, the object key of the serving manifest (models/<family>/<version>/manifests/<created_at UTC>.json: input features, views, ANN index) of the publication whose neighbours it serves.';

-- Views.
COMMENT ON VIEW latest_dump IS 'The dump this snapshot serves by default: its latest built dump (one row, dump_id). JOIN latest_dump USING (dump_id) keeps a query to it.';
COMMENT ON COLUMN latest_dump.dump_id IS 'The latest built dump''s id (lastfm_dump.dump_id).';
COMMENT ON VIEW artist_pair_lookup IS 'The co-listened pairs of every dump served, in both directions (artist_id, neighbor_id, co_listeners: users who listened to both).';
COMMENT ON COLUMN artist_pair_lookup.dump_id IS 'The dump (lastfm_dump.dump_id).';
COMMENT ON COLUMN artist_pair_lookup.artist_id IS 'The artist.';
COMMENT ON COLUMN artist_pair_lookup.neighbor_id IS 'An artist sharing at least min_co_listeners listeners with it.';
COMMENT ON COLUMN artist_pair_lookup.co_listeners IS 'Users who listened to both.';
COMMENT ON VIEW artist_pairs IS 'The co-listened pairs of every dump served, each pair once (artist_a < artist_b), with co_listeners.';
COMMENT ON COLUMN artist_pairs.dump_id IS 'The dump (lastfm_dump.dump_id).';
COMMENT ON COLUMN artist_pairs.artist_a IS 'The pair''s lower artist_id.';
COMMENT ON COLUMN artist_pairs.artist_b IS 'The pair''s higher artist_id.';
COMMENT ON COLUMN artist_pairs.co_listeners IS 'Users who listened to both.';
COMMENT ON VIEW artist_neighbors IS 'Top-k co-listening neighbours per dump, metric and artist, scored at query time: filter on artist_id or artist_name, metric and dump_id (JOIN latest_dump USING (dump_id)): a bare LIMIT scores every pair of every dump first.';
COMMENT ON COLUMN artist_neighbors.dump_id IS 'The dump (lastfm_dump.dump_id).';
COMMENT ON COLUMN artist_neighbors.metric IS 'seed, jaccard, cosine, lift or pmi.';
COMMENT ON COLUMN artist_neighbors.artist_id IS 'The artist whose neighbours these are.';
COMMENT ON COLUMN artist_neighbors.rank IS '1 = most similar; ties broken by co_listeners, then the lower neighbor_id.';
COMMENT ON COLUMN artist_neighbors.neighbor_id IS 'The neighbour.';
COMMENT ON COLUMN artist_neighbors.score IS 'With co the co-listeners, la and lb the two artists'' listeners, U the dump''s users: seed = r / max(r), r = (co/la + co/lb)/2, 0..1; jaccard = co/(la+lb-co); cosine = co/sqrt(la*lb); lift = co*U/(la*lb); pmi = ln(lift).';
COMMENT ON COLUMN artist_neighbors.co_listeners IS 'Users who listened to both.';
COMMENT ON COLUMN artist_neighbors.neighbor_name IS 'The neighbour''s display name.';
COMMENT ON COLUMN artist_neighbors.neighbor_listeners IS 'The neighbour''s listeners in this dump.';
COMMENT ON COLUMN artist_neighbors.artist_name IS 'The artist''s display name (filter on it or on artist_id).';
COMMENT ON VIEW similar_artists IS 'artist_neighbors with names: filter on artist (or artist_id), metric and dump_id (JOIN latest_dump USING (dump_id)); a bare LIMIT scores every pair first.';
COMMENT ON COLUMN similar_artists.dump_id IS 'The dump (lastfm_dump.dump_id).';
COMMENT ON COLUMN similar_artists.metric IS 'seed, jaccard, cosine, lift or pmi (formulas: artist_neighbors.score).';
COMMENT ON COLUMN similar_artists.artist IS 'The artist''s display name.';
COMMENT ON COLUMN similar_artists.rank IS '1 = most similar.';
COMMENT ON COLUMN similar_artists.neighbor IS 'The neighbour''s display name.';
COMMENT ON COLUMN similar_artists.score IS 'The metric''s value for the pair (formulas: artist_neighbors.score).';
COMMENT ON COLUMN similar_artists.co_listeners IS 'Users who listened to both.';
COMMENT ON COLUMN similar_artists.artist_id IS 'The artist (artist.artist_id).';
COMMENT ON COLUMN similar_artists.neighbor_id IS 'The neighbour (artist.artist_id).';
