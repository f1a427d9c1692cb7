"""The descriptor family as a servable :class:`Family`: no training, the handcrafted descriptors z-scored with
the training artists' statistics (a Keras ``Normalization`` layer), then each block of columns weighted (a
``Rescaling`` layer), so it saves, loads and serves like the other families.

The blocks (:data:`BLOCKS`): ``rhythm_tonal`` (tempo, beats, spectral shape, onsets, key: every column that is
in no other block), ``mfcc`` (mean and standard deviation of 13 MFCCs), ``contrast`` (the Gaussian contrast model of
:func:`musim.audio.timbre.contrast_vector`: 7 band means + log-covariance of the contrast frames with their deltas)
``timbre`` (the Gaussian timbre model of :mod:`musim.audio.timbre`) and ``musicnn`` (the pretrained embedding of
:mod:`musim.audio.musicnn`). A block of ``d`` columns with weight ``w`` is scaled by ``w / sqrt(d)``, so its share of
a track vector's squared norm is about ``w**2`` whatever its size (the timbre block has 230 columns, musicnn 200,
contrast 112, rhythm and key 16). :data:`DEFAULT_WEIGHTS` were chosen on development composers
(``benchmarks/real_music/timbre_dev.py`` for the handcrafted blocks, ``benchmarks/real_music/pretrained_dev.py``
for the musicnn block on the development corpus), never on the tracks the benchmark reports."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.errors import ParameterError
from musim.models.evaluate import column_stats
from musim.models.families.base import DESCRIPTORS, Family, Trained, need, trained_artists
from musim.params import Seed, params_record

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.models.families.inputs import FamilyInputs


#: The blocks of the descriptor vector, by name prefix (``rhythm_tonal``: every other column).
BLOCKS: tuple[str, ...] = ("rhythm_tonal", "mfcc", "contrast", "timbre", "musicnn")
#: Block weights chosen on the development composers of the real-music corpus (see the module docstring).
#: (development composers: composer AUC within a package 0.780 with these, the best of a 0/.25/.5/.75/1 grid over
#: the four blocks; 0.771 the contrast model alone, 0.692 the timbre model alone, 0.713 the previous weights over
#: the previous contrast block (mean + std); rhythm/tonal and the MFCC statistics added nothing beside the two
#: Gaussian models.) The musicnn block at weight 1 beside them: chosen on the development corpus (15 packages,
#: 151 queries) among musicnn's MSD and MagnaTagATune models, four layers each, alone and beside these blocks;
#: 0.748 against 0.673 without it, and +0.059 [+0.014, +0.112] (CI over (package, composer) clusters) when each
#: package is scored with the choice made on the other fourteen.
DEFAULT_WEIGHTS: dict[str, float] = {"rhythm_tonal": 0.0, "mfcc": 0.0, "contrast": 1.0, "timbre": 0.75, "musicnn": 1.0}


def block_of(name: str) -> str:
    """The block a descriptor column belongs to."""
    for block in ("mfcc", "contrast", "timbre", "musicnn"):
        if name.startswith(block + "_"):
            return block
    return "rhythm_tonal"


def block_scales(names: tuple[str, ...] | list[str], weights: Mapping[str, float]) -> np.ndarray:
    """Per column ``w / sqrt(d)`` of its block (``d`` its columns, ``w`` its weight)."""
    if not isinstance(weights, Mapping):
        raise ParameterError(f"descriptor weights must be an object of block: weight (blocks {', '.join(BLOCKS)}), "
                             f"got {weights!r}")
    unknown = set(weights) - set(BLOCKS)
    bad = {k: v for k, v in weights.items()
           if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0)}
    if unknown or bad:
        raise ParameterError(f"descriptor weights: blocks are {', '.join(BLOCKS)} with weights >= 0, got {dict(weights)}")
    w = {**DEFAULT_WEIGHTS, **weights}
    if not any(w.values()):  # every vector would be zeros: every cosine 0, neighbours in arbitrary order
        raise ParameterError(f"descriptor weights: every block's weight is 0 ({dict(weights)} beside the defaults "
                             f"{DEFAULT_WEIGHTS}): give at least one block a weight above 0")
    blocks = [block_of(n) for n in names]
    sizes = {b: blocks.count(b) for b in set(blocks)}
    return np.array([w[b] / np.sqrt(sizes[b]) for b in blocks], dtype=np.float32)


@params_record("descriptor parameter")
class DescriptorFamilyParams:
    """``weights``: block -> weight (the others keep :data:`DEFAULT_WEIGHTS`); ``seed``: recorded only."""

    seed: Seed = 0
    weights: Any = None

    def __post_init__(self) -> None:
        block_scales((), self.weights or {})


def parse_params(params: Mapping[str, Any]) -> DescriptorFamilyParams:
    return DescriptorFamilyParams.from_json(params)


def train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    import keras

    from musim.audio import DESCRIPTOR_NAMES

    d = need(inputs.descriptors, "descriptors", inputs.descriptors_gap)
    p = parse_params(params)
    if d.shape[1] != len(DESCRIPTOR_NAMES):
        raise ParameterError(f"descriptors have {d.shape[1]} columns, this version computes {len(DESCRIPTOR_NAMES)}: "
                             "rebuild the features (musim features build)")
    asked = p.weights or {}
    scales = block_scales(DESCRIPTOR_NAMES, asked)
    weights = {**DEFAULT_WEIGHTS, **asked}
    artists = trained_artists(inputs, validation=False)  # no listening data: no split, every track
    rows = np.flatnonzero(np.isin(inputs.track_artist, artists))
    mean, sd, constant = column_stats(d[rows] if rows.size else d)  # float64, constant up to rounding
    scales = np.where(constant, 0.0, scales).astype(np.float32)  # a column constant over the training tracks says nothing
    inp = keras.Input(shape=(d.shape[1],), name="descriptors")
    z = keras.layers.Normalization(mean=mean, variance=sd**2, name="standardize")(inp)
    out = keras.layers.Rescaling(scale=scales, name="block_weights")(z)
    model = keras.Model(inp, out, name="descriptors")
    emb = np.asarray(model(d.astype(np.float32), training=False), dtype=np.float32)
    sizes = {b: sum(block_of(n) == b for n in DESCRIPTOR_NAMES) for b in BLOCKS}
    table = ", ".join(f"{b} ({sizes[b]} columns) {weights[b]:g}" for b in BLOCKS)
    return Trained(model, {"seed": p.seed, "dims": int(d.shape[1]), "weights": weights}, {}, {},
                   {}, "## Descriptor family\n\nNo training: the handcrafted descriptors (tempo, spectral shape, key, "
                   "MFCC statistics, two Gaussian models kept as mean + log-covariance: of the spectral-contrast "
                   "frames with their deltas, and of the MFCC frames; and musicnn's pretrained embedding) "
                   f"z-scored with the means and variances of {rows.size} tracks of the training artists ("
                   f"{int(constant.sum())} columns constant over them, up to rounding, left out), each block "
                   f"scaled by weight / sqrt(columns): {table}. The default weights were chosen on development "
                   "composers (benchmarks/real_music/timbre_dev.py, pretrained_dev.py), never on the benchmark. Artist "
                   "similarity = cosine of the artists' mean vectors.\n", emb, artists)


def embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray,
          params: DescriptorFamilyParams | None = None) -> np.ndarray:
    """The model's weighted z-scores of each track in ``rows`` (the weights are in the model: ``params`` is unused)."""
    d = need(inputs.descriptors, "descriptors", inputs.descriptors_gap)[np.asarray(rows, dtype=np.int64)]
    return np.asarray(model(d.astype(np.float32), training=False), dtype=np.float32)


FAMILY = Family(DESCRIPTORS, "handcrafted descriptors, z-scored (the baseline as a servable family)",
                ("descriptors",), "descriptor_baseline", train, embed, parse_params, recorded=("dims",))
