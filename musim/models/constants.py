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

SIAMESE = "siamese"
#: Every model family, in the order tables list them (:mod:`musim.models.families` implements each).
FAMILY_NAMES: tuple[str, ...] = ("siamese", "cnn_classifier", "autoencoder", "contrastive", "descriptors")

#: The common artist split every family trains and is evaluated on (:func:`musim.models.data.split_artists`
#: over the artists with audio features and co-listening targets): shares and seed.
SPLIT_DEFAULTS: dict[str, float | int] = {"validation_share": 0.15, "test_share": 0.15, "seed": 0}
#: The fewest artists with features and targets a run trains on, and the fewest test artists it is ranked on
#: (nDCG@3, the smallest cut-off, needs 3 + 2 ranked artists: a query and two candidates beyond the cut-off).
MIN_USABLE_ARTISTS = 6
MIN_TEST_ARTISTS = 5

#: The evidence a promotion needs (``MUSIM_PROMOTION_MIN_TEST_ARTISTS`` / ``MUSIM_PROMOTION_MIN_QUERIES``): the
#: decision is a percentile bootstrap of a mean over query artists, whose 95% interval is too narrow (it
#: undercovers) below about ten values, and nDCG@3 over five ranked artists leaves too few orderings to tell a
#: model from a baseline (with 27 artists and the old fixed 15% share, 5 test artists gave 3 queries, every
#: model became champion and the pixel baseline scored ndcg@3 1.000). Ten of each is the least that decides.
PROMOTION_MIN_TEST_ARTISTS = 10
PROMOTION_MIN_QUERIES = 10

#: Similarity metrics of ``artist_pair_similarity`` a model can be trained and evaluated on.
TARGET_METRICS: tuple[str, ...] = ("seed", "jaccard", "cosine", "lift", "pmi")
DEFAULT_TARGET = "seed"

#: The origin's cut-offs for ranking metrics.
RANK_CUTOFFS: tuple[int, ...] = (3, 5, 10, 25)

#: The metric that decides promotion (paired bootstrap of the difference against the champion).
PRIMARY_METRIC = "ndcg@10"


def ranking_metrics(cutoffs: tuple[int, ...] = RANK_CUTOFFS) -> tuple[str, ...]:
    """The metrics of an evaluation against co-listening, in report order."""
    return tuple(f"{name}@{n}" for name in ("precision", "seqmatch", "ndcg") for n in cutoffs) + ("map", "spearman")


#: The metrics of an evaluation by artist identity, for a catalogue without listening data (``auto``: the first).
IDENTITY_METRICS: tuple[str, ...] = ("auc", "ap", "p1")
#: What a run can be promoted on: ``auto`` (nDCG at the largest cut-off the test artists allow; AUC by artist
#: identity without listening data) or one metric of either evaluation.
PRIMARY_METRIC_CHOICES: tuple[str, ...] = ("auto", *ranking_metrics(), *IDENTITY_METRICS)

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
