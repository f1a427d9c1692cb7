"""The feature views and services of musim, declared in one place (Feast's ``feature_repo``).

Changing what a view computes (its parameters, schema or source) means a new ``version``: the registry
refuses a changed definition under an existing ``(name, version)``, and object keys and rows carry the
parameter hash, so old and new values live side by side.

Embedding views are declared by the model code with :func:`musim.features.registry.embedding_view`
(entity, dimension, model version) and registered when the model is trained, e.g.::

    view = embedding_view("track_siamese_embedding", 1, entity=TRACK, dim=128, model_version="siamese-3",
                          description="siamese tower output of the log-mel")
    with warehouse.writer() as con:
        register_view(con, view)
        write_vectors(con, view, track_ids, vectors)
        register_service(con, FeatureService("siamese-3", (track_log_mel,), model_version="siamese-3",
                                             as_of=training_as_of))
"""

from __future__ import annotations

from musim.audio import MelParams, SliceParams
from musim.features.params import DescriptorParams, Extractor
from musim.features.registry import FeatureService, FeatureView, derived_view, extraction_view

__all__ = [
    "SERVICES",
    "VIEWS",
    "artist_descriptors_mean",
    "descriptor_baseline",
    "siamese_log_mel",
    "track_descriptors",
    "track_log_mel",
    "track_slices",
]

track_log_mel = extraction_view(
    "track_log_mel", 1, extractor=Extractor("log_mel", MelParams()),
    description="256 x 64 log-mel image of the 30-second preview (22050 Hz, hop 2584), float16 dB; "
                "input of the siamese network and the autoencoder")

track_slices = extraction_view(
    "track_slices", 1, extractor=Extractor("slices", SliceParams()),
    description="5.12-second 256 x 256 log-mel slices of the preview (hop 441), float16 dB; "
                "input of the genre classifier")

#: Version 2 adds spectral contrast (7 bands, mean + std) and the timbre model (mean + log-covariance of 20 MFCCs,
#: :mod:`musim.audio.timbre`): 42 -> 286 columns. Version 3 replaces the contrast's mean + std by the contrast model
#: (band means + log-covariance of the contrast frames with their deltas): 286 -> 384 columns. Version 4 adds the
#: musicnn block (the 200-unit penultimate layer of musicnn's pretrained MSD tagger, :mod:`musim.audio.musicnn`):
#: 384 -> 584 columns.
track_descriptors = extraction_view(
    "track_descriptors", 4, extractor=Extractor("descriptors", DescriptorParams()),
    description="handcrafted descriptors (tempo, spectral shape, key, MFCC statistics, the spectral-contrast and "
                "MFCC Gaussian timbre models as mean + log-covariance, musicnn's pretrained embedding) of the preview")

artist_descriptors_mean = derived_view(
    "artist_descriptors_mean", 4, input_view=track_descriptors,
    description="element-wise mean of the descriptors of the artist's tracks (raw units)")

#: Every view, in the order `musim features list` shows them.
VIEWS: tuple[FeatureView, ...] = (track_log_mel, track_slices, track_descriptors, artist_descriptors_mean)

descriptor_baseline = FeatureService(
    "descriptor_baseline", (track_descriptors, artist_descriptors_mean),
    description="the handcrafted-descriptor baseline (cosine similarity of artist means)")

siamese_log_mel = FeatureService(
    "siamese_log_mel", (track_log_mel,),
    description="inputs of the siamese network; trained model versions register their own service")

SERVICES: tuple[FeatureService, ...] = (descriptor_baseline, siamese_log_mel)
