"""The built-in dataset suites; importing this package registers them (see :mod:`musim.quality.registry`).

================  =======  ==================================================================================
dataset           scope    tables
================  =======  ==================================================================================
lastfm_plays      dump     lastfm_dump, lastfm_plays, lastfm_user, artist, ingest_rejects
lastfm_profiles   dump     lastfm_dump, lastfm_profile, lastfm_user, ingest_rejects (skipped without profiles)
artists           global   artist, artist_name_variant
similarity        dump     similarity_build, artist_pair_counts, artist_pair_similarity, artist_listeners
previews          global   preview, track, artist                               (migration 004)
features          global   track_mel, track_descriptors, feature_params, feature_reject, track (migration 005), track_audio_history (027)
training_sets     global   feature_service (+ views), track: frames of musim.features.get_training_frame
training_split    global   on demand: a model run's artist split and pair targets (payload), else the split
                           the nightly siamese job would use now
================  =======  ==================================================================================

Training sets have no table of their own (point-in-time joins computed on demand): their part has its own
``frames`` function calling the feature store, as described in :mod:`musim.quality.registry`.
"""

from musim.quality.suites import lastfm, similarity, audio, features, training, training_split  # noqa: F401,I001  (report order)
