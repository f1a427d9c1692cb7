"""musim's models: the model families (the origin's siamese network and the others), their training sets,
evaluation, registry, cards and serving — one model path for every family (:mod:`~musim.models.families`).

Modules (each a few hundred lines):

- :mod:`~musim.models.constants` — shapes, cut-offs, registry layout, statuses
- :mod:`~musim.models.data` — pair targets, the artist split, each artist's clips (every family)
- :mod:`~musim.models.pairs` — the siamese family's pair sampling, clip pairs, ``tf.data`` pipeline
- :mod:`~musim.models.layers` — registered Keras layers (``LogMelScale``, ``L1Distance``)
- :mod:`~musim.models.siamese` — encoder, siamese model, save/load, embeddings, pair scores, scorer
- :mod:`~musim.models.hyperparams` — ``HyperParams`` and the network's ``SiameseConfig`` (no Keras: the DAG's
  defaults) and ``job_params`` (the command line's options and a DAG's params -> a run's family parameters and
  artist split)
- :mod:`~musim.models.train` — ``train(...)`` (GPU: mixed precision, MirroredStrategy)
- :mod:`~musim.models.evaluate` — family-agnostic ranking harness, baselines, bootstrap CIs
- :mod:`~musim.models.registry` — ``models/<family>/<version>/`` + warehouse rows; :mod:`~musim.models.promotion` —
  champion/challenger decisions
- :mod:`~musim.models.card` — markdown model card and training curves
- :mod:`~musim.models.toy` — generated data with known structure (tests, benchmarks)
- :mod:`~musim.models.classifier`, :mod:`~musim.models.autoencoder`, :mod:`~musim.models.views` — the two
  other families' models and their views
- :mod:`~musim.models.families` — every family behind one protocol and one path: inputs (the feature store's
  point-in-time frames), the training_split gate, train → evaluate → register → promote → publish in one
  process or as the training DAGs' five phases, serving, ``compare`` (a package; see its docstring)
- :mod:`~musim.models.serve` — neighbour tables and audio-only queries (``similar-audio``, ``embed``)
- :mod:`~musim.models.routing` — where the training DAGs train: the GPU queue while a Celery worker consumes it,
  else the CPU queue (the DAGs' shared ``route`` → train → evaluate wiring)

Importing ``musim.models`` never imports TensorFlow; the names below load their module on first use,
and only ``layers``, ``siamese`` and ``train`` import Keras. ``load_model`` registers
musim's layers, so a ``.keras`` file loads without the training code. The functions ``train`` and
``evaluate`` share their module's name: import them from ``musim.models.train`` / ``musim.models.evaluate``.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ArtistSplit": "data", "ClipTable": "data", "PairTargets": "data", "load_pair_targets": "data",
    "load_catalogue": "data", "split_artists": "data",
    "PairSampling": "pairs", "PairSet": "pairs", "TrainingSet": "pairs", "build_training_set": "pairs",
    "make_dataset": "pairs", "sample_artist_pairs": "pairs",
    "SiameseConfig": "hyperparams", "build_siamese": "siamese", "build_encoder": "siamese", "encoder_of": "siamese",
    "load_model": "siamese", "save_model": "siamese", "embed": "siamese", "siamese_scorer": "siamese",
    "HyperParams": "hyperparams", "job_params": "hyperparams", "TrainResult": "train", "fit": "train",
    "EvaluationReport": "evaluate", "choose_primary_metric": "evaluate",
    "embedding_scorer": "evaluate", "paired_bootstrap": "evaluate",
    "register_model": "registry", "promote": "promotion", "list_models": "registry", "get_model": "registry",
    "champion": "registry",
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
