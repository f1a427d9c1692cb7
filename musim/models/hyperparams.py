"""The families' parameters and their networks' architectures, in a module that imports no Keras:

- siamese: :class:`HyperParams` and :class:`SiameseConfig` (which :mod:`musim.models.siamese` builds);
- contrastive: :class:`ContrastiveParams`, whose encoder is a :class:`SiameseConfig`
  (:mod:`musim.models.contrastive` trains it);
- autoencoder: :class:`AutoencoderParams` and :class:`AutoencoderConfig` (:mod:`musim.models.autoencoder`
  builds it).

The DAGs' params show their defaults from here at parse time (the ``train_siamese`` DAG's default to null, as the
options do), a record is checked without TensorFlow, and :func:`job_params` turns the command line's options and
the DAG's params into the same family parameters and artist split. A network's defaults are written once, in its
config class, and the parameters' network fields take theirs from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from musim.errors import ParameterError
from musim.models.constants import INPUT_SHAPE, SIAMESE, SPLIT_DEFAULTS, TOP_DB
from musim.params import (
    ConvFilters,
    Count,
    LearningRate,
    NonNegativeFloat,
    NonNegativeInt,
    OpenShare,
    PositiveFloat,
    Seed,
    Share,
    params_record,
)

if TYPE_CHECKING:
    from musim.models.pairs import PairSampling

__all__ = [
    "EMBEDDING_PARAM",
    "SPLIT_KEYS",
    "AutoencoderConfig",
    "AutoencoderParams",
    "ContrastiveParams",
    "HyperParams",
    "SiameseConfig",
    "job_params",
]



def set_conv_shapes(config: Any) -> None:
    """A frozen conv-network config's ``input_shape`` and ``conv_filters`` as tuples of ints (from JSON lists), the
    input shape checked to be ``(frames, n_mels)``: what the siamese, autoencoder and classifier configs share."""
    object.__setattr__(config, "input_shape", tuple(int(s) for s in config.input_shape))
    object.__setattr__(config, "conv_filters", tuple(int(f) for f in config.conv_filters))
    if len(config.input_shape) != 2 or min(config.input_shape) < 1:
        raise ParameterError(f"input_shape must be (frames, n_mels), got {config.input_shape}")

@dataclass(frozen=True)
class SiameseConfig:
    """Architecture of the siamese network (every size is an argument).

    Parameters
    ----------
    input_shape : (frames, n_mels) of one clip
    conv_filters : filters of each Conv1D block, in order (its length is the depth)
    kernel_size : Conv1D kernel length in frames (one frame = 117 ms at the default hop)
    pool_size : MaxPool1D size after every block but the last
    zero_padding : frames padded on each side before every convolution (None: ``(kernel_size - 1) // 2``,
        which keeps the length for odd kernels)
    batchnorm : BatchNormalization after every convolution
    dense_units : size of the encoding (the Dense layer after the global max-pool)
    dense_activation : activation of that layer (``None`` for linear)
    dropout : dropout before the Dense layer (0: none)
    l2 : L2 weight penalty of convolutions and Dense layers (0: none)
    top_db : dB range of the inputs (see :class:`musim.models.layers.LogMelScale`)
    """

    input_shape: tuple[int, int] = INPUT_SHAPE
    conv_filters: tuple[int, ...] = (32, 64, 64)
    kernel_size: int = 3
    pool_size: int = 2
    zero_padding: int | None = None
    batchnorm: bool = True
    dense_units: int = 64
    dense_activation: str | None = "relu"
    dropout: float = 0.0
    l2: float = 0.0
    top_db: float = TOP_DB

    def __post_init__(self) -> None:
        set_conv_shapes(self)
        if not self.conv_filters or min(self.conv_filters) < 1:
            raise ParameterError(f"conv_filters needs at least one positive width, got {self.conv_filters}")
        if self.kernel_size < 1 or self.pool_size < 1 or self.dense_units < 1:
            raise ParameterError("kernel_size, pool_size and dense_units must be >= 1")
        if not 0 <= self.dropout < 1 or self.l2 < 0:
            raise ParameterError(f"dropout must be in [0, 1) and l2 >= 0, got {self.dropout}, {self.l2}")

    @property
    def padding(self) -> int:
        return (self.kernel_size - 1) // 2 if self.zero_padding is None else int(self.zero_padding)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shape"], d["conv_filters"] = list(self.input_shape), list(self.conv_filters)
        return d


#: The siamese network's defaults, which :class:`HyperParams` and :class:`ContrastiveParams` (whose encoder it
#: is) take their own from.
_NETWORK = SiameseConfig()


@params_record("hyperparameter")
class HyperParams:
    """Every knob of a training run, with the defaults of the nightly job.

    Data: ``clips_per_artist`` (clips per artist, pairs = their combinations), ``validation_share`` and
    ``test_share`` (artists held out, :func:`musim.models.data.split_artists`), ``sampling``,
    ``train_pairs``, ``validation_pairs`` (artist pairs drawn; each gives up to ``clips_per_artist**2``
    examples), ``bins``, ``zero_share``, ``zero_threshold``, ``max_repeat`` (see
    :class:`musim.models.pairs.PairSampling`).

    Network: see :class:`SiameseConfig` (the defaults are its own).

    Optimisation: Adam with ``learning_rate``, MSE loss, ``batch_size`` examples per step (global across
    GPUs), ``epochs`` (an epoch is one pass over the training pairs, or ``steps_per_epoch`` steps),
    early stopping on validation loss after ``early_stopping_patience`` epochs without improvement
    (None: off), restoring the best weights.

    Runtime: ``seed`` (split, sampling, shuffling, initial weights), ``deterministic`` (fixed op and
    input order: reproducible to the bit on the same machine, slower; sets TensorFlow's process-wide op
    determinism), ``mixed_precision`` and ``distribute`` ("auto": on when GPUs are visible / when
    several are), ``data_source`` (see :func:`musim.models.pairs.make_dataset`).
    """

    # data
    clips_per_artist: Count = 3
    validation_share: Share = float(SPLIT_DEFAULTS["validation_share"])
    test_share: OpenShare = float(SPLIT_DEFAULTS["test_share"])
    sampling: Literal["stratified", "natural"] = "stratified"
    train_pairs: Count | None = 20_000
    validation_pairs: Count | None = 5_000
    bins: Count = 10
    zero_share: Annotated[float, Field(ge=0, le=1)] = 0.2
    zero_threshold: float = 0.0
    max_repeat: Count = 4
    # network
    conv_filters: ConvFilters = _NETWORK.conv_filters
    kernel_size: Count = _NETWORK.kernel_size
    pool_size: Count = _NETWORK.pool_size
    zero_padding: NonNegativeInt | None = _NETWORK.zero_padding
    batchnorm: bool = _NETWORK.batchnorm
    dense_units: Count = _NETWORK.dense_units
    dense_activation: Literal["relu", "tanh", "linear"] | None = _NETWORK.dense_activation  # as the contrastive's
    dropout: Share = _NETWORK.dropout
    l2: NonNegativeFloat = _NETWORK.l2
    # optimisation
    learning_rate: LearningRate = 1e-3
    batch_size: Count = 64
    epochs: Count = 10
    steps_per_epoch: Count | None = None
    early_stopping_patience: NonNegativeInt | None = 3
    # runtime
    seed: Seed = int(SPLIT_DEFAULTS["seed"])
    deterministic: bool = False
    mixed_precision: Literal["auto", "on", "off"] = "auto"
    distribute: Literal["auto", "none", "mirrored"] = "auto"
    data_source: Literal["auto", "tensor", "numpy"] = "auto"

    def __post_init__(self) -> None:  # the network's and the sampling's own checks, across fields
        self.siamese_config()
        self.pair_sampling()

    def siamese_config(self) -> SiameseConfig:
        return SiameseConfig(conv_filters=self.conv_filters, kernel_size=self.kernel_size, pool_size=self.pool_size,
                             zero_padding=self.zero_padding, batchnorm=self.batchnorm, dense_units=self.dense_units,
                             dense_activation=self.dense_activation, dropout=self.dropout, l2=self.l2)

    def pair_sampling(self, *, validation: bool = False) -> PairSampling:
        from musim.models.pairs import PairSampling

        return PairSampling(strategy=self.sampling, pairs=self.validation_pairs if validation else self.train_pairs,
                            bins=self.bins, zero_share=self.zero_share, zero_threshold=self.zero_threshold,
                            max_repeat=self.max_repeat)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["conv_filters"] = list(self.conv_filters)
        return d


@params_record("contrastive parameter")
class ContrastiveParams:
    """Every hyperparameter of the contrastive family (encoder, crops, augmentations, optimisation): see
    :mod:`musim.models.contrastive`. The encoder is the siamese family's (:meth:`encoder_config`), with its
    defaults, so that the siamese family can start from it."""

    crop_frames: Annotated[int, Field(ge=8)] = 96
    conv_filters: ConvFilters = _NETWORK.conv_filters
    kernel_size: Count = _NETWORK.kernel_size
    pool_size: Count = _NETWORK.pool_size
    dense_units: Count = _NETWORK.dense_units
    dense_activation: Literal["relu", "tanh", "linear"] | None = "relu"
    projection_units: Count = 64
    temperature: Annotated[float, Field(gt=0, le=10)] = 0.1
    gain_db: NonNegativeFloat = 6.0
    freq_mask: NonNegativeInt = 8
    pitch_bins: NonNegativeInt = 1
    tempo: Annotated[float, Field(ge=0, lt=0.5)] = 0.1
    batch_size: Annotated[int, Field(ge=2)] = 32
    epochs: Count = 20
    steps_per_epoch: Count | None = None
    learning_rate: LearningRate = 1e-3
    embed_crops: Count = 5
    seed: Seed = 0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["conv_filters"] = list(self.conv_filters)
        return d

    def encoder_config(self, n_mels: int) -> SiameseConfig:
        return SiameseConfig(input_shape=(self.crop_frames, n_mels), conv_filters=self.conv_filters,
                             kernel_size=self.kernel_size, pool_size=self.pool_size, dense_units=self.dense_units,
                             dense_activation=self.dense_activation)


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture of the autoencoder (:mod:`musim.models.autoencoder`). The origin: Conv2D 16, 8, 8 (3 x 3, relu,
    'same') each followed by 2 x 2 max-pooling, mirrored with up-sampling in the decoder, sigmoid output."""

    input_shape: tuple[int, int] = INPUT_SHAPE
    conv_filters: tuple[int, ...] = (16, 8, 8)
    kernel_size: int = 3
    pool_size: int = 2
    top_db: float = TOP_DB

    def __post_init__(self) -> None:
        set_conv_shapes(self)
        if not self.conv_filters or min(self.conv_filters) < 1 or self.kernel_size < 1 or self.pool_size < 1:
            raise ParameterError("conv_filters, kernel_size and pool_size must be positive")
        f = self.pool_size ** len(self.conv_filters)
        if any(s % f for s in self.input_shape):
            raise ParameterError(f"input {self.input_shape} must be divisible by pool_size ** blocks = {f} "
                                 "(the decoder mirrors the encoder exactly)")

    @property
    def code_shape(self) -> tuple[int, int, int]:
        f = self.pool_size ** len(self.conv_filters)
        return (self.input_shape[0] // f, self.input_shape[1] // f, self.conv_filters[-1])

    @property
    def code_size(self) -> int:
        return math.prod(self.code_shape)


#: The autoencoder's defaults, which :class:`AutoencoderParams` takes its own from.
_AUTOENCODER = AutoencoderConfig()


@params_record("autoencoder parameter")
class AutoencoderParams:
    """Every knob of an autoencoder run (the network's defaults are :class:`AutoencoderConfig`'s)."""

    conv_filters: ConvFilters = _AUTOENCODER.conv_filters
    kernel_size: Count = _AUTOENCODER.kernel_size
    pool_size: Count = _AUTOENCODER.pool_size
    loss: Literal["bce", "mse"] = "bce"
    learning_rate: LearningRate = 1e-3
    lr_decay: bool = True                 # the origin: learning rate / (1 + epoch * lr / epochs) per epoch
    batch_size: Count = 32
    epochs: Count = 50
    early_stopping_patience: NonNegativeInt | None = 5
    stop_below: float | None = None       # the origin stopped once val_loss < 0.1 (None: off)
    validation_share: Share = 0.1         # tracks held out of fitting for early stopping
    train_on: Literal["all", "train_artists"] = "all"
    seed: Seed = 0
    mixed_precision: Literal["auto", "on", "off"] = "auto"
    distribute: Literal["auto", "none", "mirrored"] = "auto"
    # views (t-SNE, k-means, dendrogram)
    perplexity: PositiveFloat = 5.0
    tsne_learning_rate: PositiveFloat = 100.0
    k: Count = 8

    def config(self, input_shape: tuple[int, int] = _AUTOENCODER.input_shape) -> AutoencoderConfig:
        return AutoencoderConfig(input_shape=input_shape, conv_filters=self.conv_filters,
                                 kernel_size=self.kernel_size, pool_size=self.pool_size)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["conv_filters"] = list(self.conv_filters)
        return d


#: The parameter ``embedding_size`` (``--embedding-size``, the DAG's param) sets, per family that has one.
EMBEDDING_PARAM = {SIAMESE: "dense_units", "cnn_classifier": "embedding_units"}
#: The parameters that belong to the artist split, not to the family.
SPLIT_KEYS = ("validation_share", "test_share")


def job_params(family: str, hparams: Mapping[str, Any] | None = None, *, embedding_size: int | None = None,
               test_share: float | None = None, **named: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A training run's family parameters and artist split, from what the command line or a DAG gives.

    Parameters
    ----------
    family : the family trained
    hparams : any parameter of the family by name (``--hparams``, the DAG's ``hparams``); ``validation_share``
        and ``test_share`` among them go to the split
    embedding_size : the family's embedding size (siamese ``dense_units``, cnn_classifier ``embedding_units``)
    test_share : the test artists' share (``--test-share``; over one in ``hparams``)
    named : ``epochs``, ``learning_rate``, ``batch_size``, ``seed``, ``sampling``, ``train_pairs``: each one
        not None sets the parameter of that name (over ``hparams``; the descriptors family takes only ``seed``, and
        another is refused)

    Returns
    -------
    (params, split) : the family's parameters, and the split's keyword arguments (the shares given, checked,
        and the seed: a share not given adapts to the catalogue)
    """
    from musim.models.data import SplitParams

    params = dict(hparams or {})
    if embedding_size is not None:
        if family not in EMBEDDING_PARAM:
            raise ParameterError(f"--embedding-size applies to {' and '.join(EMBEDDING_PARAM)} (the autoencoder's is "
                                 "its code size)")
        params[EMBEDDING_PARAM[family]] = embedding_size
    if family == "descriptors" and (moot := [k for k, v in named.items() if v is not None and k != "seed"]):
        # dropped in silence, a run said `--epochs 5` and trained what it would have without it
        raise ParameterError(f"{', '.join('--' + k.replace('_', '-') for k in moot)}: the descriptors family is not "
                             "trained (its vector is the z-scored descriptors), so it takes only --seed and --hparams "
                             "'{\"weights\": ...}'; leave them out")
    for key, value in named.items():
        if value is not None:
            params[key] = value
    shares = {k: params.pop(k) for k in SPLIT_KEYS if k in params}
    if test_share is not None:
        shares["test_share"] = test_share
    checked = SplitParams(seed=params.get("seed", SPLIT_DEFAULTS["seed"]), **shares)
    return params, {k: getattr(checked, k) for k in (*shares, "seed")}
