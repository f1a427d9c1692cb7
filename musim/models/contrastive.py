"""The self-supervised family: an encoder learnt from unlabelled audio alone by contrasting crops.

Two random crops of the same track's log-mel are a positive pair; the crops of the other tracks in the batch
are its negatives (COLA, Saeed et al. 2021; SimCLR's NT-Xent loss, Chen et al. 2020). Each crop is augmented
so that what the encoder keeps is what survives them:

- **time shift**: the crop's position in the excerpt (``crop_frames`` of its frames, ~11 s by default);
- **gain**: a random level change (``gain_db``), re-clipped to the dB range;
- **frequency masking**: up to ``freq_mask`` consecutive mel bands set to the floor (SpecAugment);
- **pitch**: a shift of up to ``pitch_bins`` mel bands (a mild transposition);
- **tempo**: the crop read at a rate of 1 ± ``tempo`` (frames resampled).

::

    crop (crop_frames x n_mels, dB) ─► encoder (the siamese family's Conv1D encoder) ─► embedding (dense_units)
        ─► projection head (Dense ─► Dense) ─► L2-normalised ─► InfoNCE over the batch (temperature)

The embedding (before the projection head, as in SimCLR) of a track is the mean of the encoder's outputs over
``embed_crops`` evenly spaced crops of its excerpt, L2-normalised. The encoder has the siamese encoder's
architecture, so the siamese family can start from it (``init_encoder``).

The parameters, :class:`ContrastiveParams`, live in the Keras-free :mod:`musim.models.hyperparams` (with their
defaults, the encoder's being the siamese network's). Importing this module imports Keras (and TensorFlow):
import it lazily.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from musim.errors import ParameterError
from musim.models.constants import TOP_DB
from musim.models.epochs import epoch_bar, show_losses
from musim.models.hyperparams import ContrastiveParams
from musim.models.siamese import build_encoder

__all__ = ["ContrastiveParams", "ContrastiveResult", "augment", "crops_of", "embed", "info_nce", "train_contrastive"]

log = logging.getLogger(__name__)


def _resample_frames(x: np.ndarray, rate: float, n: int) -> np.ndarray:
    """``n`` frames of ``x`` read at ``rate`` (linear interpolation along time)."""
    pos = np.arange(n) * rate
    lo = np.clip(np.floor(pos).astype(int), 0, x.shape[0] - 1)
    hi = np.clip(lo + 1, 0, x.shape[0] - 1)
    w = (pos - np.floor(pos))[:, None]
    return (1 - w) * x[lo] + w * x[hi]


def augment(mel: np.ndarray, p: ContrastiveParams, rng: np.random.Generator) -> np.ndarray:
    """One augmented crop ``(crop_frames, n_mels)`` float32 dB of a track's log-mel ``(frames, n_mels)``."""
    x = np.asarray(mel, dtype=np.float32)
    rate = 1.0 + rng.uniform(-p.tempo, p.tempo) if p.tempo else 1.0
    span = min(x.shape[0], int(np.ceil(p.crop_frames * rate)) + 1)
    start = int(rng.integers(0, x.shape[0] - span + 1))
    crop = _resample_frames(x[start:start + span], rate, p.crop_frames) if span > 1 else np.repeat(x[:1], p.crop_frames, 0)
    if p.pitch_bins:
        shift = int(rng.integers(-p.pitch_bins, p.pitch_bins + 1))
        if shift:
            crop = np.roll(crop, shift, axis=1)
            if shift > 0:
                crop[:, :shift] = -TOP_DB
            else:
                crop[:, shift:] = -TOP_DB
    if p.gain_db:
        crop = crop + rng.uniform(-p.gain_db, p.gain_db)
    if p.freq_mask:
        width = int(rng.integers(0, p.freq_mask + 1))
        if width:
            f0 = int(rng.integers(0, crop.shape[1] - width + 1))
            crop[:, f0:f0 + width] = -TOP_DB
    return np.clip(crop, -TOP_DB, 0.0).astype(np.float32)


def crops_of(mel: np.ndarray, crop_frames: int, n: int) -> np.ndarray:
    """``n`` evenly spaced crops ``(n, crop_frames, n_mels)`` of one log-mel (padded at the floor if short)."""
    x = np.asarray(mel, dtype=np.float32)
    if x.shape[0] < crop_frames:
        x = np.concatenate([x, np.full((crop_frames - x.shape[0], x.shape[1]), -TOP_DB, np.float32)])
    starts = np.linspace(0, x.shape[0] - crop_frames, n).round().astype(int)
    return np.stack([x[s:s + crop_frames] for s in starts])


def info_nce(za: Any, zb: Any, temperature: float) -> Any:
    """Symmetric InfoNCE (NT-Xent across the two views) of L2-normalised projections ``(B, d)``: crop i of view a
    should pick crop i of view b among the batch, and the other way round."""
    import tensorflow as tf

    logits = tf.matmul(za, zb, transpose_b=True) / temperature
    labels = tf.range(tf.shape(za)[0])
    ce = keras.losses.sparse_categorical_crossentropy
    return 0.5 * (tf.reduce_mean(ce(labels, logits, from_logits=True))
                  + tf.reduce_mean(ce(labels, tf.transpose(logits), from_logits=True)))


@dataclass
class ContrastiveResult:
    model: keras.Model          # the encoder: (crop_frames, n_mels) dB -> (dense_units,)
    params: ContrastiveParams
    history: dict[str, list[float]]
    seconds: float
    epochs_run: int
    examples: int = 0           # augmented pairs trained on over all epochs
    device: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready, with the keys every family's training summary has (the model card's Training section):
        ``params`` is the encoder's weight count (the hyperparameters are the version's parameters)."""
        loss = self.history.get("loss") or [math.nan]
        return {"seconds": round(self.seconds, 2), "epochs_run": self.epochs_run, "device": self.device,
                "best_loss": min(loss), "final": {k: v[-1] for k, v in self.history.items() if v},
                "params": int(self.model.count_params()),
                "examples_per_second": round(self.examples / self.seconds, 1) if self.seconds else None,
                "first_loss": loss[0], "last_loss": loss[-1]}


def train_contrastive(mel: np.ndarray, rows: np.ndarray | None = None, params: ContrastiveParams | None = None, *,
                      verbose: int = 0) -> ContrastiveResult:
    """Train an encoder on the log-mels ``mel[rows]`` ``(N, frames, n_mels)`` (default every row) by contrasting
    augmented crops (see the module docstring). Needs at least two tracks."""
    import tensorflow as tf

    p = params or ContrastiveParams()
    idx = np.arange(mel.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    if idx.size < 2:
        raise ParameterError(f"contrastive training needs at least 2 tracks, got {idx.size}")
    if p.crop_frames > mel.shape[1]:  # a crop is part of the excerpt; longer, every crop would be padding
        raise ParameterError(f"crop_frames {p.crop_frames} is longer than the log-mel excerpts ({mel.shape[1]} "
                             f"frames): use at most {mel.shape[1]}")
    bands = int(mel.shape[2])  # a mask wider than the bands failed once trained (ValueError: high <= 0), a shift
    # of every band blanked the crop
    for name, value, most in (("freq_mask", p.freq_mask, bands), ("pitch_bins", p.pitch_bins, bands - 1)):
        if value > most:
            raise ParameterError(f"{name} {value} is wider than the log-mel's {bands} mel bands: use at most {most}")
    keras.utils.set_random_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    encoder = build_encoder(p.encoder_config(int(mel.shape[2])))
    z_in = keras.Input(shape=(p.dense_units,))
    h = keras.layers.Dense(p.projection_units, activation="relu", name="proj0")(z_in)
    head = keras.Model(z_in, keras.layers.Dense(p.projection_units, name="proj1")(h), name="projection")
    optimizer = keras.optimizers.Adam(learning_rate=p.learning_rate)
    variables = encoder.trainable_variables + head.trainable_variables
    batch = min(p.batch_size, idx.size)
    steps = p.steps_per_epoch or max(1, idx.size // batch)

    @tf.function(reduce_retracing=True)
    def step(a: Any, b: Any) -> Any:
        with tf.GradientTape() as tape:
            za = tf.math.l2_normalize(head(encoder(a, training=True), training=True), axis=1)
            zb = tf.math.l2_normalize(head(encoder(b, training=True), training=True), axis=1)
            loss = info_nce(za, zb, p.temperature)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    history: dict[str, list[float]] = {"loss": []}
    started = time.perf_counter()
    with epoch_bar(p.epochs, "contrastive", verbose) as bar:
        for epoch in range(p.epochs):
            losses = []
            for _ in range(steps):
                chosen = rng.choice(idx, size=batch, replace=False)
                a = np.stack([augment(mel[i], p, rng) for i in chosen])
                b = np.stack([augment(mel[i], p, rng) for i in chosen])
                losses.append(float(step(tf.constant(a), tf.constant(b))))
            history["loss"].append(float(np.mean(losses)))
            show_losses(bar, {"loss": history["loss"][-1]})
            log.info("contrastive epoch %d: loss %.4f", epoch + 1, history["loss"][-1])
    device = {"gpus": len(tf.config.list_physical_devices("GPU")), "tensorflow": tf.__version__,
              "keras": keras.__version__}
    return ContrastiveResult(encoder, p, history, time.perf_counter() - started, p.epochs,
                             examples=p.epochs * steps * batch, device=device)


def embed(encoder: keras.Model, mel: np.ndarray, rows: np.ndarray | None = None, *,
          crops: int = ContrastiveParams().embed_crops,
          batch_size: int = 256) -> np.ndarray:
    """Track embeddings ``(len(rows), dense_units)``: the encoder's mean over ``crops`` evenly spaced crops of each
    log-mel, L2-normalised."""
    crop_frames = int(encoder.input_shape[1])
    idx = np.arange(mel.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.zeros((idx.size, int(encoder.output_shape[-1])), dtype=np.float32)
    for s in range(0, idx.size, max(1, batch_size // crops)):
        part = idx[s:s + max(1, batch_size // crops)]
        x = np.concatenate([crops_of(mel[i], crop_frames, crops) for i in part])
        z = np.asarray(encoder(x, training=False)).reshape(part.size, crops, -1).mean(axis=1)
        out[s:s + part.size] = z
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)
