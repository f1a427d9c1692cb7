"""What every model family learns and is ranked on: pair targets, the artist split, each artist's clips.

The pieces, each usable alone (the siamese family's pair sampling and ``tf.data`` input are in
:mod:`musim.models.pairs`):

- :class:`PairTargets`: the similarity of every pair among a set of artists as a dense symmetric matrix on a
  0..1 scale (missing pair = no co-listeners = 0), read from ``artist_pair_similarity`` with
  :func:`load_pair_targets` or built from arrays with :meth:`PairTargets.from_pairs`.
- :func:`split_artists`: train / validation / test artists, disjoint, seeded and stable (see there).
- :class:`ClipTable`: each artist's clips as row indices into the spectrogram array (up to
  ``clips_per_artist``, 3 by default, in array order: put the most popular tracks first).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from musim import sql
from musim.errors import NotFoundError, ParameterError, refuse_blank
from musim.models.constants import DEFAULT_TARGET, SPLIT_DEFAULTS, TARGET_METRICS
from musim.params import OpenShare, Seed, Share, params_record

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

__all__ = [
    "ArtistSplit",
    "ClipTable",
    "PairTargets",
    "latest_dump",
    "load_catalogue",
    "load_pair_targets",
    "default_test_share",
    "split_artists",
    "to_unit_scale",
]


# -- targets ---------------------------------------------------------------------------------------------

def to_unit_scale(values: np.ndarray, metric: str) -> np.ndarray:
    """Map a similarity metric's values onto 0..1, keeping their order (so rankings are the metric's).

    ``seed``, ``jaccard`` and ``cosine`` already lie in 0..1 and are kept; ``lift`` (0..inf) becomes
    ``lift / (1 + lift)``, and ``pmi = ln(lift)`` becomes ``sigmoid(pmi)``, the same number. A pair without
    co-listeners has lift 0 (pmi -inf), hence 0 on every scale: the model's sigmoid output can reach it.
    """
    if metric not in TARGET_METRICS:
        raise ParameterError(f"unknown target metric {metric!r}; one of {', '.join(TARGET_METRICS)}")
    v = np.asarray(values, dtype=np.float64)
    if metric == "lift":
        v = v / (1.0 + v)
    elif metric == "pmi":
        v = 1.0 / (1.0 + np.exp(-v))
    return np.clip(v, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True, eq=False)
class PairTargets:
    """Similarity of every pair among ``artist_ids`` (sorted, unique) on a 0..1 scale.

    ``matrix[i, j]`` is the target of ``artist_ids[i]`` and ``artist_ids[j]``: symmetric, 0 where the pair
    has no co-listeners, NaN on the diagonal (an artist is not compared with itself). Dense: A artists
    take ``4 A^2`` bytes (100 MB for 5,000).
    """

    artist_ids: np.ndarray
    matrix: np.ndarray
    metric: str = DEFAULT_TARGET
    dump_id: str | None = None

    def __post_init__(self) -> None:
        ids = np.asarray(self.artist_ids, dtype=np.int64)
        if ids.ndim != 1 or (ids.size and np.any(np.diff(ids) <= 0)):
            raise ParameterError("PairTargets.artist_ids must be sorted and unique")
        m = np.asarray(self.matrix, dtype=np.float32)
        if m.shape != (ids.size, ids.size):
            raise ParameterError(f"PairTargets.matrix has shape {m.shape}, expected {(ids.size, ids.size)}")
        object.__setattr__(self, "artist_ids", ids)
        object.__setattr__(self, "matrix", m)

    @classmethod
    def from_pairs(cls, artist_ids: Sequence[int] | np.ndarray, artist_a: np.ndarray, artist_b: np.ndarray,
                   values: np.ndarray, *, metric: str = DEFAULT_TARGET, dump_id: str | None = None) -> PairTargets:
        """Targets from stored pairs (any order of a and b); pairs outside ``artist_ids`` are ignored.

        ``values`` are the metric's raw values; they are put on the 0..1 scale with :func:`to_unit_scale`.
        """
        ids = np.unique(np.asarray(artist_ids, dtype=np.int64))
        a = np.asarray(artist_a, dtype=np.int64)
        b = np.asarray(artist_b, dtype=np.int64)
        v = to_unit_scale(np.asarray(values), metric)
        ia, ib = np.searchsorted(ids, a), np.searchsorted(ids, b)
        ok = (ia < ids.size) & (ib < ids.size)
        ok[ok] &= (ids[ia[ok]] == a[ok]) & (ids[ib[ok]] == b[ok])
        m = np.zeros((ids.size, ids.size), dtype=np.float32)
        m[ia[ok], ib[ok]] = v[ok]
        m[ib[ok], ia[ok]] = v[ok]
        np.fill_diagonal(m, np.nan)
        return cls(ids, m, metric, dump_id)

    def positions(self, artists: Sequence[int] | np.ndarray) -> np.ndarray:
        """Positions of ``artists`` in :attr:`artist_ids`; KeyError naming the first unknown one."""
        a = np.asarray(artists, dtype=np.int64)
        pos = np.searchsorted(self.artist_ids, a)
        bad = (pos >= self.artist_ids.size) | (self.artist_ids[np.minimum(pos, self.artist_ids.size - 1)] != a)
        if self.artist_ids.size == 0 or np.any(bad):
            raise KeyError(f"artist {int(a[np.argmax(bad)]) if a.size else '?'} has no targets")
        return pos

    def sub(self, artists: Sequence[int] | np.ndarray) -> np.ndarray:
        """The ``(k, k)`` target matrix of ``artists`` (in that order)."""
        pos = self.positions(artists)
        return self.matrix[np.ix_(pos, pos)]


def _query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> Any:
    (stmt,) = sql.statements(sql.load(name))
    used = sql.params_of(stmt)
    return con.execute(stmt, {k: params[k] for k in used} if used else None)


def latest_dump(con: duckdb.DuckDBPyConnection) -> str:
    """The latest dump whose similarity build may be served (its quality check, if gated, passed); NotFoundError
    if none has."""
    row = _query(con, "models/latest_dump.sql").fetchone()
    if row is None:
        if _query(con, "models/unservable_builds.sql").fetchone()[0]:
            raise NotFoundError("no similarity build has passed its quality check (`musim quality report`): "
                                "rebuild it (`musim similarity build`), or train on one by name (--dump ID)")
        raise NotFoundError("no similarity build yet: run `musim similarity build` (or the artist_similarity DAG)")
    return str(row[0])


def _given_or_latest(con: duckdb.DuckDBPyConnection, dump_id: str | None) -> str:
    """``dump_id`` (a unique prefix is enough, as ``musim dumps`` shows them), else (None) :func:`latest_dump`;
    an empty one is refused, not read as the latest; an unknown or ambiguous prefix is refused naming the dumps."""
    from musim.similarity.build import resolve_dump

    refuse_blank(dump_id, "the dump id", "a dump id (`musim dumps`), or none for the latest similarity build")
    return resolve_dump(con, dump_id) if dump_id is not None else latest_dump(con)


def load_catalogue(con: duckdb.DuckDBPyConnection, dump_id: str | None = None) -> dict[int, int]:
    """``{artist_id: listeners}`` of the catalogue of a similarity build (the artists with targets)."""
    dump_id = _given_or_latest(con, dump_id)
    rows = _query(con, "models/catalogue.sql", dump_id=dump_id).fetchall()
    if not rows:
        raise NotFoundError(f"dump {dump_id[:12]} has no similarity build (or an empty catalogue)")
    return {int(a): int(n) for a, n in rows}


def load_pair_targets(con: duckdb.DuckDBPyConnection, *, dump_id: str | None = None, metric: str = DEFAULT_TARGET,
                      artist_ids: Sequence[int] | np.ndarray | None = None) -> PairTargets:
    """The targets of ``artist_ids`` (default: the whole catalogue) for ``metric`` of a dump's build.

    Artists outside the build's catalogue are left out (their pairs were never counted, so 0 would be
    wrong for them); compare ``result.artist_ids`` with what you asked for.
    """
    if metric not in TARGET_METRICS:
        raise ParameterError(f"unknown target metric {metric!r}; one of {', '.join(TARGET_METRICS)}")
    import pandas as pd

    dump_id = _given_or_latest(con, dump_id)
    catalogue = np.fromiter(load_catalogue(con, dump_id), dtype=np.int64)
    ids = catalogue if artist_ids is None else np.intersect1d(catalogue, np.asarray(artist_ids, dtype=np.int64))
    con.register("models_artists", pd.DataFrame({"artist_id": ids}))
    try:
        got = _query(con, "models/pair_targets.sql", dump_id=dump_id, metric=metric).fetchnumpy()
    finally:
        con.unregister("models_artists")
    return PairTargets.from_pairs(ids, got["artist_a"], got["artist_b"], np.asarray(got["value"], dtype=np.float64),
                                  metric=metric, dump_id=dump_id)


# -- split -----------------------------------------------------------------------------------------------

def _unit_hash(seed: int, artist_id: int) -> float:
    digest = hashlib.sha256(f"musim-split:{seed}:{artist_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True, eq=False)
class ArtistSplit:
    """Disjoint train / validation / test artist ids (each sorted)."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    seed: int = 0
    validation_share: float = 0.15
    test_share: float = 0.15

    @property
    def test_set_id(self) -> str:
        """16 hex of sha256 over the sorted test artist ids: equal ids = same test set."""
        return hashlib.sha256(",".join(map(str, self.test.tolist())).encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "validation_share": self.validation_share, "test_share": self.test_share,
                "train": len(self.train), "validation": len(self.validation), "test": len(self.test),
                "test_set_id": self.test_set_id}


@params_record("split parameter")
class SplitParams:
    """The artist split's parameters as a user gives them (``--hparams``, a DAG's params), checked."""

    seed: Seed = int(SPLIT_DEFAULTS["seed"])
    validation_share: Share = float(SPLIT_DEFAULTS["validation_share"])
    test_share: OpenShare = float(SPLIT_DEFAULTS["test_share"])

    def __post_init__(self) -> None:
        if self.validation_share + self.test_share >= 1:
            raise ParameterError(f"split parameters validation_share ({self.validation_share}) and test_share "
                                 f"({self.test_share}) leave no training artists: their sum must be < 1")


def default_test_share(n_artists: int) -> float:
    """The test share of a catalogue of ``n_artists`` (artists with features and targets): 15% of a large one,
    but at least the promotion rule's minimum of test artists (``MUSIM_PROMOTION_MIN_TEST_ARTISTS``, 10) while
    a third of the catalogue allows it, so that a small catalogue still gives an evaluation that can decide a
    promotion."""
    from musim.config import get_settings

    share = float(SPLIT_DEFAULTS["test_share"])
    if n_artists <= 0:
        return share
    wanted = min(get_settings().models.promotion_min_test_artists, n_artists // 3)
    return max(share, wanted / n_artists)


def split_artists(artist_ids: Sequence[int] | np.ndarray, *, validation: float = 0.15, test: float = 0.15,
                  seed: int = 0) -> ArtistSplit:
    """Split artists into disjoint train / validation / test sets.

    Each artist gets a pseudo-random number in [0, 1) from a hash of ``(seed, artist_id)``; artists are
    ordered by it and the first ``round(test * n)`` go to test, the next ``round(validation * n)`` to
    validation, the rest to train. The split depends on the seed and the set of artists only, never on
    their order, and a growing catalogue moves few existing artists between sets.
    """
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise ParameterError(f"validation ({validation}) and test ({test}) shares must be >= 0 with sum < 1")
    ids = np.unique(np.asarray(artist_ids, dtype=np.int64))
    order = sorted(ids.tolist(), key=lambda a: (_unit_hash(seed, a), a))
    n_test, n_val = round(test * ids.size), round(validation * ids.size)
    parts = (order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:])
    te, va, tr = (np.array(sorted(p), dtype=np.int64) for p in parts)
    return ArtistSplit(tr, va, te, seed, validation, test)


# -- clips -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ClipTable:
    """Each artist's clips: ``rows[i, :counts[i]]`` are rows of the spectrogram array for ``artist_ids[i]``.

    ``rows`` is ``(A, clips_per_artist)`` int64, padded with -1.
    """

    artist_ids: np.ndarray
    rows: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_track_artist(cls, track_artist: Sequence[int] | np.ndarray, *, clips_per_artist: int = 3,
                          artists: Sequence[int] | np.ndarray | None = None) -> ClipTable:
        """The first ``clips_per_artist`` rows of every artist (of ``artists``, if given) in array order."""
        if clips_per_artist < 1:
            raise ParameterError(f"clips_per_artist must be >= 1, got {clips_per_artist}")
        ta = np.asarray(track_artist, dtype=np.int64)
        order = np.argsort(ta, kind="stable")
        uniq, starts, counts = np.unique(ta[order], return_index=True, return_counts=True)
        if artists is not None:
            keep = np.isin(uniq, np.asarray(artists, dtype=np.int64))
            uniq, starts, counts = uniq[keep], starts[keep], counts[keep]
        k = np.minimum(counts, clips_per_artist)
        rows = np.full((uniq.size, clips_per_artist), -1, dtype=np.int64)
        for c in range(clips_per_artist):
            has = k > c
            rows[has, c] = order[starts[has] + c]
        return cls(uniq, rows, k.astype(np.int64))

    def positions(self, artists: Sequence[int] | np.ndarray) -> np.ndarray:
        a = np.asarray(artists, dtype=np.int64)
        pos = np.searchsorted(self.artist_ids, a)
        pos_c = np.minimum(pos, max(self.artist_ids.size - 1, 0))
        if self.artist_ids.size == 0 or np.any(self.artist_ids[pos_c] != a):
            raise KeyError("some artists have no clips")
        return pos

    def flat(self, artists: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All clip rows of ``artists`` and, for each, the position of its artist in ``artists``."""
        pos = self.positions(artists)
        r = self.rows[pos]
        valid = r >= 0
        owner = np.broadcast_to(np.arange(pos.size)[:, None], r.shape)
        return r[valid], owner[valid]
