"""Every family by name: :data:`FAMILIES`, :func:`get_family`, and what each one registers and serves
(its feature service, and the serving manifest that tells :mod:`musim.models.serve` how to featurise new
audio for it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from musim.errors import ParameterError
from musim.models.families import autoencoder, classifier, contrastive, descriptors, siamese
from musim.models.families.base import AUTOENCODER, CNN_CLASSIFIER, CONTRASTIVE, DESCRIPTORS, SIAMESE, Family

__all__ = ["FAMILIES", "feature_service", "get_family", "inputs_needed", "serving_manifest"]

FAMILIES: dict[str, Family] = {
    SIAMESE: siamese.FAMILY,
    CNN_CLASSIFIER: classifier.FAMILY,
    AUTOENCODER: autoencoder.FAMILY,
    CONTRASTIVE: contrastive.FAMILY,
    DESCRIPTORS: descriptors.FAMILY,
}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ParameterError(f"unknown family {name!r}; one of {', '.join(FAMILIES)}") from None


def inputs_needed(families: Iterable[str]) -> tuple[str, ...]:
    """The features a run of ``families`` loads: each family's own inputs, plus the log-mels and descriptors every
    run needs for its baselines (pixel, descriptors); sorted."""
    return tuple(sorted({"log_mel", "descriptors", *(n for f in families for n in get_family(f).inputs)}))


def feature_service(name: str) -> Any:
    """The feature service (:class:`musim.features.registry.FeatureService`) of a family's inputs."""
    from musim.features.definitions import descriptor_baseline, siamese_log_mel, track_log_mel, track_slices
    from musim.features.registry import FeatureService

    return {SIAMESE: siamese_log_mel, DESCRIPTORS: descriptor_baseline,
            CNN_CLASSIFIER: FeatureService("cnn_classifier_slices", (track_slices,),
                                           description="inputs of the CNN classifier family"),
            AUTOENCODER: FeatureService("autoencoder_log_mel", (track_log_mel,),
                                        description="inputs of the autoencoder family"),
            CONTRASTIVE: FeatureService("contrastive_log_mel", (track_log_mel,),
                                        description="inputs of the self-supervised contrastive family")}[name]


def serving_manifest(family: str) -> dict[str, Any]:
    """What the serving side needs to featurise new audio for ``family`` (``embedding.json``)."""
    from musim.features.definitions import track_descriptors, track_log_mel, track_slices

    view = {SIAMESE: track_log_mel, AUTOENCODER: track_log_mel, CONTRASTIVE: track_log_mel,
            CNN_CLASSIFIER: track_slices, DESCRIPTORS: track_descriptors}[family]
    doc: dict[str, Any] = {"input": {CNN_CLASSIFIER: "slices", DESCRIPTORS: "descriptors"}.get(family, "log_mel"),
                           "input_view": view.ref, "input_params": dict(view.params or {}),
                           "input_params_hash": view.params_hash,
                           "track_embedding": {CNN_CLASSIFIER: "mean over the track's slices"}.get(family, "one per track")}
    if doc["input"] == "log_mel":
        doc.update(mel_view=view.ref, mel_params=dict(view.params or {}), mel_params_hash=view.params_hash)
    return doc
