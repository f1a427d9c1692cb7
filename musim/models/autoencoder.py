"""The autoencoder family (origin 004): a convolutional autoencoder on log-mel spectrograms, trained on all
tracks together, whose flattened encoder output is the embedding.

::

    log-mel (256 x 64, dB) ─► LogMelScale (0..1) ─► [Conv2D ─► MaxPool2D] x n ─► Flatten = "code"   (encoder)
    code ─► Reshape ─► [Conv2D ─► UpSampling2D] x n ─► Conv2D(1, sigmoid) ─► (256 x 64) in 0..1      (decoder)

The origin's lesson: one autoencoder per song gives embeddings that live in different spaces; one model
for all tracks gives comparable ones. Loss: binary cross-entropy (the origin) or MSE between the output
and the normalised input ``x / top_db + 1``; early stopping on the validation loss (a seeded share of the
tracks), and optionally the origin's "stop once the validation loss is below a threshold".

Training sees the audio of every track, the test artists' included (``train_on="all"``, the origin's
setting): it never sees co-listening, the target of the ranking evaluation, so nothing about the target
leaks. ``train_on="train_artists"`` excludes the validation and test artists' tracks instead.

The parameters and the architecture, :class:`AutoencoderParams` and :class:`AutoencoderConfig`, live in the
Keras-free :mod:`musim.models.hyperparams` (the parameters' network defaults are the architecture's). Importing
this module imports Keras (and TensorFlow): import it lazily.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from musim.errors import ParameterError
from musim.models import layers as musim_layers
from musim.models.constants import TOP_DB
from musim.models.epochs import EpochBar
from musim.models.hyperparams import AutoencoderConfig, AutoencoderParams

__all__ = [
    "AutoencoderConfig",
    "AutoencoderParams",
    "AutoencoderResult",
    "build_autoencoder",
    "decoder_of",
    "encode",
    "encoder_of",
    "reconstruct",
    "train_autoencoder",
]

log = logging.getLogger(__name__)

ENCODER = "encoder"
DECODER = "decoder"


def build_autoencoder(config: AutoencoderConfig = AutoencoderConfig(), *,
                      dtype_policy: str = "float32") -> keras.Model:
    """The autoencoder: ``(batch, frames, n_mels)`` dB → ``(batch, frames, n_mels)`` in 0..1; sub-models
    ``"encoder"`` (→ flattened code) and ``"decoder"``."""
    kw: dict[str, Any] = {"dtype": dtype_policy}
    frames, mels = config.input_shape
    inp = keras.Input(shape=config.input_shape, name="log_mel")
    h = musim_layers.LogMelScale(config.top_db, name="scale", **kw)(inp)
    h = keras.layers.Reshape((frames, mels, 1), name="channel", **kw)(h)
    for i, f in enumerate(config.conv_filters):
        h = keras.layers.Conv2D(f, config.kernel_size, padding="same", activation="relu", name=f"enc_conv{i}", **kw)(h)
        h = keras.layers.MaxPooling2D(config.pool_size, padding="same", name=f"enc_pool{i}", **kw)(h)
    code = keras.layers.Flatten(name="code", **kw)(h)
    encoder = keras.Model(inp, code, name=ENCODER)

    cin = keras.Input(shape=(config.code_size,), name="code")
    h = keras.layers.Reshape(config.code_shape, name="unflatten", **kw)(cin)
    for i, f in enumerate(reversed(config.conv_filters)):
        h = keras.layers.Conv2D(f, config.kernel_size, padding="same", activation="relu", name=f"dec_conv{i}", **kw)(h)
        h = keras.layers.UpSampling2D(config.pool_size, name=f"dec_up{i}", **kw)(h)
    h = keras.layers.Conv2D(1, config.kernel_size, padding="same", activation="sigmoid", name="dec_out",
                            dtype="float32")(h)
    out = keras.layers.Reshape((frames, mels), name="spectrogram", dtype="float32")(h)
    decoder = keras.Model(cin, out, name=DECODER)

    x = keras.Input(shape=config.input_shape, name="log_mel")
    return keras.Model(x, decoder(encoder(x)), name="autoencoder")


def encoder_of(model: keras.Model) -> keras.Model:
    return model.get_layer(ENCODER)


def decoder_of(model: keras.Model) -> keras.Model:
    return model.get_layer(DECODER)


def encode(model: keras.Model, x: np.ndarray, rows: Sequence[int] | np.ndarray | None = None, *,
           batch_size: int = 128) -> np.ndarray:
    """Embeddings (flattened codes) of ``x[rows]``: ``(n, code_size)`` float32."""
    from musim.models.siamese import embed

    return embed(encoder_of(model), x, rows, batch_size=batch_size)


def reconstruct(model: keras.Model, x: np.ndarray, *, top_db: float = TOP_DB, batch_size: int = 128) -> np.ndarray:
    """Reconstructions of ``x`` ``(n, frames, n_mels)`` back in dB (``(y - 1) * top_db``)."""
    out = []
    for s in range(0, x.shape[0], batch_size):
        y = np.asarray(model(np.asarray(x[s:s + batch_size], dtype=np.float32), training=False), dtype=np.float32)
        out.append((y - 1.0) * top_db)
    return np.concatenate(out) if out else np.zeros((0, *x.shape[1:]), np.float32)


# -- training --------------------------------------------------------------------------------------------

@dataclass
class AutoencoderResult:
    model: keras.Model
    history: dict[str, list[float]]
    params: AutoencoderParams
    train_rows: np.ndarray
    validation_rows: np.ndarray
    seconds: float
    epochs_run: int
    device: dict[str, Any] = field(default_factory=dict)
    reconstruction: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        best = min(self.history.get("val_loss") or self.history.get("loss") or [math.nan])
        return {"seconds": round(self.seconds, 2), "epochs_run": self.epochs_run, "device": self.device,
                "best_loss": best, "final": {k: v[-1] for k, v in self.history.items() if v},
                "params": int(self.model.count_params()),
                "code_size": int(encoder_of(self.model).output_shape[-1]),
                "inputs": {"train_tracks": int(self.train_rows.size), "validation_tracks": int(self.validation_rows.size),
                           "train_on": self.params.train_on},
                "examples_per_second": (round(self.train_rows.size * self.epochs_run / self.seconds, 1)
                                        if self.seconds else None),
                "reconstruction": self.reconstruction}


class _StopBelow(keras.callbacks.Callback):
    """Stop once ``val_loss`` is below a threshold (the origin's custom callback)."""

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        if logs and logs.get("val_loss", math.inf) < self.threshold:
            self.model.stop_training = True


def _validation_rows(n: int, share: float, seed: int) -> np.ndarray:
    k = int(round(share * n)) if n >= 4 else 0
    return np.sort(np.random.default_rng([seed, 0xAE]).choice(n, size=k, replace=False)) if k else np.zeros(0, np.int64)


def _dataset(x: np.ndarray, rows: np.ndarray, *, batch_size: int, shuffle: bool, seed: int, top_db: float):
    import tensorflow as tf

    table = tf.constant(np.asarray(x[np.sort(rows)]))
    ds = tf.data.Dataset.from_tensor_slices(np.arange(rows.size, dtype=np.int32))
    if shuffle and rows.size:
        ds = ds.shuffle(rows.size, seed=seed, reshuffle_each_iteration=True)

    def pair(i):
        v = tf.cast(tf.gather(table, i), tf.float32)
        return v, tf.clip_by_value(v / top_db + 1.0, 0.0, 1.0)

    return ds.batch(batch_size).map(pair, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def train_autoencoder(x: np.ndarray, params: AutoencoderParams = AutoencoderParams(), *,
                      rows: Sequence[int] | np.ndarray | None = None, verbose: int = 0,
                      callbacks: Sequence[Any] = ()) -> AutoencoderResult:
    """Train one autoencoder on the spectrograms ``x[rows]`` (all rows by default) of every track together.

    Parameters
    ----------
    x : np.ndarray [shape=(N, frames, n_mels)]
        Log-mels in dB (float16 from the feature store's cache is fine).
    rows : the tracks to learn from (the family passes all tracks, or the training artists' with
        ``train_on="train_artists"``); a seeded ``validation_share`` of them is held out for early stopping.
    """
    from musim.models.train import runtime

    if x.ndim != 3:
        raise ParameterError(f"x must be (N, frames, n_mels), got {x.shape}")
    use = np.arange(x.shape[0]) if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
    if use.size < 2:
        raise ParameterError(f"need at least 2 spectrograms to train on, got {use.size}")
    vpos = _validation_rows(use.size, params.validation_share, params.seed)
    val_rows, train_rows = use[vpos], np.delete(use, vpos)
    keras.utils.set_random_seed(params.seed)
    strategy, mixed, device = runtime(params)
    config = params.config(tuple(int(s) for s in x.shape[1:]))
    train_ds = _dataset(x, train_rows, batch_size=params.batch_size, shuffle=True, seed=params.seed,
                        top_db=config.top_db)
    val_ds = (_dataset(x, val_rows, batch_size=max(params.batch_size, 64), shuffle=False, seed=params.seed,
                       top_db=config.top_db) if val_rows.size else None)
    loss: Any = keras.losses.BinaryCrossentropy() if params.loss == "bce" else keras.losses.MeanSquaredError()
    with strategy.scope():
        model = build_autoencoder(config, dtype_policy="mixed_float16" if mixed else "float32")
        opt: Any = keras.optimizers.Adam(learning_rate=params.learning_rate)
        if mixed:
            opt = keras.optimizers.LossScaleOptimizer(opt)
        model.compile(optimizer=opt, loss=loss, metrics=["mae"])
    cbs: list[Any] = list(callbacks)
    if val_ds is not None and params.early_stopping_patience is not None:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=params.early_stopping_patience,
                                                 restore_best_weights=True))
    if val_ds is not None and params.stop_below is not None:
        cbs.append(_StopBelow(params.stop_below))
    if params.lr_decay:
        lr0, decay = params.learning_rate, params.learning_rate / params.epochs
        cbs.append(keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr0 / (1.0 + decay * epoch)))
    started = time.perf_counter()
    cbs.append(EpochBar(params.epochs, "autoencoder", verbose))
    hist = model.fit(train_ds, validation_data=val_ds, epochs=params.epochs, callbacks=cbs, verbose=0,
                     shuffle=False)  # tf.data shuffles
    seconds = time.perf_counter() - started
    if mixed:
        copy = build_autoencoder(config, dtype_policy="float32")
        copy.set_weights(model.get_weights())
        model = copy
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items() if k != "learning_rate"}
    check = val_rows if val_rows.size else train_rows[: min(train_rows.size, 64)]
    rec = reconstruct(model, np.asarray(x[np.sort(check)], dtype=np.float32), top_db=config.top_db)
    err = np.abs(rec - np.clip(np.asarray(x[np.sort(check)], dtype=np.float32), -config.top_db, 0))
    recon = {"mae_db": float(err.mean()), "tracks": int(check.size),
             "on": "validation" if val_rows.size else "training"}
    log.info("autoencoder: %s epochs in %.1f s, reconstruction MAE %.2f dB", len(history.get("loss", [])), seconds,
             recon["mae_db"])
    return AutoencoderResult(model, history, params, train_rows, val_rows, seconds, len(history.get("loss", [])),
                             device, recon)
