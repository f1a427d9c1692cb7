"""A local copy of many tracks' log-mels as one array, for fast ``tf.data`` input pipelines.

:func:`cache_log_mels` downloads the ``.npy`` objects of a tensor view for a set of tracks into one
``(N, frames, n_mels)`` float16 ``.npy`` file (open it as a memmap) plus a JSON index (track ids in row
order, object keys, parameters). The file name is a digest of the rows' object keys, so the same
selection is reused without any download, and a different one never overwrites it::

    cache = cache_log_mels(track_ids, con=con)
    x = cache.array()                      # np.memmap (N, 256, 64) float16
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(x))
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import io
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from musim import sql
from musim.config import get_settings
from musim.errors import ParameterError, StorageError
from musim.features.keys import entity_keys
from musim.features.registry import FeatureView, get_view
from musim.features.sources import load_latest, utc
from musim.scratch import temp_file
from musim.storage import ObjectStore, open_store

__all__ = ["MelCache", "cache_log_mels", "load_tensor"]


#: numpy parses a ``.npy`` header with ``ast.literal_eval``, and CPython 3.11's parser is not thread-safe:
#: parses on several threads at once can fail with "SystemError: AST constructor recursion depth mismatch"
#: (python/cpython#106905). Tensors are fetched on many threads; their few-microsecond decoding takes turns.
_DECODE = threading.Lock()
TMP_PREFIX = ".tmp-"
"""Files being written in a cache folder: ``.tmp-<pid>-<random>.npy``; a killed writer's are removed by the next."""


def load_tensor(store: ObjectStore, key: str) -> np.ndarray:
    """The array stored as ``.npy`` under ``key`` (float16, as written by extraction). Thread-safe."""
    data = store.get_bytes(key)
    try:
        with _DECODE:
            return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, EOFError) as exc:  # EOFError: empty
        raise StorageError(f"{store.url(key)} is not a valid .npy array: {exc}") from exc


@dataclass(frozen=True)
class MelCache:
    """A materialised local array and its index."""

    path: Path
    index_path: Path
    track_ids: tuple[str, ...]
    object_keys: tuple[str, ...]
    missing: tuple[str, ...]
    shape: tuple[int, ...]
    params_hash: str
    reused: bool

    def array(self, mmap: bool = True) -> np.ndarray:
        """The ``(N, frames, n_mels)`` float16 array (memory-mapped read-only by default)."""
        return np.load(self.path, mmap_mode="r" if mmap else None, allow_pickle=False)

    def row(self, track_id: str) -> int:
        """Row of ``track_id`` in :meth:`array`."""
        try:
            return self.track_ids.index(track_id)
        except ValueError:
            raise KeyError(track_id) from None


def _holds(path: Path, shape: tuple[int, ...]) -> bool:
    """Whether ``path`` is a whole float16 ``.npy`` of ``shape`` (a cut or overwritten file is built again)."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return False
    return arr.shape == shape and arr.dtype == np.float16


def _versions(store: ObjectStore, keys: Sequence[str], threads: int) -> list[str]:
    """The store's version token of each object (S3's ETag; locally size and mtime): it changes when the object is
    written again, whatever the warehouse's rows say (a recompute whose values' summary matched kept its row)."""
    def version(key: str) -> str:
        info = store.stat(key)
        return info.etag or info.sha256 or f"{info.size}-{info.modified}"

    if not keys:
        return []
    with cf.ThreadPoolExecutor(max_workers=max(1, min(threads, len(keys)))) as pool:
        return list(pool.map(version, keys))


def _digest(tracks: Sequence[str], object_keys: Sequence[str], versions: Sequence[str]) -> str:
    """The cache file's name: 20 hex of sha256 over ``track, object key, the object's version`` lines (values written
    again under the same key are another file)."""
    lines = (f"{t}\t{k}\t{v}" for t, k, v in zip(tracks, object_keys, versions, strict=True))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:20]


def _drop_outdated(base: Path, index_path: Path, tracks: Sequence[str], object_keys: Sequence[str]) -> None:
    """Remove the cache files of the same tracks and object keys made from older versions of the objects (written
    again since: no reader can want them), so each rewrite does not leave a whole array behind. Best effort."""
    for other in base.glob("*.json"):
        if other == index_path:
            continue
        try:
            doc = json.loads(other.read_text(encoding="utf-8"))
            if doc.get("track_ids") != list(tracks) or doc.get("object_keys") != list(object_keys):
                continue
            other.with_suffix(".npy").unlink(missing_ok=True)
            other.unlink(missing_ok=True)
        except (OSError, ValueError, AttributeError):  # unreadable, not an index, removed meanwhile: left as it is
            continue


def cache_log_mels(track_ids: Sequence[str], *, con: duckdb.DuckDBPyConnection, view: FeatureView | str | None = None,
                   store: ObjectStore | None = None, folder: str | os.PathLike[str] | None = None,
                   as_of: dt.datetime | str | None = None, threads: int = 8) -> MelCache:
    """Materialise the tensors of ``track_ids`` (view default: ``track_log_mel``) into one local ``.npy``.

    Tracks without a tensor in the view (not extracted, rejected, or only after ``as_of``) are left out
    and listed in ``missing``; rows follow the order of ``track_ids`` otherwise.

    Parameters
    ----------
    view : a tensor view, or a registered one's name (``"track_log_mel"``, ``"track_log_mel:1"``)
    folder : where cache files go (default ``$MUSIM_HOME/cache/features``)
    as_of : use the tensors available at this moment (default now)
    threads : parallel downloads
    """
    if view is None:
        from musim.features.definitions import track_log_mel

        view = track_log_mel
    elif isinstance(view, str):  # a registered view's name ("name" or "name:version"), as materialise() takes
        view = get_view(con, view)
    elif not isinstance(view, FeatureView):
        raise ParameterError(f"view must be a FeatureView or a registered view's name, got {type(view).__name__}")
    if view.kind != "tensor" or any(s is None for s in view.schema[0].shape):
        raise ParameterError(f"{view.ref} is not a fixed-shape tensor view")
    given = entity_keys(track_ids, False, what="track_ids")
    if None in given:
        raise ParameterError(f"track_ids has a missing id (None or NaN) at position {given.index(None)}")
    shape = tuple(int(s) for s in view.schema[0].shape)  # type: ignore[arg-type]
    store = store or open_store()
    load_latest(con, view, utc(as_of))
    keys = dict(sql.query(con, "features/latest_payloads.sql").fetchall())
    ids = list(dict.fromkeys(given))
    present = [t for t in ids if t in keys]
    missing = tuple(t for t in ids if t not in keys)
    object_keys = [keys[t] for t in present]
    base = Path(folder) if folder is not None else get_settings().home / "cache" / "features"
    base = base / (view.params_hash or view.name)
    base.mkdir(parents=True, exist_ok=True)
    digest = _digest(present, object_keys, _versions(store, object_keys, threads))
    path, index_path = base / f"{digest}.npy", base / f"{digest}.json"
    result = MelCache(path, index_path, tuple(present), tuple(object_keys), missing, (len(present), *shape),
                      view.params_hash or "", reused=True)
    if index_path.exists() and _holds(path, result.shape):
        return result
    with temp_file(base, TMP_PREFIX, ".npy") as tmp:
        if not present:  # a memmap cannot be empty
            np.save(tmp, np.zeros((0, *shape), dtype=np.float16))
            os.replace(tmp, path)
        out = None if not present else np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16,
                                                                  shape=(len(present), *shape))

        def fetch(i: int) -> None:
            arr = load_tensor(store, object_keys[i])
            if arr.shape != shape:
                raise StorageError(f"{object_keys[i]} has shape {arr.shape}, {view.ref} promises {shape}")
            out[i] = arr

        if out is not None:
            with cf.ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
                for f in [pool.submit(fetch, i) for i in range(len(present))]:
                    f.result()
            out.flush()
            del out
            os.replace(tmp, path)
    index: dict[str, Any] = {"view": view.ref, "params_hash": view.params_hash, "params": view.params,
                             "shape": [len(present), *shape], "dtype": "float16", "track_ids": present,
                             "object_keys": object_keys, "missing": list(missing),
                             "created_at": dt.datetime.now(dt.UTC).isoformat()}
    with temp_file(base, TMP_PREFIX, ".json") as tmp_index:
        tmp_index.write_text(json.dumps(index, indent=1, default=str), encoding="utf-8")
        os.replace(tmp_index, index_path)
    _drop_outdated(base, index_path, present, object_keys)
    return MelCache(path, index_path, tuple(present), tuple(object_keys), missing, (len(present), *shape),
                    view.params_hash or "", reused=False)
