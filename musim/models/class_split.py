"""The CNN classifier family's track split and class reports, without Keras: which tracks train, validate and
are held out (:func:`split_tracks`, on top of the common artist split), and the accuracy of held-out tracks
per class with its confusion matrix (:class:`ClassReport`)."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from musim.models.data import ArtistSplit
from musim.models.views import per_class_accuracy, plot_confusion

__all__ = ["ClassReport", "TrackSplit", "split_tracks"]


def _unit(seed: int, key: str) -> float:
    return int.from_bytes(hashlib.sha256(f"musim-tracks:{seed}:{key}".encode()).digest()[:8], "big") / 2.0**64


@dataclass(frozen=True, eq=False)
class TrackSplit:
    """Track indices (0..N-1) of each part: ``train`` and ``validation`` fit the model; ``heldout_track``
    (training artists' tracks held out) and ``heldout_artist`` (the test artists' tracks) are reported."""

    train: np.ndarray
    validation: np.ndarray
    heldout_track: np.ndarray
    heldout_artist: np.ndarray

    def to_json(self) -> dict[str, int]:
        return {k: int(getattr(self, k).size) for k in ("train", "validation", "heldout_track", "heldout_artist")}


def split_tracks(track_ids: Sequence[str], track_artist: Sequence[int] | np.ndarray, artists: ArtistSplit, *,
                 heldout_share: float = 0.15, label: str = "genre", seed: int = 0) -> TrackSplit:
    """Split tracks on top of the artist split (see the module docstring).

    A training artist with n >= 2 tracks gives ``ceil(heldout_share * n)`` of them (at most n - 1, by a
    seeded hash of the track id) to ``heldout_track``. With ``label="artist"`` the validation artists'
    tracks cannot be classified (their class is unknown), so validation is a further share of the
    training artists' tracks and the validation artists are not used.
    """
    ta = np.asarray(track_artist, dtype=np.int64)
    ids = [str(t) for t in track_ids]
    train_a, val_a, test_a = set(artists.train.tolist()), set(artists.validation.tolist()), set(artists.test.tolist())
    heldout_artist = np.flatnonzero(np.isin(ta, list(test_a)))
    validation = np.flatnonzero(np.isin(ta, list(val_a))) if label == "genre" else np.zeros(0, np.int64)
    train, heldout, extra_val = [], [], []
    for a in sorted(train_a):
        rows = sorted(np.flatnonzero(ta == a).tolist(), key=lambda r: (_unit(seed, ids[r]), ids[r]))
        n = len(rows)
        k = min(n - 1, math.ceil(heldout_share * n)) if n >= 2 else 0
        v = min(n - 1 - k, math.ceil(heldout_share * n)) if label == "artist" and n >= 3 else 0
        heldout += rows[:k]
        extra_val += rows[k:k + v]
        train += rows[k + v:]
    if label == "artist":
        validation = np.array(sorted(extra_val), dtype=np.int64)
    return TrackSplit(np.array(sorted(train), dtype=np.int64), np.asarray(validation, dtype=np.int64),
                      np.array(sorted(heldout), dtype=np.int64), heldout_artist.astype(np.int64))


@dataclass
class ClassReport:
    """Accuracy of one set of held-out tracks: overall, per class, confusion matrix (tracks), slices."""

    name: str
    classes: list[str]
    confusion: np.ndarray             # (C, C) track counts: rows true, columns predicted
    slice_accuracy: float
    slices: int
    skipped_tracks: int = 0           # held-out tracks whose label is not a trained class

    @property
    def tracks(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.tracks) if self.tracks else math.nan

    @property
    def per_class(self) -> dict[str, float]:
        return dict(zip(self.classes, per_class_accuracy(self.confusion).tolist(), strict=True))

    @property
    def chance(self) -> float:
        return 1.0 / len(self.classes) if self.classes else math.nan

    def to_json(self) -> dict[str, Any]:
        support = self.confusion.sum(axis=1).tolist()
        return {"name": self.name, "tracks": self.tracks, "slices": self.slices, "accuracy": _nan(self.accuracy),
                "slice_accuracy": _nan(self.slice_accuracy), "chance": _nan(self.chance),
                "skipped_tracks": self.skipped_tracks, "classes": self.classes,
                "per_class": {c: {"accuracy": _nan(a), "tracks": int(s)}
                              for (c, a), s in zip(self.per_class.items(), support, strict=True)},
                "confusion": self.confusion.tolist()}

    def markdown(self) -> str:
        lines = [f"**{self.name}**: track accuracy {_pct(self.accuracy)} on {self.tracks} tracks "
                 f"(slice accuracy {_pct(self.slice_accuracy)} on {self.slices} slices; chance {_pct(self.chance)})",
                 "", "| class | accuracy | tracks |", "|---|---|---|"]
        support = self.confusion.sum(axis=1)
        order = sorted(range(len(self.classes)), key=lambda i: -np.nan_to_num(per_class_accuracy(self.confusion)[i]))
        acc = per_class_accuracy(self.confusion)
        lines += [f"| {self.classes[i]} | {_pct(acc[i])} | {int(support[i])} |" for i in order]
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike[str], *, title: str = "") -> Any:
        return plot_confusion(self.confusion, self.classes, path,
                              title=title or f"{self.name}: accuracy {_pct(self.accuracy)}")


def _nan(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _pct(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.0%}"
