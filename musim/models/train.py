"""Training the siamese network: every hyperparameter an argument, GPU-aware, seeded.

::

    result = train(x, track_artist, targets, HyperParams(epochs=20, conv_filters=(32, 64, 64)))
    result.model            # float32 keras.Model, ready to save / score / embed
    result.history          # {"loss": [...], "val_loss": [...], ...}
    result.data.split.test  # the held-out test artists (evaluate on these)

On a machine with GPUs the run uses mixed precision (float16 compute, float32 weights, loss scaling) and
``tf.distribute.MirroredStrategy`` over all visible GPUs when there are several (``batch_size`` is the
global batch, split across replicas); on a CPU it runs in float32 with the default strategy. Either way
the returned model is float32, so it loads and predicts anywhere.

Importing this module imports Keras (and TensorFlow): import it lazily.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from musim.errors import ParameterError
from musim.models.data import ArtistSplit, PairTargets
from musim.models.epochs import EpochBar
from musim.models.hyperparams import HyperParams
from musim.models.pairs import TrainingSet, build_training_set, make_dataset
from musim.models.siamese import ENCODER, build_siamese, float32_copy

__all__ = ["HyperParams", "TrainResult", "fit", "runtime", "train"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run gives back."""

    model: keras.Model
    history: dict[str, list[float]]
    data: TrainingSet
    hparams: HyperParams
    seconds: float
    epochs_run: int
    examples_per_second: float
    device: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (no arrays), for metrics.json and the model card."""
        best = min(self.history.get("val_loss") or self.history.get("loss") or [float("nan")])
        return {"seconds": round(self.seconds, 2), "epochs_run": self.epochs_run,
                "examples_per_second": round(self.examples_per_second, 1), "device": self.device,
                "best_loss": best, "final": {k: v[-1] for k, v in self.history.items() if v},
                "params": int(self.model.count_params()), "data": self.data.describe()}


def runtime(hparams: HyperParams) -> tuple[Any, bool, dict[str, Any]]:
    """The distribution strategy and precision for ``hparams`` on this machine, and a description."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    mixed = hparams.mixed_precision == "on" or (hparams.mixed_precision == "auto" and bool(gpus))
    mirrored = hparams.distribute == "mirrored" or (hparams.distribute == "auto" and len(gpus) > 1)
    strategy = tf.distribute.MirroredStrategy() if mirrored else tf.distribute.get_strategy()
    return strategy, mixed, {"gpus": len(gpus), "replicas": int(strategy.num_replicas_in_sync),
                             "strategy": type(strategy).__name__, "mixed_precision": mixed,
                             "tensorflow": tf.__version__, "keras": keras.__version__}


def no_gpu_line(queue: str, gpus: int | None = None) -> str | None:
    """The one line a training task on ``queue`` logs when it was sent to a GPU worker (any queue but ``default``,
    ``MUSIM_TRAIN_QUEUE``) whose TensorFlow sees no GPU: it then trains on the CPU, as a CPU worker would.
    None on queue ``default`` or where a GPU is visible. ``gpus``: the visible GPUs (default: TensorFlow's)."""
    if queue == "default":
        return None
    if gpus is None:
        import tensorflow as tf

        gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus:
        return None
    import socket

    import tensorflow as tf

    cuda = "built with CUDA" if tf.test.is_built_with_cuda() else "built without CUDA (requirements-gpu.lock installs it)"
    return (f"queue {queue!r} (MUSIM_TRAIN_QUEUE) but TensorFlow {tf.__version__} on {socket.gethostname()} sees no "
            f"GPU ({cuda}; check the NVIDIA runtime and the device reservation): training on the CPU")


class _Timing(keras.callbacks.Callback):
    """Seconds spent in the training part of each epoch (validation excluded)."""

    def __init__(self) -> None:
        super().__init__()
        self.train_seconds: list[float] = []
        self._start = 0.0
        self._done = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._done = time.perf_counter(), False

    def on_test_begin(self, logs=None):
        if not self._done:
            self.train_seconds.append(time.perf_counter() - self._start)
            self._done = True

    def on_epoch_end(self, epoch, logs=None):
        if not self._done:
            self.train_seconds.append(time.perf_counter() - self._start)
            self._done = True


def start_from(model: keras.Model, encoder: keras.Model) -> None:
    """Copy a pretrained ``encoder``'s weights (e.g. the contrastive family's, same architecture) into the siamese
    ``model``'s encoder, layer by layer by name; ParameterError naming the first layer that does not fit."""
    own = model.get_layer(ENCODER)
    for layer in encoder.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        try:
            target = own.get_layer(layer.name)
        except ValueError:
            raise ParameterError(f"the initial encoder has a layer {layer.name!r} the siamese encoder lacks: "
                                 "give the siamese family the same conv_filters, kernel_size and pool_size") from None
        if [w.shape for w in target.get_weights()] != [w.shape for w in weights]:
            raise ParameterError(f"layer {layer.name!r} of the initial encoder has other shapes than the siamese "
                                 "encoder's: give both the same conv_filters, kernel_size and dense_units")
        target.set_weights(weights)


def fit(data: TrainingSet, hparams: HyperParams = HyperParams(), *, callbacks: Sequence[Any] = (),
        verbose: int = 0, init_encoder: keras.Model | None = None) -> TrainResult:
    """Train a new siamese model on a prepared :class:`TrainingSet` (see :func:`train`); ``init_encoder``: start
    from this encoder's weights instead of random ones."""
    import tensorflow as tf

    if len(data.train) == 0:
        raise ParameterError("the training set has no pairs")
    keras.utils.set_random_seed(hparams.seed)
    if hparams.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy, mixed, device = runtime(hparams)
    config = hparams.siamese_config()
    if tuple(data.x.shape[1:]) != config.input_shape:
        raise ParameterError(f"spectrograms are {tuple(data.x.shape[1:])}, the network expects {config.input_shape}")
    steps = hparams.steps_per_epoch
    train_ds = make_dataset(data.x, data.train, batch_size=hparams.batch_size, shuffle=True, seed=hparams.seed,
                            deterministic=hparams.deterministic, repeat=steps is not None,
                            source=hparams.data_source)
    val_ds = None
    if len(data.validation):
        val_ds = make_dataset(data.x, data.validation, batch_size=max(hparams.batch_size, 256), shuffle=False,
                              seed=hparams.seed, deterministic=True, source=hparams.data_source)
    with strategy.scope():
        model = build_siamese(config, dtype_policy="mixed_float16" if mixed else "float32")
        if init_encoder is not None:
            start_from(model, init_encoder)
        optimizer: Any = keras.optimizers.Adam(learning_rate=hparams.learning_rate)
        if mixed:
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    timing = _Timing()
    cbs: list[Any] = [timing, *callbacks, EpochBar(hparams.epochs, "siamese", verbose)]
    if val_ds is not None and hparams.early_stopping_patience is not None:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=hparams.early_stopping_patience,
                                                 restore_best_weights=True))
    started = time.perf_counter()
    hist = model.fit(train_ds, validation_data=val_ds, epochs=hparams.epochs, steps_per_epoch=steps,
                     callbacks=cbs, verbose=0, shuffle=False)  # tf.data shuffles; the bar is EpochBar
    seconds = time.perf_counter() - started
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    per_epoch = steps * hparams.batch_size if steps is not None else len(data.train)
    steady = timing.train_seconds[1:] or timing.train_seconds  # the first epoch includes tracing
    rate = per_epoch / float(np.median(steady)) if steady else 0.0
    if mixed:
        model = float32_copy(model, config)
    log.info("trained %s epochs in %.1f s (%.0f examples/s, %s)", len(timing.train_seconds), seconds, rate, device)
    return TrainResult(model, history, data, hparams, seconds, len(timing.train_seconds), rate, device)


def train(x: np.ndarray, track_artist: Sequence[int] | np.ndarray, targets: PairTargets,
          hparams: HyperParams = HyperParams(), *, split: ArtistSplit | None = None,
          callbacks: Sequence[Any] = (), verbose: int = 0, init_encoder: keras.Model | None = None) -> TrainResult:
    """Build the training set from spectrograms and pair targets, then train a siamese model.

    Parameters
    ----------
    x : np.ndarray [shape=(N, 256, 64)]
        Log-mel images in dB (float16 from the feature store's cache is fine; a memmap is not copied
        unless it fits the 1 GiB in-graph limit of :func:`musim.models.pairs.make_dataset`).
    track_artist : np.ndarray [shape=(N,)]
        Artist of each row; rows of an artist in order of preference (the first ``clips_per_artist`` are
        used).
    targets : PairTargets
        The pair targets (:func:`musim.models.data.load_pair_targets`).
    hparams : HyperParams
        Every hyperparameter.
    split : ArtistSplit, optional
        A given artist split (default: :func:`musim.models.data.split_artists` with the hparams' shares
        and seed).
    callbacks : extra Keras callbacks
    verbose : 1: a bar of epochs on a terminal (:mod:`musim.models.epochs`)
    init_encoder : a pretrained encoder of the same architecture to start from (the contrastive family's)
    """
    data = build_training_set(x, track_artist, targets, clips_per_artist=hparams.clips_per_artist,
                              validation=hparams.validation_share, test=hparams.test_share,
                              sampling=hparams.pair_sampling(),
                              validation_sampling=hparams.pair_sampling(validation=True), seed=hparams.seed,
                              split=split)
    return fit(data, hparams, callbacks=callbacks, verbose=verbose, init_encoder=init_encoder)
