"""Approximate nearest neighbours of audio embeddings: a Voyager (Spotify) HNSW index, stored next to the model.

Exact search (brute force, :mod:`musim.models.neighbours`) stays for small catalogues and as the recall
reference; from ``MUSIM_ANN_MIN_TRACKS`` vectors (default 20,000) the cosine families' neighbour tables and
``similar-audio`` search an HNSW index instead. ``MUSIM_AUDIO_SEARCH`` (``auto``, ``exact`` or ``ann``; the
``search=`` argument of the functions, ``--search`` of ``similar-audio``) forces one or the other::

    index = AnnIndex.build(embeddings)                     # cosine: Voyager normalises the vectors
    positions, similarity = index.search(queries, k=10)    # row positions of ``embeddings``; -1 where fewer
    entry = save_index(store, family, version, index, track_ids)    # models/<family>/<version>/ann/…
    index, track_ids = load_index(store, entry)            # cached; None (with a warning) if missing/corrupt

Why Voyager: on the same catalogue and graph shape (``benchmarks/ann_libraries.py``) the four libraries of
the lock (voyager, hnswlib, usearch, faiss-cpu) all reach recall@10 >= 0.95; Voyager builds as fast as
hnswlib (it is hnswlib's graph, maintained by Spotify for exactly this use), its index file names its own
space, dimension and storage type (a loaded file cannot be misread), and it reads and writes file objects.

Object-store layout, content-addressed: ``models/<family>/<version>/ann/<params>-<fingerprint>.voy`` with the
row → track id mapping beside it (``….ids.json``); the fingerprint is the sha256 of the track ids and the
float32 embeddings, so an index's key names exactly what it indexes. The index's sha256 is
recorded in the publication's serving manifest (:func:`musim.models.manifests.read_manifest`) and checked on load.
Each publication of other vectors stores another index: a publish of the version removes, after its commit, those
that no remaining manifest names (:func:`musim.models.manifests._prune_indexes`).

Search depth: ``ef`` is calibrated per index when it is built (:func:`calibrate_ef`, to
:attr:`AnnParams.recall_target`), stored in the manifest entry's params and used as it is on load. The
track neighbour tables ask a deeper question (neighbours of other artists, below a track's own artist's)
and calibrate their own depth from there (:func:`musim.models.neighbours.calibrate_table_ef`).

Determinism: the graph's random levels come from ``seed``; a build on one thread (``threads=1``) is
byte-for-byte reproducible, parallel insertion (the default) may link a few nodes differently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from musim.config import Settings, get_settings
from musim.errors import ConfigError, ParameterError
from musim.storage import ObjectStore

__all__ = [
    "MIN_TRACKS_ENV",
    "SEARCH_ENV",
    "SEARCH_MODES",
    "EF_LADDER",
    "AnnIndex",
    "AnnParams",
    "cached_index",
    "calibrate_ef",
    "lowest_depth",
    "clear_cache",
    "fingerprint",
    "index_key",
    "load_index",
    "save_index",
    "search_mode",
    "stored_index",
    "unit_rows",
]

log = logging.getLogger(__name__)

#: The variables of the search (the settings' ``models`` section): below ``MUSIM_ANN_MIN_TRACKS`` vectors
#: (default 20,000: a 20,000 x 64 product is ~1 ms) exact search is fast enough, and exact.
MIN_TRACKS_ENV = "MUSIM_ANN_MIN_TRACKS"
SEARCH_ENV = "MUSIM_AUDIO_SEARCH"
SEARCH_MODES = ("auto", "exact", "ann")
#: Index objects kept loaded in this process (``similar-audio`` in a server, the neighbour builders).
_CACHE_SIZE = 2
_cache: OrderedDict[tuple[str, str], tuple[AnnIndex, list[str]]] = OrderedDict()


#: Search depths tried, lowest first, when an index's ``ef`` is chosen from its recall target.
EF_LADDER = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
#: Queries (a seeded sample of the index's own vectors) on which each depth's recall@10 is measured.
CALIBRATION_QUERIES = 1000
#: A found neighbour this close to the exact k-th similarity counts as a hit (ties; float32 rounding).
TIE_TOLERANCE = 1e-5


def lowest_depth(depths: Sequence[int], target: float,
                 hits_at: Callable[[int], np.ndarray]) -> tuple[int, float, bool]:
    """The first of ``depths`` whose per-query recall (``hits_at(depth)``, one share per query) reaches
    ``target`` at the lower end of a two-sided 95% interval over the queries: ``(depth, mean recall, True)``;
    when none does, ``(the last depth, its recall, False)``."""
    recall, depth = 0.0, depths[-1]
    for depth in depths:
        per_query = np.asarray(hits_at(depth), dtype=np.float64)
        recall = float(per_query.mean())
        spread = 1.96 * float(per_query.std(ddof=1)) / np.sqrt(per_query.size) if per_query.size > 1 else 0.0
        if recall - spread >= target:
            return depth, recall, True
    return depth, recall, False


@dataclass(frozen=True)
class AnnParams:
    """HNSW parameters: ``m`` links per node, ``ef_construction`` build depth, ``ef`` search depth (raised
    to ``k`` when smaller), ``seed`` of the random levels, ``recall_target`` of the search.

    ``m`` None (the default): chosen by the vectors' dimension (:meth:`for_dim`).
    ``ef`` None (the default): each index searches at the lowest depth of :data:`EF_LADDER` whose recall@10
    against exact search, measured on :data:`CALIBRATION_QUERIES` of its own vectors when it is built, is
    at least ``recall_target`` with 97.5% confidence (:func:`calibrate_ef`). The depth a recall needs depends
    on the vectors: on 1M synthetic tracks with M=16, recall@10 0.95 took ef 128 at 64-d and ef 256-384 at
    128-d (``benchmarks/bench_ann.py``), so one fixed depth either misses the target at 128-d or makes
    64-d searches 2-3x slower than they need to be. A given ``ef`` is used as it is."""

    m: int | None = None
    ef_construction: int = 200
    ef: int | None = None
    seed: int = 1
    recall_target: float = 0.95

    def __post_init__(self) -> None:
        if min(self.m or 2, self.ef_construction, self.ef or 1) < 1 or (self.m or 2) < 2:
            raise ParameterError(f"ANN parameters must be positive (m >= 2), got {self}")
        if not 0.0 < self.recall_target <= 1.0:
            raise ParameterError(f"the ANN recall target must be in (0, 1], got {self.recall_target}")

    @classmethod
    def configured(cls, settings: Settings | None = None) -> AnnParams:
        """The defaults, with the recall target of ``MUSIM_ANN_RECALL`` (the settings' ``models`` section)."""
        recall = (settings or get_settings()).models.ann_recall
        if recall <= 0:
            raise ConfigError(f"MUSIM_ANN_RECALL must be above 0 (a recall@10 to search for), got {recall}")
        return cls(recall_target=recall)

    def for_dim(self, dim: int) -> AnnParams:
        """These parameters for vectors of ``dim`` dimensions: ``m`` None becomes 16 up to 64-d and 32 above.
        On 1M synthetic tracks at 128-d, M=16 needed ef 256 for recall@10 0.950 (one-query p50 1.84 ms) and
        M=32 gave 0.972 at ef 64 (1.04 ms), for a longer build and a 20% larger index; at 64-d M=16
        reaches 0.966 at ef 128 (``benchmarks/RESULTS.md``)."""
        return self if self.m is not None else replace(self, m=16 if dim <= 64 else 32)

    @property
    def tag(self) -> str:
        """The parameters in an object key: ``voyager-m16-efc200-s1`` (``m`` resolved by :meth:`for_dim`)."""
        if self.m is None:
            raise ParameterError("the ANN parameters' m is chosen by the vectors' dimension: use for_dim(dim)")
        return f"voyager-m{self.m}-efc{self.ef_construction}-s{self.seed}"


def calibrate_ef(index: Any, x: np.ndarray, params: AnnParams, k: int = 10) -> int:
    """The lowest depth of :data:`EF_LADDER` at which the Voyager ``index`` of the unit rows ``x`` finds
    the top ``k`` of a seeded sample of its own rows with recall at least ``params.recall_target``, at the
    lower end of a two-sided 95% interval over the queries. A result counts when it is as similar as the
    exact ``k``-th neighbour (ties at the boundary are not misses). The last depth, with a warning, when
    none does."""
    n = x.shape[0]
    k = min(k, n)
    rng = np.random.default_rng([params.seed, 0xEF])  # not a benchmark's sample of the same rows
    q = x[np.sort(rng.choice(n, size=min(CALIBRATION_QUERIES, n), replace=False))]
    kth = np.empty(q.shape[0], dtype=np.float32)
    step = max(1, 2**25 // n)  # ~128 MB of scores at a time
    for s in range(0, q.shape[0], step):
        sims = q[s:s + step] @ x.T
        kth[s:s + step] = -np.partition(-sims, k - 1, axis=1)[:, k - 1]

    def hits_at(ef: int) -> np.ndarray:
        _, dist = index.query(q, k=k, num_threads=-1, query_ef=ef)
        sims = 1.0 - np.asarray(dist, dtype=np.float32).reshape(q.shape[0], k)
        return (sims >= kth[:, None] - TIE_TOLERANCE).mean(axis=1)

    depths = [e for e in EF_LADDER if e >= k] or [max(EF_LADDER[-1], k)]
    ef, recall, reached = lowest_depth(depths, params.recall_target, hits_at)
    if not reached:
        log.warning("ANN index of %d vectors: recall@%d %.3f at the deepest search (ef %d), under the target %.3f",
                    n, k, recall, ef, params.recall_target)
    return ef


def search_mode(n: int, mode: str | None = None, settings: Settings | None = None) -> str:
    """``"exact"`` or ``"ann"`` for a catalogue of ``n`` vectors: ``mode`` (else ``MUSIM_AUDIO_SEARCH``, else
    ``auto``); ``auto`` is ``ann`` from ``MUSIM_ANN_MIN_TRACKS`` vectors on (the settings' ``models`` section)."""
    chosen = (mode or "").strip().lower()
    if chosen and chosen not in SEARCH_MODES:
        raise ConfigError(f"search must be one of {', '.join(SEARCH_MODES)}, got {chosen!r}")
    if chosen in ("exact", "ann"):
        return chosen
    models = (settings or get_settings()).models
    chosen = chosen or models.audio_search
    if chosen == "auto":
        return "ann" if n >= models.ann_min_tracks else "exact"
    return chosen


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, float32 (zero rows stay zero)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


class AnnIndex:
    """A cosine HNSW index over the rows of an embedding matrix (ids = row positions)."""

    def __init__(self, index: Any, params: AnnParams) -> None:
        self.index = index
        self.params = params

    @classmethod
    def build(cls, embeddings: np.ndarray, *, params: AnnParams | None = None, threads: int = -1) -> AnnIndex:
        """Index ``embeddings`` ``(n, d)`` (rows L2-normalised; zero rows stay zero)."""
        import voyager

        x = unit_rows(embeddings)
        if x.ndim != 2 or x.shape[0] == 0 or not np.all(np.isfinite(x)):
            raise ParameterError(f"an ANN index needs a finite (n > 0, d) matrix, got shape {x.shape}")
        params = (params or AnnParams.configured()).for_dim(x.shape[1])
        index = voyager.Index(voyager.Space.Cosine, x.shape[1], M=params.m, ef_construction=params.ef_construction,
                              random_seed=params.seed, max_elements=x.shape[0])
        index.add_items(x, np.arange(x.shape[0], dtype=np.int64), num_threads=threads)
        built = cls(index, params)
        built.tune(params, x, unit=True)
        return built

    def tune(self, params: AnnParams, embeddings: np.ndarray, *, unit: bool = False) -> None:
        """Search with ``params``: at their ``ef``, or, when it is None, at the depth :func:`calibrate_ef`
        finds on ``embeddings`` (the vectors this index holds, in its row order; ``unit``: already L2-normalised)."""
        params = params.for_dim(self.dim)
        if params.ef is None:
            x = embeddings if unit else unit_rows(embeddings)
            params = replace(params, ef=calibrate_ef(self.index, x, params))
        self.params = params
        self.index.ef = params.ef

    @property
    def n(self) -> int:
        return int(self.index.num_elements)

    @property
    def dim(self) -> int:
        return int(self.index.num_dimensions)

    def search(self, queries: np.ndarray, k: int, *, ef: int | None = None,
               threads: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows of each query: ``(positions (q, k') int64, cosine similarity (q, k')
        float64)``, best first, ``k' = min(k, n)``."""
        q = unit_rows(np.atleast_2d(queries))
        if q.shape[1] != self.dim:
            raise ParameterError(f"queries have {q.shape[1]} dimensions, the index {self.dim}")
        kk = min(int(k), self.n)
        if kk < 1 or q.shape[0] == 0:
            return np.zeros((q.shape[0], 0), dtype=np.int64), np.zeros((q.shape[0], 0))
        ids, dist = self.index.query(q, k=kk, num_threads=threads, query_ef=max(ef or self.params.ef, kk))
        return (np.asarray(ids, dtype=np.int64).reshape(q.shape[0], kk),
                1.0 - np.asarray(dist, dtype=np.float64).reshape(q.shape[0], kk))

    def save(self, path: str | Path) -> None:
        self.index.save(str(path))

    @classmethod
    def load(cls, path: str | Path, params: AnnParams) -> AnnIndex:
        import voyager

        if params.ef is None:
            raise ParameterError("a loaded ANN index needs the search depth it was calibrated to (its params' ef)")
        index = voyager.Index.load(str(path))
        index.ef = params.ef
        return cls(index, params)


def fingerprint(track_ids: Sequence[str], embeddings: np.ndarray) -> str:
    """sha256 of the ids (newline-joined) and the float32 embeddings: what an index was built from."""
    h = hashlib.sha256("\n".join(map(str, track_ids)).encode())
    h.update(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(16 * 2**20):
            h.update(chunk)
    return h.hexdigest()


def index_key(family: str, version: str, params: AnnParams, track_ids: Sequence[str],
              embeddings: np.ndarray) -> str:
    """``models/<family>/<version>/ann/<params>-<fingerprint[:16]>.voy``."""
    from musim.models.registry import object_prefix

    tag = params.for_dim(np.asarray(embeddings).shape[1]).tag
    return f"{object_prefix(family, version)}ann/{tag}-{fingerprint(track_ids, embeddings)[:16]}.voy"


def stored_index(store: ObjectStore, entry: Mapping[str, Any] | None, key: str,
                 track_ids: Sequence[str]) -> AnnIndex | None:
    """The index a previous publication stored (its manifest ``entry``) if it is the one ``key`` names
    (same vectors and parameters) and loads cleanly; else None (then build it)."""
    if not entry or entry.get("key") != key:
        return None
    found = load_index(store, entry)
    if found is None or found[1] != [str(t) for t in track_ids]:
        return None
    return found[0]


def save_index(store: ObjectStore, family: str, version: str, index: AnnIndex, track_ids: Sequence[str],
               embeddings: np.ndarray) -> dict[str, Any]:
    """Store ``index`` (built on ``embeddings``, rows = ``track_ids``) next to the model version; returns
    the manifest entry (``key``, ``ids_key``, ``sha256``, ``params``, ``tracks``, ``dim``). The same vectors
    and parameters give the same key (a rebuild replaces the object atomically; its sha256 is the entry's)."""
    from musim.config import get_settings

    ids = [str(t) for t in track_ids]
    if len(ids) != index.n:
        raise ParameterError(f"{len(ids)} track ids for an index of {index.n} vectors")
    key = index_key(family, version, index.params, ids, embeddings)
    base = key.removesuffix(".voy")
    entry: dict[str, Any] = {"library": "voyager", "key": key, "ids_key": base + ".ids.json",
                             "params": asdict(index.params), "tracks": index.n, "dim": index.dim}
    tmp_dir = get_settings().tmp_dir
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_dir) as tmp:
        path = Path(tmp) / "index.voy"
        index.save(path)
        entry["sha256"] = _file_sha256(path)
        # ids first: the index is never readable without its mapping
        store.put_bytes(entry["ids_key"], json.dumps(ids).encode(), content_type="application/json")
        store.put_file(entry["key"], path, content_type="application/octet-stream")
    return entry


def load_index(store: ObjectStore, entry: Mapping[str, Any] | None) -> tuple[AnnIndex, list[str]] | None:
    """The index and its row → track id mapping described by a manifest ``entry`` (cached per process), or
    None, with a warning naming the object, when it is missing, corrupt or does not match its entry (the
    caller then searches exactly)."""
    if not entry:
        return None
    key = str(entry.get("key"))
    cache_key = (f"{store!r} {key}", str(entry.get("sha256")))
    if cache_key in _cache:
        _cache.move_to_end(cache_key)
        return _cache[cache_key]
    from musim.config import get_settings

    try:
        params = AnnParams(**dict(entry["params"]))
        ids = [str(t) for t in store.get_json(str(entry["ids_key"]))]
        tmp_dir = get_settings().tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tmp_dir) as tmp:
            path = Path(tmp) / "index.voy"
            store.download(key, path)
            digest = _file_sha256(path)
            if digest != entry.get("sha256"):
                raise ValueError(f"sha256 {digest[:12]}… differs from the manifest's {str(entry.get('sha256'))[:12]}…")
            index = AnnIndex.load(path, params)
        if index.n != len(ids) or index.n != int(entry.get("tracks", -1)) or index.dim != int(entry.get("dim", -1)):
            raise ValueError(f"{index.n} vectors of {index.dim} dimensions, {len(ids)} ids; the manifest says "
                             f"{entry.get('tracks')} x {entry.get('dim')}")
    except Exception as exc:  # noqa: BLE001 - any unreadable index means: search exactly, and say so
        log.warning("ANN index %s unusable (%s: %s): searching exactly instead; republish the version's "
                    "embeddings to rebuild it", key, type(exc).__name__, exc)
        return None
    _cache[cache_key] = (index, ids)
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return _cache[cache_key]


def cached_index(name: str, embeddings: np.ndarray, track_ids: Sequence[str], *,
                 params: AnnParams | None = None) -> tuple[AnnIndex, list[str]]:
    """An index of ``embeddings`` built once per process under ``name`` (a forced ANN search of a version
    published without one)."""
    key = ("built", name)
    if key not in _cache:
        _cache[key] = (AnnIndex.build(embeddings, params=params), [str(t) for t in track_ids])
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    _cache.move_to_end(key)
    return _cache[key]


def clear_cache() -> None:
    """Forget the loaded indexes (tests; a process that wants to re-read the store)."""
    _cache.clear()
