"""The CNN classifier family (origin 003): a genre (or artist) classifier on spectrogram slices whose
128-unit penultimate layer is the embedding.

::

    slice (256 frames x 256 mels, dB) ─► LogMelScale ─► [Conv2D ─► BatchNorm ─► MaxPool2D] x n
        ─► pool (average over time, keep the frequency bands; or global average; or flatten)
        ─► Dropout ─► Dense(128, relu) = "embedding" ─► Dropout ─► Dense(classes, softmax) = "label"

- Labels: the track's genre (``track.genre``: Deezer genre, iTunes ``primaryGenreName``, the local file's
  tag) by default, or its artist. Tracks without a label are embedded but neither trained nor scored.
- Splits (:func:`musim.models.class_split.split_tracks`): on top of the common artist split (the test artists of every family),
  a share of the *training artists'* tracks is held out too. One model then gives both reports of the
  origin: accuracy on held-out tracks of artists it trained on (``by_track``: the artist's other tracks
  leak) and on tracks of artists it never saw (``by_artist``: no leak). Early stopping watches the
  validation artists' tracks (genre) or a held-out share of tracks (artist labels: unseen artists have no
  class).
- Reports: slice accuracy and track accuracy (mean softmax over the track's slices), per-class accuracy,
  confusion matrix (:func:`ClassReport.plot`).
- Track embedding = mean of its slices' embeddings (:func:`track_embeddings`); recommendations = cosine
  top-k (:func:`musim.models.families.cosine_top_k`).

Importing this module imports Keras (and TensorFlow): import it lazily.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import keras
import numpy as np

from musim.errors import ParameterError
from musim.models import layers as musim_layers
from musim.models.class_split import ClassReport, TrackSplit, split_tracks
from musim.models.constants import TOP_DB
from musim.models.data import ArtistSplit
from musim.models.epochs import EpochBar
from musim.models.hyperparams import set_conv_shapes
from musim.models.views import confusion_matrix
from musim.params import (
    ConvFilters,
    Count,
    LearningRate,
    NonNegativeFloat,
    NonNegativeInt,
    Seed,
    Share,
    params_record,
)

__all__ = [
    "ClassifierConfig",
    "ClassifierParams",
    "ClassifierResult",
    "build_classifier",
    "embedding_model",
    "evaluate_tracks",
    "predict_tracks",
    "track_embeddings",
    "train_classifier",
]

log = logging.getLogger(__name__)

EMBEDDING = "embedding"
HEAD = "label"
SLICE_SHAPE: tuple[int, int] = (256, 256)


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture (every size an argument).

    Parameters
    ----------
    input_shape : (frames, n_mels) of one slice (``SliceParams()``: 256 x 256, 5.12 s)
    conv_filters : filters of each Conv2D block (3 x 3 kernels, 'same' padding), its length the depth
    pool_size : MaxPool2D size after every block
    bn_momentum : BatchNormalization momentum. 0.9, not Keras' 0.99: with a few hundred steps the moving
        statistics used at inference would otherwise still be near their initial values (a model that is
        right in training and predicts one class in evaluation)
    pooling : "time_avg" (average over time, keep the frequency bands: genre lives in spectral shape),
        "global_avg" (average over both), "flatten" (the origin's Flatten; many weights)
    embedding_units : units of the penultimate Dense layer: the embedding (the origin: 128)
    dropout : before the embedding layer and before the softmax
    """

    input_shape: tuple[int, int] = SLICE_SHAPE
    conv_filters: tuple[int, ...] = (16, 32, 64, 128)
    kernel_size: int = 3
    pool_size: int = 2
    batchnorm: bool = True
    bn_momentum: float = 0.9
    pooling: Literal["time_avg", "global_avg", "flatten"] = "time_avg"
    embedding_units: int = 128
    dropout: float = 0.3
    l2: float = 0.0
    top_db: float = TOP_DB

    def __post_init__(self) -> None:
        set_conv_shapes(self)
        if not self.conv_filters or min(self.conv_filters) < 1:
            raise ParameterError("conv_filters needs at least one positive width")
        if self.pooling not in ("time_avg", "global_avg", "flatten"):
            raise ParameterError(f"pooling must be time_avg, global_avg or flatten, got {self.pooling!r}")
        if self.kernel_size < 1 or self.pool_size < 1 or self.embedding_units < 1:
            raise ParameterError("kernel_size, pool_size and embedding_units must be >= 1")
        if not 0 <= self.dropout < 1 or self.l2 < 0:
            raise ParameterError("dropout must be in [0, 1) and l2 >= 0")
        shrink = self.pool_size ** len(self.conv_filters)
        if min(self.input_shape) // shrink < 1:
            raise ParameterError(f"{len(self.conv_filters)} pools of {self.pool_size} shrink {self.input_shape} "
                                 "to nothing: use fewer blocks or a smaller pool")


#: The network's defaults, which :class:`ClassifierParams` takes its own from.
_NETWORK = ClassifierConfig()


@params_record("classifier parameter")
class ClassifierParams:
    """Every knob of a classifier run (architecture, labels, splits, optimisation, runtime)."""

    # labels and data
    label: Literal["genre", "artist"] = "genre"
    heldout_share: Share = 0.15          # of the training artists' tracks: the by-track report
    min_class_tracks: Count = 2          # classes with fewer training tracks are dropped (their tracks unlabelled)
    max_slices_per_track: Count | None = None
    # network (ClassifierConfig, with its defaults)
    conv_filters: ConvFilters = _NETWORK.conv_filters
    kernel_size: Count = _NETWORK.kernel_size
    pool_size: Count = _NETWORK.pool_size
    batchnorm: bool = _NETWORK.batchnorm
    bn_momentum: Share = _NETWORK.bn_momentum
    pooling: Literal["time_avg", "global_avg", "flatten"] = _NETWORK.pooling
    embedding_units: Count = _NETWORK.embedding_units
    dropout: Share = _NETWORK.dropout
    l2: NonNegativeFloat = _NETWORK.l2
    # optimisation
    learning_rate: LearningRate = 1e-3
    batch_size: Count = 32
    epochs: Count = 20
    early_stopping_patience: NonNegativeInt | None = 4
    class_weight: bool = True            # balance classes by inverse frequency
    # runtime
    seed: Seed = 0
    mixed_precision: Literal["auto", "on", "off"] = "auto"
    distribute: Literal["auto", "none", "mirrored"] = "auto"

    def config(self, input_shape: tuple[int, int] = SLICE_SHAPE) -> ClassifierConfig:
        return ClassifierConfig(input_shape=input_shape, conv_filters=self.conv_filters, kernel_size=self.kernel_size,
                                pool_size=self.pool_size, batchnorm=self.batchnorm, bn_momentum=self.bn_momentum,
                                pooling=self.pooling,
                                embedding_units=self.embedding_units, dropout=self.dropout, l2=self.l2)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["conv_filters"] = list(self.conv_filters)
        return d


# -- model -----------------------------------------------------------------------------------------------

def build_classifier(config: ClassifierConfig, n_classes: int, *, dtype_policy: str = "float32") -> keras.Model:
    """``(batch, frames, n_mels)`` dB slices → ``(batch, n_classes)`` softmax; layer ``"embedding"`` is the
    embedding."""
    if n_classes < 2:
        raise ParameterError(f"a classifier needs at least 2 classes, got {n_classes}")
    reg = keras.regularizers.L2(config.l2) if config.l2 else None
    kw: dict[str, Any] = {"dtype": dtype_policy}
    frames, mels = config.input_shape
    inp = keras.Input(shape=config.input_shape, name="slice")
    h = musim_layers.LogMelScale(config.top_db, name="scale", **kw)(inp)
    h = keras.layers.Reshape((frames, mels, 1), name="channel", **kw)(h)
    for i, filters in enumerate(config.conv_filters):
        h = keras.layers.Conv2D(filters, config.kernel_size, padding="same", activation="relu",
                                kernel_regularizer=reg, name=f"conv{i}", **kw)(h)
        if config.batchnorm:
            h = keras.layers.BatchNormalization(momentum=config.bn_momentum, name=f"bn{i}", **kw)(h)
        if config.pool_size > 1:
            h = keras.layers.MaxPooling2D(config.pool_size, name=f"pool{i}", **kw)(h)
    if config.pooling == "time_avg":
        h = keras.layers.AveragePooling2D(pool_size=(int(h.shape[1]), 1), name="time_avg", **kw)(h)
        h = keras.layers.Flatten(name="bands", **kw)(h)
    elif config.pooling == "global_avg":
        h = keras.layers.GlobalAveragePooling2D(name="global_avg", **kw)(h)
    else:
        h = keras.layers.Flatten(name="flatten", **kw)(h)
    if config.dropout:
        h = keras.layers.Dropout(config.dropout, name="dropout0", **kw)(h)
    emb = keras.layers.Dense(config.embedding_units, activation="relu", kernel_regularizer=reg, name=EMBEDDING,
                             **kw)(h)
    h = keras.layers.Dropout(config.dropout, name="dropout1", **kw)(emb) if config.dropout else emb
    out = keras.layers.Dense(n_classes, activation="softmax", name=HEAD, dtype="float32")(h)
    return keras.Model(inp, out, name="cnn_classifier")


def embedding_model(model: keras.Model) -> keras.Model:
    """The sub-model from a slice to its embedding (the 128-unit layer)."""
    return keras.Model(model.input, model.get_layer(EMBEDDING).output, name="cnn_embedding")


def _batched(fn, x: np.ndarray, rows: np.ndarray, batch_size: int) -> np.ndarray:
    out = []
    for s in range(0, rows.size, batch_size):
        chunk = np.asarray(x[rows[s:s + batch_size]], dtype=np.float32)
        out.append(np.asarray(fn(chunk, training=False), dtype=np.float32))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _track_mean(values: np.ndarray, slice_track: np.ndarray, n_tracks: int) -> tuple[np.ndarray, np.ndarray]:
    sums = np.zeros((n_tracks, values.shape[1]), dtype=np.float64)
    np.add.at(sums, slice_track, values)
    counts = np.bincount(slice_track, minlength=n_tracks)
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32), counts


def track_embeddings(model: keras.Model, slices: np.ndarray, slice_track: Sequence[int] | np.ndarray,
                     n_tracks: int, *, batch_size: int = 64) -> np.ndarray:
    """Mean embedding over each track's slices: ``(n_tracks, embedding_units)`` float32 (zeros for a track
    without slices).

    Parameters
    ----------
    slices : np.ndarray [shape=(M, frames, n_mels)] dB slices (float16 is fine)
    slice_track : np.ndarray [shape=(M,)] the track (0..n_tracks-1) of every slice
    """
    st = np.asarray(slice_track, dtype=np.int64)
    emb = _batched(embedding_model(model), slices, np.arange(st.size), batch_size)
    if emb.size == 0:
        return np.zeros((n_tracks, model.get_layer(EMBEDDING).units), np.float32)
    return _track_mean(emb, st, n_tracks)[0]


def predict_tracks(model: keras.Model, slices: np.ndarray, slice_track: np.ndarray, tracks: np.ndarray, *,
                   batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class probabilities of ``tracks``: per slice, and per track (mean over its slices).

    Returns ``(slice_rows, slice_probs (S, C), track_probs (len(tracks), C))``.
    """
    st = np.asarray(slice_track, dtype=np.int64)
    tracks = np.asarray(tracks, dtype=np.int64)
    pos = {int(t): i for i, t in enumerate(tracks)}
    rows = np.flatnonzero(np.isin(st, tracks))
    probs = _batched(model, slices, rows, batch_size)
    if rows.size == 0:
        c = int(model.output_shape[-1])
        return rows, np.zeros((0, c), np.float32), np.zeros((tracks.size, c), np.float32)
    owner = np.array([pos[int(t)] for t in st[rows]], dtype=np.int64)
    return rows, probs, _track_mean(probs, owner, tracks.size)[0]


# -- reports ------------------------------------------------------------------------------------------

def evaluate_tracks(model: keras.Model, slices: np.ndarray, slice_track: np.ndarray, tracks: np.ndarray,
                    track_class: np.ndarray, classes: Sequence[str], *, name: str, batch_size: int = 64) -> ClassReport:
    """The report of ``tracks`` (indices) whose true class index is ``track_class[t]`` (-1: not a trained
    class, counted in ``skipped_tracks``)."""
    tracks = np.asarray(tracks, dtype=np.int64)
    tc = np.asarray(track_class, dtype=np.int64)
    known = tracks[tc[tracks] >= 0]
    rows, sprobs, tprobs = predict_tracks(model, slices, slice_track, known, batch_size=batch_size)
    st = np.asarray(slice_track, dtype=np.int64)
    slice_acc = float(np.mean(sprobs.argmax(axis=1) == tc[st[rows]])) if rows.size else math.nan
    has = np.bincount(st[rows], minlength=tc.size)[known] > 0 if rows.size else np.zeros(known.size, bool)
    cm = confusion_matrix(tc[known][has], tprobs.argmax(axis=1)[has] if known.size else [], len(classes))
    return ClassReport(name, list(classes), cm, slice_acc, int(rows.size), int(tracks.size - known.size))


# -- training --------------------------------------------------------------------------------------------

@dataclass
class ClassifierResult:
    """A trained classifier: float32 model, classes, splits, reports, history, timings."""

    model: keras.Model
    classes: list[str]
    split: TrackSplit
    reports: dict[str, ClassReport]
    history: dict[str, list[float]]
    params: ClassifierParams
    seconds: float
    epochs_run: int
    device: dict[str, Any] = field(default_factory=dict)
    train_slices: int = 0

    def summary(self) -> dict[str, Any]:
        best = min(self.history.get("val_loss") or self.history.get("loss") or [math.nan])
        return {"seconds": round(self.seconds, 2), "epochs_run": self.epochs_run, "device": self.device,
                "best_loss": best, "final": {k: v[-1] for k, v in self.history.items() if v},
                "params": int(self.model.count_params()), "classes": self.classes, "label": self.params.label,
                "inputs": {"split": self.split.to_json(), "train_slices": self.train_slices},
                "examples_per_second": round(self.train_slices * self.epochs_run / self.seconds, 1) if self.seconds else None,
                "classification": {k: r.to_json() for k, r in self.reports.items()}}


def _dataset(x: np.ndarray, rows: np.ndarray, y: np.ndarray, *, batch_size: int, shuffle: bool, seed: int):
    import tensorflow as tf

    shape = tuple(int(s) for s in x.shape[1:])
    ds = tf.data.Dataset.from_tensor_slices((rows.astype(np.int32), y.astype(np.int32)))
    if shuffle and rows.size:
        ds = ds.shuffle(rows.size, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize <= (1 << 30):
        table = tf.constant(np.asarray(x))

        def gather(r, label):
            return tf.cast(tf.gather(table, r), tf.float32), label
    else:
        def _np(idx: np.ndarray) -> np.ndarray:
            order = np.argsort(idx)
            out = np.empty((idx.size, *shape), dtype=np.float32)
            out[order] = x[idx[order]]
            return out

        def gather(r, label):
            g = tf.numpy_function(_np, [r], tf.float32, stateful=False)
            g.set_shape((None, *shape))
            return g, label
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def class_labels(track_labels: Sequence[Any], train_tracks: np.ndarray, *, min_tracks: int = 2
                 ) -> tuple[list[str], np.ndarray]:
    """Classes (sorted) = labels with at least ``min_tracks`` training tracks; every track's class index
    (-1: no label, or a label that is not a class)."""
    lab = [None if x is None or (isinstance(x, float) and math.isnan(x)) or str(x).strip() == "" else str(x)
           for x in track_labels]
    counts: dict[str, int] = {}
    for t in np.asarray(train_tracks, dtype=np.int64).tolist():
        if lab[t] is not None:
            counts[lab[t]] = counts.get(lab[t], 0) + 1
    classes = sorted(c for c, n in counts.items() if n >= min_tracks)
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index.get(x, -1) if x is not None else -1 for x in lab], dtype=np.int64)


def train_classifier(slices: np.ndarray, slice_track: Sequence[int] | np.ndarray, track_ids: Sequence[str],
                     track_artist: Sequence[int] | np.ndarray, track_labels: Sequence[Any], artists: ArtistSplit,
                     params: ClassifierParams = ClassifierParams(), *, verbose: int = 0,
                     callbacks: Sequence[Any] = ()) -> ClassifierResult:
    """Train a classifier on the slices of the training tracks and report on the held-out tracks.

    Parameters
    ----------
    slices : np.ndarray [shape=(M, frames, n_mels)]
        dB slices of every track (float16 from the feature store is fine).
    slice_track : np.ndarray [shape=(M,)]
        Track index (0..N-1) of every slice.
    track_ids, track_artist, track_labels : length N
        Track ids, artists and labels (genre strings, None if unknown; ignored with ``label="artist"``).
    artists : ArtistSplit
        The common artist split: test artists never train the model.
    """
    from musim.models.train import runtime

    st = np.asarray(slice_track, dtype=np.int64)
    ta = np.asarray(track_artist, dtype=np.int64)
    n = len(track_ids)
    if slices.ndim != 3 or st.shape != (slices.shape[0],) or ta.shape != (n,):
        raise ParameterError(f"slices must be (M, frames, n_mels) with slice_track (M,) and N={n} tracks; got "
                             f"{slices.shape}, {st.shape}, {ta.shape}")
    if params.max_slices_per_track is not None:
        keep = np.zeros(st.size, bool)
        seen: dict[int, int] = {}
        for i, t in enumerate(st.tolist()):
            seen[t] = seen.get(t, 0) + 1
            keep[i] = seen[t] <= params.max_slices_per_track
        rows_all = np.flatnonzero(keep)
    else:
        rows_all = np.arange(st.size)
    split = split_tracks(track_ids, ta, artists, heldout_share=params.heldout_share, label=params.label,
                         seed=params.seed)
    labels = [str(a) for a in ta.tolist()] if params.label == "artist" else list(track_labels)
    classes, tclass = class_labels(labels, split.train, min_tracks=params.min_class_tracks)
    if len(classes) < 2:
        raise ParameterError(f"fewer than 2 {params.label} classes with >= {params.min_class_tracks} training "
                             f"tracks ({classes}); is track.genre filled in?")
    in_rows = rows_all[np.isin(st[rows_all], split.train[tclass[split.train] >= 0])]
    val_rows = rows_all[np.isin(st[rows_all], split.validation[tclass[split.validation] >= 0])]
    keras.utils.set_random_seed(params.seed)
    strategy, mixed, device = runtime(params)
    config = params.config(tuple(int(s) for s in slices.shape[1:]))
    train_ds = _dataset(slices, in_rows, tclass[st[in_rows]], batch_size=params.batch_size, shuffle=True,
                        seed=params.seed)
    val_ds = (_dataset(slices, val_rows, tclass[st[val_rows]], batch_size=max(params.batch_size, 64), shuffle=False,
                       seed=params.seed) if val_rows.size else None)
    weights = None
    if params.class_weight:
        counts = np.bincount(tclass[st[in_rows]], minlength=len(classes)).astype(np.float64)
        weights = {i: float(counts.sum() / (len(classes) * c)) for i, c in enumerate(counts) if c > 0}
    with strategy.scope():
        model = build_classifier(config, len(classes), dtype_policy="mixed_float16" if mixed else "float32")
        opt: Any = keras.optimizers.Adam(learning_rate=params.learning_rate)
        if mixed:
            opt = keras.optimizers.LossScaleOptimizer(opt)
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    cbs: list[Any] = list(callbacks)
    if val_ds is not None and params.early_stopping_patience is not None:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=params.early_stopping_patience,
                                                 restore_best_weights=True))
    started = time.perf_counter()
    cbs.append(EpochBar(params.epochs, "cnn_classifier", verbose))
    hist = model.fit(train_ds, validation_data=val_ds, epochs=params.epochs, callbacks=cbs, verbose=0,
                     class_weight=weights, shuffle=False)  # tf.data shuffles
    seconds = time.perf_counter() - started
    if mixed:
        copy = build_classifier(config, len(classes), dtype_policy="float32")
        copy.set_weights(model.get_weights())
        model = copy
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    sl = slices if rows_all.size == st.size else slices[rows_all]
    st_used = st[rows_all]
    reports = {"by_track": evaluate_tracks(model, sl, st_used, split.heldout_track, tclass, classes,
                                           name="held-out tracks of training artists (by track)")}
    if params.label == "genre":
        reports["by_artist"] = evaluate_tracks(model, sl, st_used, split.heldout_artist, tclass, classes,
                                               name="tracks of held-out artists (by artist)")
    log.info("classifier: %s classes, %s epochs in %.1f s; %s", len(classes), len(history.get("loss", [])),
             seconds, {k: round(r.accuracy, 3) for k, r in reports.items()})
    return ClassifierResult(model, classes, split, reports, history, params, seconds, len(history.get("loss", [])),
                            device, int(in_rows.size))
