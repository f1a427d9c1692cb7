"""musim's models: the siamese network of the origin, its training sets, evaluation, registry and cards.

Modules (each a few hundred lines):

- :mod:`~musim.models.constants` — shapes, cut-offs, registry layout, statuses
- :mod:`~musim.models.data` — pair targets, artist split, clip pairs, sampling, ``tf.data`` pipeline
- :mod:`~musim.models.layers` — registered Keras layers (``LogMelScale``, ``L1Distance``)
- :mod:`~musim.models.siamese` — encoder, siamese model, save/load, embeddings, pair scores, scorer
- :mod:`~musim.models.train` — ``HyperParams`` and ``train(...)`` (GPU: mixed precision, MirroredStrategy)
- :mod:`~musim.models.evaluate` — family-agnostic ranking harness, baselines, bootstrap CIs
- :mod:`~musim.models.registry` — ``models/<family>/<version>/`` + warehouse rows, promotion
- :mod:`~musim.models.card` — markdown model card and training curves
- :mod:`~musim.models.pipeline` — train → evaluate → register → promote in one call
- :mod:`~musim.models.toy` — generated data with known structure (tests, benchmarks)
- :mod:`~musim.models.classifier`, :mod:`~musim.models.autoencoder`, :mod:`~musim.models.views` — the two
  other families' models and their views
- :mod:`~musim.models.families` — every family behind one protocol: inputs, train → evaluate → register,
  the train_embeddings DAG's steps, serving, ``compare`` (a package; see its docstring for the map)
- :mod:`~musim.models.serve` — neighbour tables and audio-only queries (``similar-audio``, ``embed``)

Importing ``musim.models`` never imports TensorFlow; the names below load their module on first use,
and only ``layers``, ``siamese``, ``train`` and ``pipeline`` import Keras. ``load_model`` registers
musim's layers, so a ``.keras`` file loads without the training code. The functions ``train`` and
``evaluate`` share their module's name: import them from ``musim.models.train`` / ``musim.models.evaluate``.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ArtistSplit": "data", "ClipTable": "data", "PairSampling": "data", "PairSet": "data", "PairTargets": "data",
    "TrainingSet": "data", "build_training_set": "data", "load_pair_targets": "data", "load_catalogue": "data",
    "make_dataset": "data", "split_artists": "data", "sample_artist_pairs": "data",
    "SiameseConfig": "siamese", "build_siamese": "siamese", "build_encoder": "siamese", "encoder_of": "siamese",
    "load_model": "siamese", "save_model": "siamese", "embed": "siamese", "siamese_scorer": "siamese",
    "HyperParams": "train", "TrainResult": "train", "fit": "train",
    "EvaluationReport": "evaluate", "baseline_scorers": "evaluate",
    "embedding_scorer": "evaluate", "paired_bootstrap": "evaluate",
    "register_model": "registry", "promote": "registry", "list_models": "registry", "get_model": "registry",
    "champion": "registry",
    "train_evaluate_register": "pipeline", "evaluate_siamese": "pipeline", "load_registered": "pipeline",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'musim.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"musim.models.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
