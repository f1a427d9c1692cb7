"""The descriptor baseline as a servable :class:`Family`: no training, the handcrafted descriptors
z-scored with the training artists' statistics (a Keras ``Normalization`` layer, so it saves, loads and
serves like the other families)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.errors import ParameterError
from musim.models.families.base import DESCRIPTORS, Family, Trained, need

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.models.families.inputs import FamilyInputs


def train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    import keras

    d = need(inputs.descriptors, "descriptors")
    unknown = set(params) - {"seed"}
    if unknown:
        raise ParameterError(f"unknown descriptor parameters: {', '.join(sorted(unknown))}")
    rows = (np.flatnonzero(np.isin(inputs.track_artist, inputs.training_split().train)) if inputs.split is not None
            else np.arange(len(inputs)))  # no listening data: no split, every track
    ref = d[rows] if rows.size else d
    mean, var = ref.mean(axis=0), ref.var(axis=0)
    var = np.where(var > 0, var, 1.0)
    inp = keras.Input(shape=(d.shape[1],), name="descriptors")
    out = keras.layers.Normalization(mean=mean, variance=var, name="standardize")(inp)
    model = keras.Model(inp, out, name="descriptors")
    emb = np.asarray(model(d.astype(np.float32), training=False), dtype=np.float32)
    return Trained(model, {"seed": int(params.get("seed", 0)), "dims": int(d.shape[1])}, {}, {}, {},
                   "## Descriptor baseline\n\nNo training: the handcrafted descriptors (tempo, spectral shape, key, "
                   f"MFCC statistics) z-scored with the means and variances of {rows.size} tracks of the training "
                   "artists; artist similarity = cosine of the artists' mean vectors.\n", emb)


def embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray) -> np.ndarray:
    d = need(inputs.descriptors, "descriptors")[np.asarray(rows, dtype=np.int64)]
    return np.asarray(model(d.astype(np.float32), training=False), dtype=np.float32)


FAMILY = Family(DESCRIPTORS, "handcrafted descriptors, z-scored (the baseline as a servable family)",
                ("descriptors",), "descriptor_baseline", train, embed)
