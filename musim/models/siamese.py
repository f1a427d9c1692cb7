"""The siamese network of the origin (CS230), in Keras 3: encoder, model, embeddings, pair scores.

::

    log-mel (256, 64) ─► LogMelScale ─► [ZeroPadding1D ─► Conv1D ─► BatchNorm ─► MaxPool1D] x (n-1)
                        ─► ZeroPadding1D ─► Conv1D ─► BatchNorm ─► GlobalMaxPool over time ─► Dense  = encoding
    left ──encoder──┐
                    ├─ L1Distance |a - b| ─► Dense(1, sigmoid) = similarity in 0..1 (MSE against the target)
    right ─encoder──┘

Convolutions run along the time axis with the 64 mel bins as channels; the global max-pool over time
removes the dependence on *when* a pattern occurs. The encoder's weights are shared (one sub-model,
``model.get_layer("encoder")``), so it doubles as the embedding model.

Importing this module imports Keras (and TensorFlow): import it lazily. The architecture it builds,
:class:`SiameseConfig`, lives in the Keras-free :mod:`musim.models.hyperparams` (its defaults are the training job's).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from musim.errors import ParameterError
from musim.models import layers as musim_layers
from musim.models.data import ClipTable
from musim.models.hyperparams import SiameseConfig

__all__ = [
    "SiameseConfig",
    "build_encoder",
    "build_siamese",
    "embed",
    "encoder_of",
    "float32_copy",
    "load_model",
    "pair_scores",
    "save_model",
    "siamese_scorer",
]

ENCODER = "encoder"
HEAD = "similarity"


def build_encoder(config: SiameseConfig = SiameseConfig(), *, dtype_policy: str = "float32",
                  name: str = ENCODER) -> keras.Model:
    """The shared encoder: ``(batch, frames, n_mels)`` dB → ``(batch, dense_units)``."""
    reg = keras.regularizers.L2(config.l2) if config.l2 else None
    kw: dict[str, Any] = {"dtype": dtype_policy}
    inp = keras.Input(shape=config.input_shape, name="log_mel")
    h = musim_layers.LogMelScale(config.top_db, name="scale", **kw)(inp)
    length = config.input_shape[0]
    last = len(config.conv_filters) - 1
    for i, filters in enumerate(config.conv_filters):
        if config.padding:
            h = keras.layers.ZeroPadding1D(config.padding, name=f"pad{i}", **kw)(h)
            length += 2 * config.padding
        if length < config.kernel_size:
            raise ParameterError(f"block {i}: {length} frames left, fewer than the kernel ({config.kernel_size}); "
                                 "use fewer blocks, a smaller pool or kernel")
        h = keras.layers.Conv1D(filters, config.kernel_size, activation="relu", kernel_regularizer=reg,
                                name=f"conv{i}", **kw)(h)
        length = length - config.kernel_size + 1
        if config.batchnorm:
            h = keras.layers.BatchNormalization(name=f"bn{i}", **kw)(h)
        if i < last and config.pool_size > 1:
            if length < config.pool_size:
                raise ParameterError(f"block {i}: {length} frames left, fewer than the pool ({config.pool_size}); "
                                     "use fewer blocks or a smaller pool")
            h = keras.layers.MaxPooling1D(config.pool_size, name=f"pool{i}", **kw)(h)
            length //= config.pool_size
    h = keras.layers.GlobalMaxPooling1D(name="time_max", **kw)(h)
    if config.dropout:
        h = keras.layers.Dropout(config.dropout, name="dropout", **kw)(h)
    out = keras.layers.Dense(config.dense_units, activation=config.dense_activation, kernel_regularizer=reg,
                             name="encoding", **kw)(h)
    return keras.Model(inp, out, name=name)


def build_siamese(config: SiameseConfig = SiameseConfig(), *, dtype_policy: str = "float32") -> keras.Model:
    """The siamese model: inputs ``{"left", "right"}`` (dB log-mels), output ``(batch, 1)`` in 0..1.

    ``dtype_policy="mixed_float16"`` computes in float16 with float32 weights; the output unit stays
    float32 either way.
    """
    encoder = build_encoder(config, dtype_policy=dtype_policy)
    left = keras.Input(shape=config.input_shape, name="left")
    right = keras.Input(shape=config.input_shape, name="right")
    dist = musim_layers.L1Distance(name="l1", dtype=dtype_policy)([encoder(left), encoder(right)])
    out = keras.layers.Dense(1, activation="sigmoid", name=HEAD, dtype="float32")(dist)
    return keras.Model({"left": left, "right": right}, out, name="siamese")


def encoder_of(model: keras.Model) -> keras.Model:
    """The shared encoder sub-model of a siamese model (the embedding model)."""
    return model.get_layer(ENCODER)


def float32_copy(model: keras.Model, config: SiameseConfig) -> keras.Model:
    """The same network built in float32 with ``model``'s weights (a mixed-precision model's export)."""
    copy = build_siamese(config, dtype_policy="float32")
    copy.set_weights(model.get_weights())
    return copy


def save_model(model: keras.Model, path: str | os.PathLike[str]) -> None:
    """Save as a ``.keras`` file, atomically (temporary name in the same folder, then rename)."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ParameterError(f"model files end in .keras, got {path}")
    tmp = f"{path[:-6]}.{os.getpid()}.tmp.keras"
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_model(path: str | os.PathLike[str], *, compile: bool = False) -> keras.Model:
    """Load a ``.keras`` file of any musim family (musim's layers are registered by this module's import)."""
    return keras.saving.load_model(os.fspath(path), compile=compile)


# -- inference -------------------------------------------------------------------------------------------

def embed(encoder: keras.Model, x: np.ndarray, rows: Sequence[int] | np.ndarray | None = None, *,
          batch_size: int = 256) -> np.ndarray:
    """Encodings of ``x[rows]`` (all rows by default): ``(len(rows), dense_units)`` float32.

    Reads ``x`` (a memmap is fine) one batch at a time.
    """
    idx = np.arange(x.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    out = []
    for start in range(0, idx.size, batch_size):
        chunk = np.asarray(x[np.sort(idx[start:start + batch_size])], dtype=np.float32)
        order = np.argsort(np.argsort(idx[start:start + batch_size]))
        out.append(np.asarray(encoder(chunk, training=False), dtype=np.float32)[order])
    return np.concatenate(out) if out else np.zeros((0, encoder.output_shape[-1]), np.float32)


def _head_weights(model: keras.Model) -> tuple[np.ndarray, float]:
    w, b = model.get_layer(HEAD).get_weights()
    return np.asarray(w, dtype=np.float32)[:, 0], float(np.asarray(b).reshape(-1)[0])


def pair_scores(model: keras.Model, emb_a: np.ndarray, emb_b: np.ndarray, *, chunk: int = 256) -> np.ndarray:
    """Model outputs for every pair of encodings: ``(len(emb_a), len(emb_b))`` in 0..1.

    The head (``sigmoid(|a - b| . w + b)``) evaluated in numpy on precomputed encodings: each clip is
    encoded once, however many pairs it is in.
    """
    w, b = _head_weights(model)
    out = np.empty((emb_a.shape[0], emb_b.shape[0]), dtype=np.float32)
    for s in range(0, emb_a.shape[0], chunk):
        z = np.abs(emb_a[s:s + chunk, None, :] - emb_b[None, :, :]) @ w + b
        out[s:s + chunk] = 1.0 / (1.0 + np.exp(-z))
    return out


def siamese_scorer(model: keras.Model, x: np.ndarray, clips: ClipTable, *,
                   batch_size: int = 256) -> Callable[[np.ndarray], np.ndarray]:
    """A scorer for :func:`musim.models.evaluate.evaluate`: the mean model output over clip pairs.

    ``scorer(artist_ids)`` gives the ``(T, T)`` matrix whose ``[i, j]`` is the mean of the model's outputs
    for every clip of artist i with every clip of artist j (3 x 3 by default), as in the origin.
    """
    from musim.models.evaluate import artist_mean

    encoder = encoder_of(model)

    def scorer(artist_ids: np.ndarray) -> np.ndarray:
        rows, owner = clips.flat(artist_ids)
        e = embed(encoder, x, rows, batch_size=batch_size)
        return artist_mean(pair_scores(model, e, e), owner, len(artist_ids))

    return scorer
