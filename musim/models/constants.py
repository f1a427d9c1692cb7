"""Constants of musim's models: input shape, ranking cut-offs, registry layout, statuses.

Importing this module (or :mod:`musim.models`) never imports TensorFlow.
"""

from __future__ import annotations

#: The siamese network's input: one 256-frame x 64-mel log-mel image per clip (``MelParams()``).
FRAMES = 256
N_MELS = 64
INPUT_SHAPE: tuple[int, int] = (FRAMES, N_MELS)

#: Log-mel values are dB relative to the clip's maximum, in [-TOP_DB, 0] (``MelParams.top_db``); the
#: encoder maps them to [0, 1] with ``x / TOP_DB + 1``.
TOP_DB = 80.0

#: Model families the registry knows (the harness in :mod:`musim.models.evaluate` is family-agnostic).
FAMILIES: tuple[str, ...] = ("siamese", "cnn_classifier", "autoencoder")
SIAMESE = "siamese"

#: Similarity metrics of ``artist_pair_similarity`` a model can be trained and evaluated on.
TARGET_METRICS: tuple[str, ...] = ("seed", "jaccard", "cosine", "lift", "pmi")
DEFAULT_TARGET = "seed"

#: The origin's cut-offs for ranking metrics.
RANK_CUTOFFS: tuple[int, ...] = (3, 5, 10, 25)

#: The metric that decides promotion (paired bootstrap of the difference against the champion).
PRIMARY_METRIC = "ndcg@10"

#: Registry statuses. A model is registered as a challenger; at most one champion per family.
CHAMPION, CHALLENGER, ARCHIVED = "champion", "challenger", "archived"
STATUSES: tuple[str, ...] = (CHAMPION, CHALLENGER, ARCHIVED)

#: Object-store layout: ``models/<family>/<version>/<file>``.
MODELS_PREFIX = "models"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
CARD_FILE = "card.md"
CURVES_FILE = "curves.png"

#: Names of the baselines evaluated next to every model (:mod:`musim.models.evaluate`).
BASELINES: tuple[str, ...] = ("random", "popularity", "pixel", "descriptors")
