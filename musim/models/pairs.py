"""The siamese family's training data: which artist pairs, which clip pairs, and the ``tf.data`` input.

- :class:`PairSampling` and :func:`sample_artist_pairs`: which artist pairs a set contains. Most pairs of a
  real catalogue have no co-listeners, so by default the pairs are **stratified over the target range**.
- :func:`expand_clip_pairs`: every combination of the two artists' clips (3 x 3 = 9 per artist pair) as
  index pairs (:class:`PairSet`): rows of the one spectrogram array, never copies of it.
- :func:`make_dataset`: the ``tf.data`` pipeline (shuffle, batch, gather, prefetch), seeded and optionally
  deterministic. TensorFlow is imported inside it only.
- :func:`build_training_set`: all of the above in one call, what :func:`musim.models.train.train` takes.

Spectrograms are a float16 ``(N, 256, 64)`` array (or memmap) of log-mels and ``track_artist`` ``(N,)`` the
artist of every row; targets, split and clips come from :mod:`musim.models.data`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from musim.errors import ParameterError
from musim.models.data import ArtistSplit, ClipTable, PairTargets, split_artists

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

__all__ = [
    "PairSampling",
    "PairSet",
    "TrainingSet",
    "build_training_set",
    "expand_clip_pairs",
    "make_dataset",
    "sample_artist_pairs",
]


# -- sampling --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PairSampling:
    """How the artist pairs of a training (or validation) set are drawn.

    ``strategy="stratified"`` (default): pairs whose target is above ``zero_threshold`` are cut into ``bins``
    equal-width bins over (``zero_threshold``, max]; every non-empty bin gets the same quota of
    ``(1 - zero_share) * pairs`` pairs, drawn without replacement while the bin has enough and otherwise
    every pair of the bin repeated up to ``max_repeat`` times in all (so a handful of very similar pairs
    is not copied thousands of times; the set may then be smaller than ``pairs``). Then pairs at or below
    ``zero_threshold`` (no co-listeners) are added so that they make ``zero_share`` of the set. The model
    thus sees the whole target range instead of a sea of zeros, and still learns what "unrelated" is.

    ``strategy="natural"``: a uniform sample of ``pairs`` pairs (all pairs when ``pairs`` is None or larger):
    the catalogue's own distribution of targets.
    """

    strategy: Literal["stratified", "natural"] = "stratified"
    pairs: int | None = 20_000
    bins: int = 10
    zero_share: float = 0.2
    zero_threshold: float = 0.0
    max_repeat: int = 4

    def __post_init__(self) -> None:
        if self.strategy not in ("stratified", "natural"):
            raise ParameterError(f"unknown sampling strategy {self.strategy!r}: 'stratified' or 'natural'")
        if self.pairs is not None and self.pairs < 1:
            raise ParameterError(f"pairs must be >= 1 or None, got {self.pairs}")
        if self.bins < 1 or self.max_repeat < 1:
            raise ParameterError("bins and max_repeat must be >= 1")
        if not 0 <= self.zero_share <= 1:
            raise ParameterError(f"zero_share must be in [0, 1], got {self.zero_share}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _draw(rng: np.random.Generator, candidates: np.ndarray, quota: int, max_repeat: int) -> np.ndarray:
    if quota <= 0 or candidates.size == 0:
        return candidates[:0]
    if quota <= candidates.size:
        return rng.choice(candidates, size=quota, replace=False)
    times, extra = divmod(min(quota, candidates.size * max_repeat), candidates.size)
    return np.concatenate([np.tile(candidates, times), rng.choice(candidates, size=extra, replace=False)])


def sample_artist_pairs(targets: PairTargets, artists: Sequence[int] | np.ndarray, sampling: PairSampling, *,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Artist pairs (a < b, both in ``artists``) and their targets, drawn as ``sampling`` says.

    Returns
    -------
    (artist_a, artist_b, target) : np.ndarray [shape=(P,)] int64, int64, float32
    """
    ids = np.unique(np.asarray(artists, dtype=np.int64))
    if ids.size < 2:
        raise ParameterError(f"need at least 2 artists to form pairs, got {ids.size}")
    m = targets.sub(ids)
    ia, ib = np.triu_indices(ids.size, k=1)
    y = m[ia, ib]
    rng = np.random.default_rng([seed, 0x5A4D])
    everything = np.arange(y.size)
    if sampling.strategy == "natural":
        n = y.size if sampling.pairs is None else min(sampling.pairs, y.size)
        pick = np.sort(rng.choice(everything, size=n, replace=False)) if n < y.size else everything
    else:
        total = sampling.pairs if sampling.pairs is not None else y.size
        zero = everything[y <= sampling.zero_threshold]
        positive = everything[y > sampling.zero_threshold]
        zs = sampling.zero_share if zero.size and positive.size else (0.0 if positive.size else 1.0)
        chosen = []
        if positive.size and zs < 1:
            edges = np.linspace(sampling.zero_threshold, float(y[positive].max()), sampling.bins + 1)
            b = np.clip(np.searchsorted(edges, y[positive], side="left") - 1, 0, sampling.bins - 1)
            groups = [positive[b == k] for k in range(sampling.bins) if np.any(b == k)]
            per_bin, rest = divmod(total - round(total * zs), len(groups))
            for k, g in enumerate(groups):
                chosen.append(_draw(rng, g, per_bin + (1 if k < rest else 0), sampling.max_repeat))
        n_pos = sum(c.size for c in chosen)
        # zero pairs: zero_share of the final set (which is smaller than `pairs` when bins ran short)
        n_zero = total if zs >= 1 else round(n_pos * zs / (1 - zs))
        chosen.append(_draw(rng, zero, n_zero, sampling.max_repeat))
        pick = np.concatenate(chosen)
    return ids[ia[pick]], ids[ib[pick]], y[pick].astype(np.float32)


# -- clip pairs ------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class PairSet:
    """Training examples as index pairs into the spectrogram array (no copies of spectrograms).

    ``left[i]``, ``right[i]``: rows of the two clips; ``y[i]``: the target of their artists' pair;
    ``artist_left[i]``, ``artist_right[i]``: those artists.
    """

    left: np.ndarray
    right: np.ndarray
    y: np.ndarray
    artist_left: np.ndarray
    artist_right: np.ndarray

    def __len__(self) -> int:
        return int(self.y.size)

    def target_histogram(self, bins: int = 10) -> list[int]:
        """Counts of targets in ``bins`` equal bins over [0, 1] (for cards and logs)."""
        return np.histogram(self.y, bins=bins, range=(0.0, 1.0))[0].tolist()


def expand_clip_pairs(clips: ClipTable, artist_a: np.ndarray, artist_b: np.ndarray, y: np.ndarray) -> PairSet:
    """Every combination of the two artists' clips for each artist pair (``k_a x k_b`` examples, pair-major)."""
    a, b = np.asarray(artist_a, dtype=np.int64), np.asarray(artist_b, dtype=np.int64)
    ra, rb = clips.rows[clips.positions(a)], clips.rows[clips.positions(b)]
    k = clips.rows.shape[1]
    left = np.broadcast_to(ra[:, :, None], (a.size, k, k))
    right = np.broadcast_to(rb[:, None, :], (a.size, k, k))
    valid = (left >= 0) & (right >= 0)
    owner = np.broadcast_to(np.arange(a.size)[:, None, None], (a.size, k, k))[valid]
    return PairSet(left[valid], right[valid], np.asarray(y, dtype=np.float32)[owner], a[owner], b[owner])


# -- the training set ------------------------------------------------------------------------------------

@dataclass(eq=False)
class TrainingSet:
    """Everything a training run needs, with the spectrograms referenced, not copied."""

    x: np.ndarray
    track_artist: np.ndarray
    targets: PairTargets
    split: ArtistSplit
    clips: ClipTable
    train: PairSet
    validation: PairSet
    sampling: PairSampling
    validation_sampling: PairSampling
    seed: int = 0
    dropped_artists: list[int] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """Sizes and the target distribution, for logs, metrics.json and the model card."""
        return {"tracks": int(self.x.shape[0]), "artists": int(self.clips.artist_ids.size),
                "clips_per_artist": int(self.clips.rows.shape[1]), "split": self.split.to_json(),
                "metric": self.targets.metric, "dump_id": self.targets.dump_id,
                "train_pairs": len(self.train), "validation_pairs": len(self.validation),
                "train_artist_pairs": int(len(set(zip(self.train.artist_left.tolist(),
                                                       self.train.artist_right.tolist(), strict=True)))),
                "train_target_histogram": self.train.target_histogram(),
                "sampling": self.sampling.to_json(), "validation_sampling": self.validation_sampling.to_json(),
                "dropped_artists": len(self.dropped_artists)}


def build_training_set(x: np.ndarray, track_artist: Sequence[int] | np.ndarray, targets: PairTargets, *,
                       clips_per_artist: int = 3, validation: float = 0.15, test: float = 0.15,
                       sampling: PairSampling = PairSampling(),
                       validation_sampling: PairSampling | None = None, seed: int = 0,
                       split: ArtistSplit | None = None) -> TrainingSet:
    """Split the artists, pick their clips and draw the training and validation pairs.

    Parameters
    ----------
    x : np.ndarray [shape=(N, frames, n_mels)]
        Log-mel images (dB), any float dtype; a memmap is fine (it is not copied here).
    track_artist : np.ndarray [shape=(N,)]
        Artist id of every row of ``x``.
    targets : PairTargets
        Pair targets; artists with clips but without targets (outside the catalogue) are dropped, as are
        artists with targets but no clip.
    clips_per_artist : int
        Clips used per artist (the first rows of each artist); pairs are all their combinations.
    validation, test : float
        Shares of artists held out (see :func:`split_artists`), unless ``split`` is given.
    sampling, validation_sampling : PairSampling
        How pairs are drawn among train artists and among validation artists (default for validation:
        the same strategy with a quarter of the pairs).
    seed : int
        Seeds the split and the sampling.
    """
    x_shape = getattr(x, "shape", ())
    ta = np.asarray(track_artist, dtype=np.int64)
    if len(x_shape) != 3 or ta.shape != (x_shape[0],):
        raise ParameterError(f"x must be (N, frames, n_mels) and track_artist (N,); got {x_shape} and {ta.shape}")
    with_clips = np.unique(ta)
    usable = np.intersect1d(with_clips, targets.artist_ids)
    dropped = sorted(set(with_clips.tolist()) - set(usable.tolist()))
    if usable.size < 6:
        raise ParameterError(f"only {usable.size} artists have both clips and targets; need at least 6")
    if split is None:
        split = split_artists(usable, validation=validation, test=test, seed=seed)
    else:
        for part in (split.train, split.validation, split.test):
            if not np.all(np.isin(part, usable)):
                raise ParameterError("the given split names artists without clips or targets")
    clips = ClipTable.from_track_artist(ta, clips_per_artist=clips_per_artist, artists=usable)
    if validation_sampling is None:
        validation_sampling = PairSampling(**{**asdict(sampling),
                                              "pairs": None if sampling.pairs is None else max(1, sampling.pairs // 4)})
    a, b, y = sample_artist_pairs(targets, split.train, sampling, seed=seed)
    train_pairs = expand_clip_pairs(clips, a, b, y)
    if split.validation.size >= 2:
        a, b, y = sample_artist_pairs(targets, split.validation, validation_sampling, seed=seed + 1)
        val_pairs = expand_clip_pairs(clips, a, b, y)
    else:
        empty = np.zeros(0, dtype=np.int64)
        val_pairs = PairSet(empty, empty, np.zeros(0, np.float32), empty, empty)
    return TrainingSet(x, ta, targets, split, clips, train_pairs, val_pairs, sampling, validation_sampling,
                       seed, dropped)


# -- tf.data ---------------------------------------------------------------------------------------------

#: Arrays up to this size are held as one tensor the pipeline gathers from; larger ones are read from
#: numpy (a memmap) inside the pipeline instead (a graph cannot capture a tensor over 2 GB).
TENSOR_SOURCE_MAX_BYTES = 1 << 30


def make_dataset(x: np.ndarray, pairs: PairSet, *, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                 deterministic: bool = False, repeat: bool = False, drop_remainder: bool = False,
                 source: Literal["auto", "tensor", "numpy"] = "auto",
                 options: Mapping[str, Any] | None = None) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of ``({"left": (B, frames, n_mels), "right": ...}, y (B,))`` float32 batches.

    Index pairs are shuffled (a full-size buffer of integers: cheap), batched, and only then turned into
    spectrograms with one gather per batch from the array, which is held once (``source="tensor"``: as a
    tensor of its own dtype, float16 from the cache; ``"numpy"``: gathered from the numpy array or memmap
    in a ``tf.numpy_function``; ``"auto"``: tensor up to 1 GiB). Then prefetch.

    Parameters
    ----------
    seed : seeds the shuffle (reshuffled each epoch, reproducibly)
    deterministic : keep element order fixed across runs even with parallel map (slower)
    repeat : repeat forever (pass ``steps_per_epoch`` to ``fit``)
    options : extra ``tf.data.Options`` attributes, e.g. ``{"threading.private_threadpool_size": 4}``
    """
    import tensorflow as tf

    shape = tuple(int(s) for s in x.shape[1:])
    if source == "auto":
        source = "tensor" if int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize <= TENSOR_SOURCE_MAX_BYTES else "numpy"
    ds = tf.data.Dataset.from_tensor_slices((pairs.left.astype(np.int32), pairs.right.astype(np.int32),
                                             pairs.y.astype(np.float32)))
    if shuffle and len(pairs):
        ds = ds.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if source == "tensor":
        table = tf.constant(np.asarray(x))

        def gather(left, right, y):
            return ({"left": tf.cast(tf.gather(table, left), tf.float32),
                     "right": tf.cast(tf.gather(table, right), tf.float32)}, y)
    else:
        arr = x

        def _np_gather(idx: np.ndarray) -> np.ndarray:
            order = np.argsort(idx)
            out = np.empty((idx.size, *shape), dtype=np.float32)
            out[order] = arr[idx[order]]
            return out

        def gather(left, right, y):
            lx = tf.numpy_function(_np_gather, [left], tf.float32, stateful=False)
            rx = tf.numpy_function(_np_gather, [right], tf.float32, stateful=False)
            lx.set_shape((None, *shape))
            rx.set_shape((None, *shape))
            return {"left": lx, "right": rx}, y

    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    opts = tf.data.Options()
    opts.deterministic = deterministic
    for key, value in (options or {}).items():
        target = opts
        *path, last = key.split(".")
        for part in path:
            target = getattr(target, part)
        setattr(target, last, value)
    return ds.with_options(opts)
