"""Online retrieval: the latest vector of an entity in microseconds, from an in-process cache.

A view's latest values are published as one compact snapshot (:func:`publish_online`): an ``.npz`` with
the entity ids and a float32 matrix under ``$MUSIM_SERVING_DIR/online/<view>/``, made current by an atomic
pointer swap (like the serving snapshot, so readers never open the writer's warehouse). :class:`OnlineStore`
holds one snapshot in memory (a dict from id to row); :func:`lookup` keeps one per view and process and
picks up a newly published snapshot within ``refresh_s`` seconds.

    >>> lookup("artist_descriptors_mean", 42)          # np.ndarray (dim,) float32, or None
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
import zipfile
import zlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from musim import sql
from musim.config import Settings, get_settings, make_folder
from musim.errors import NotFoundError, ParameterError, StorageError
from musim.features.keys import entity_key, entity_keys
from musim.features.registry import FeatureView
from musim.features.sources import load_latest
from musim.params import whole_number
from musim.scratch import temp_file

__all__ = ["OnlineStore", "clear_cache", "commit_online", "lookup", "mend_online", "open_online",
           "point_online", "prune_online", "publish_online", "stage_online"]

log = logging.getLogger(__name__)

_SNAPSHOT = re.compile(r"^v(\d+)-\d{8}T\d{12}Z\.npz$")
#: Files being written (``scratch.temp_file``: swept when a killed writer left them).
TMP_PREFIX = ".tmp-"


@dataclass
class OnlineStore:
    """Latest vectors of one view, by entity id (ids are strings; artist ids may be given as int)."""

    view: str
    ids: np.ndarray
    matrix: np.ndarray
    names: tuple[str, ...]
    created_at: str | None = None
    #: The view's entity ("artist", "track"); None for a snapshot published before it was recorded. An artist
    #: store keys every id as the offline store does ("01", " 1 ", 1.0 and 1 are artist "1").
    entity: str | None = None
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.matrix = np.ascontiguousarray(self.matrix, dtype=np.float32)
        self.matrix.setflags(write=False)
        if self.matrix.ndim != 2 or self.matrix.shape[0] != len(self.ids):
            raise ParameterError(f"online store {self.view}: {len(self.ids)} ids for a matrix {self.matrix.shape}")
        self.index = {str(k): i for i, k in enumerate(self.ids.tolist())}
        self._integer = True if self.entity == "artist" else None

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, entity_id: object) -> bool:
        return entity_key(entity_id, self._integer) in self.index

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def get(self, entity_id: Any) -> np.ndarray | None:
        """The entity's vector (a read-only view, shape ``(dim,)``, float32), or None if it has none."""
        key = entity_key(entity_id, self._integer)
        i = None if key is None else self.index.get(key)
        return None if i is None else self.matrix[i]

    def get_many(self, entity_ids: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors (n, dim) float32, found (n,) bool)``; rows of unknown ids are NaN."""
        keys = entity_keys(entity_ids, self._integer, what="entity_ids")
        rows = np.array([-1 if k is None else self.index.get(k, -1) for k in keys], dtype=np.int64)
        found = rows >= 0
        out = np.full((len(rows), self.dim), np.nan, dtype=np.float32)
        out[found] = self.matrix[rows[found]]
        return out, found

    @classmethod
    def from_warehouse(cls, con: duckdb.DuckDBPyConnection, view: FeatureView,
                       as_of: dt.datetime | None = None) -> OnlineStore:
        """Load the latest values of a scalars or vector view from a warehouse connection."""
        if view.storage != "warehouse":
            raise ParameterError(f"{view.ref} is a tensor view: tensors are served from the object store")
        load_latest(con, view, as_of)
        rows = sql.query(con, "features/latest_payloads.sql").fetchall()
        newest = sql.query(con, "features/latest_created.sql").fetchone()[0]
        ids = np.array([r[0] for r in rows], dtype=str)
        mat = np.array([r[1] for r in rows], dtype=np.float32).reshape(len(rows), view.dim)
        names = tuple(f.name for f in view.schema) if view.kind == "scalars" else (view.schema[0].name,)
        return cls(view.ref, ids, mat, names, newest.isoformat() if newest else None, view.entity.name)

    def save(self, path: Path) -> None:
        """Write as ``.npz`` (atomically: a temp file, removed if the write fails, then a rename)."""
        with temp_file(path.parent, TMP_PREFIX, ".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, ids=self.ids.astype(str), matrix=self.matrix,
                         meta=np.array(json.dumps({"view": self.view, "names": list(self.names),
                                                   "created_at": self.created_at, "entity": self.entity})))
            os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> OnlineStore:
        """The snapshot at ``path``; :class:`StorageError` naming it and how to publish it again when it is damaged
        (cut short, overwritten)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                return cls(meta["view"], z["ids"], z["matrix"], tuple(meta["names"]), meta["created_at"],
                           meta.get("entity"))
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError, TypeError) as exc:
            how = ("`musim models publish VERSION` (the model version whose embeddings these are)"
                   if path.parent.name.endswith("_embedding") else "`musim features build`")
            unreadable = isinstance(exc, (zipfile.BadZipFile, EOFError)) or "pickled" in str(exc)  # numpy's guess
            why = "not an .npz archive" if unreadable else f"{type(exc).__name__}: {exc}"
            raise StorageError(f"the online snapshot {path} is damaged ({why}): publish it again with {how}") from None


def _folder(settings: Settings, name: str) -> Path:
    if not isinstance(name, str) or not name.isidentifier() or "__" in name:
        raise ParameterError(f"{name!r} is not a feature view's name (an identifier such as "
                             "artist_descriptors_mean; `musim features list` shows them)")
    return settings.serving_dir / "online" / name


def _published_versions(folder: Path) -> list[int]:
    """The versions with a current-snapshot pointer in ``folder`` (``v<N>.current``)."""
    found = (re.fullmatch(r"v(\d+)\.current", p.name) for p in folder.iterdir()) if folder.is_dir() else ()
    return sorted(int(m.group(1)) for m in found if m)


def _write_pointer(path: Path, text: str) -> None:
    with temp_file(path.parent, TMP_PREFIX) as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def publish_online(con: duckdb.DuckDBPyConnection, view: FeatureView, *, settings: Settings | None = None,
                   keep: int = 2) -> Path:
    """Publish the latest values of ``view`` as the current online snapshot of its version; return its path
    (:func:`stage_online`, then :func:`commit_online`)."""
    return commit_online(stage_online(con, view, settings=settings), keep=keep)


def stage_online(con: duckdb.DuckDBPyConnection, view: FeatureView, *, settings: Settings | None = None) -> Path:
    """Write the latest values of ``view`` as a new snapshot file of its own name (``v<N>-<utc stamp>.npz``)
    and make nothing current: readers see it only once :func:`commit_online` moves the pointers to it. A writer
    whose commit point is elsewhere (:func:`musim.models.serve.publish_neighbors`: the neighbour rows) stages
    first and commits after it, so a publish killed or failed in between leaves every reader on the last
    committed snapshot (the staged file is pruned by a later publish of the version)."""
    settings = settings or get_settings()
    store = OnlineStore.from_warehouse(con, view)
    folder = make_folder(_folder(settings, view.name), "MUSIM_SERVING_DIR (or MUSIM_HOME)")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"v{view.version}-{stamp}.npz"
    store.save(path)
    return path


def commit_online(path: Path, *, keep: int | None = 2, keep_files: Collection[str] | None = None) -> Path:
    """Make the staged snapshot ``path`` (:func:`stage_online`) the current one of its version, and ``latest``
    the newest version with a current snapshot; then prune the version's files (:func:`prune_online`: never
    ``path``; ``keep=None`` removes nothing). Return ``path``."""
    m = _SNAPSHOT.fullmatch(path.name)
    if m is None or not path.is_file():
        raise StorageError(f"{path} is no staged online snapshot (v<N>-<stamp>.npz): publish the view again")
    folder, version = path.parent, int(m.group(1))
    _write_pointer(folder / f"v{version}.current", path.name)
    # The newest published version, from the pointers themselves: a damaged `latest` is mended, not trusted.
    _write_pointer(folder / "latest", str(max(_published_versions(folder))))
    if keep is not None:
        prune_online(path, keep=keep, keep_files=keep_files)
    return path


def prune_online(path: Path, *, keep: int = 2, keep_files: Collection[str] | None = None) -> list[Path]:
    """Remove the files of the version of ``path`` (a snapshot file of a view's folder) but ``path`` itself, the one
    the version's pointer names, the newest ``keep`` and those named in ``keep_files`` (file names in that folder:
    what the kept serving snapshots record, :func:`musim.models.serve.commit_staged`; None for a view no snapshot
    records, e.g. a feature view); return the paths removed. Called after the commit: a failure only warns (the
    files stay for the next publish of the version)."""
    m = _SNAPSHOT.fullmatch(path.name)
    if m is None:
        return []
    folder, version = path.parent, int(m.group(1))
    removed: list[Path] = []
    try:
        try:
            current = (folder / f"v{version}.current").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            current = None
        files = sorted(p for p in folder.iterdir() if (f := _SNAPSHOT.match(p.name)) and int(f.group(1)) == version)
        stays = {path.name, current, *(keep_files or ()), *(p.name for p in files[-max(keep, 1):])}
    except Exception as exc:  # noqa: BLE001 - committed: a pruning failure only warns
        log.warning("%s: pruning the old online snapshots of version %d failed: %s: %s (they stay; the next publish "
                    "of the version tries again)", folder, version, type(exc).__name__, exc)
        return []
    for p in files:
        if p.name in stays:
            continue
        try:
            p.unlink(missing_ok=True)
        except OSError as exc:  # the others still go
            log.warning("%s: the old online snapshot %s could not be removed (%s: %s): it stays (the next publish "
                        "of the version tries again)", folder, p.name, type(exc).__name__, exc)
            continue
        removed.append(p)
    return removed


def mend_online(name: str, version: int, file_name: str, *, settings: Settings | None = None) -> bool:
    """Point version ``version`` of view ``name`` at its snapshot ``file_name`` (the one its writer's commit point
    recorded) when the pointer names another file, is missing or damaged, and the file is there; return whether a
    pointer moved. What a publish killed after its commit point but before :func:`commit_online` left is mended so."""
    path = _folder(settings or get_settings(), name) / file_name
    try:
        current = (path.parent / f"v{version}.current").read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        current = None
    if current == file_name or _SNAPSHOT.fullmatch(file_name) is None or not path.is_file():
        return False
    commit_online(path, keep=None)
    return True


def point_online(name: str, version: int, file_name: str, *, latest: int,
                 settings: Settings | None = None) -> bool | None:
    """Point version ``version`` of view ``name`` at its snapshot ``file_name`` and ``latest`` at version ``latest``
    (what a serving snapshot served again records: :func:`musim.models.serve.align_online_pointers`), each only
    where it names something else; removes nothing. Returns whether a pointer moved, or None when ``file_name`` is
    no snapshot of the folder (removed since: nothing moves)."""
    folder = _folder(settings or get_settings(), name)
    if _SNAPSHOT.fullmatch(file_name) is None or not (folder / file_name).is_file():
        return None
    moved = False
    for pointer, text in ((folder / f"v{version}.current", file_name), (folder / "latest", str(latest))):
        try:
            now = pointer.read_text(encoding="utf-8").strip()
        except (OSError, ValueError):
            now = None
        if now != text:
            _write_pointer(pointer, text)
            moved = True
    return moved


def _current_file(settings: Settings, name: str, version: int | None) -> Path:
    folder = _folder(settings, name)
    if version is not None:
        number = None if isinstance(version, bool) else whole_number(str(version), max_digits=9)
        if not number:
            raise ParameterError(f"{name}: version {version!r} is no view version (a whole number from 1, e.g. "
                                 f"{name}:1); `musim features list` shows the versions")
        version = number
    pointer = folder / ("latest" if version is None else f"v{version}.current")
    try:
        if version is None:
            text = pointer.read_text(encoding="utf-8").strip()
            if whole_number(text) is None:
                raise ValueError(text)
            pointer = folder / f"v{whole_number(text)}.current"
        target = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        _refuse_unservable(folder, name)
        what = name if version is None else f"{name}:{version}"
        raise NotFoundError(f"no online snapshot of {what} under {folder.parent}: run `musim features build` "
                            "(or the audio_features DAG) first") from None
    except (ValueError, OSError):  # not a number, not text, a folder
        raise StorageError(f"the online pointer {pointer} is damaged: publish the view again with "
                           f"`musim features build` (embeddings: `musim models publish VERSION`)") from None
    if not _SNAPSHOT.fullmatch(target) or not (folder / target).is_file():
        raise StorageError(f"the online pointer {pointer} names {target!r}, which is no snapshot of the folder: "
                           "publish the view again with `musim features build` (embeddings: `musim models publish "
                           "VERSION`)")
    return folder / target


def _refuse_unservable(folder: Path, name: str) -> None:
    """Nothing published under ``folder`` for view ``name``: say so when the name is of no servable view (a view
    of the code's definitions that is not a tensor one, or one with snapshots published, e.g. a model's embedding)."""
    from musim.features.definitions import VIEWS

    defined = {v.name: v for v in VIEWS}
    if name in defined and defined[name].kind == "tensor":
        raise ParameterError(f"{name} is a tensor view, never served online: tensor views are read from the object "
                             "store (load_tensor)")
    if name in defined or folder.is_dir():
        return
    root = folder.parent
    published = {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()
    known = sorted({n for n, v in defined.items() if v.kind != "tensor"} | published)
    raise NotFoundError(f"unknown view {name} (known: {', '.join(known)}); a model's embedding view is served once "
                        "`musim models publish VERSION` published it")


def open_online(name: str, version: int | None = None, *, settings: Settings | None = None) -> OnlineStore:
    """Load the current published snapshot of view ``name`` (the latest published version when None)."""
    return OnlineStore.load(_current_file(settings or get_settings(), name, version))


@dataclass
class _Cached:
    store: OnlineStore
    path: Path
    checked: float


_CACHE: dict[tuple[Any, ...], _Cached] = {}
_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every loaded snapshot (the next lookup loads again)."""
    with _LOCK:
        _CACHE.clear()


def online_store(name: str, version: int | None = None, *, refresh_s: float = 2.0,
                 settings: Settings | None = None) -> OnlineStore:
    """The cached snapshot of ``name``; checks for a newer one at most every ``refresh_s`` seconds."""
    # Keyed by what decides the serving folder, so a hit costs no settings parsing (~0.1 ms).
    key: tuple[Any, ...] = (name, version, settings.serving_dir if settings else None,
                            os.environ.get("MUSIM_SERVING_DIR"), os.environ.get("MUSIM_HOME"),
                            None if os.environ.get("MUSIM_HOME") else os.getcwd())
    now = time.monotonic()
    hit = _CACHE.get(key)
    if hit is not None and now - hit.checked < refresh_s:
        return hit.store
    settings = settings or get_settings()
    with _LOCK:
        hit = _CACHE.get(key)
        path = _current_file(settings, name, version)
        if hit is None or hit.path != path:
            hit = _Cached(OnlineStore.load(path), path, now)
            _CACHE[key] = hit
        else:
            hit.checked = now
        return hit.store


def lookup(name: str, entity_id: Any, *, version: int | None = None, refresh_s: float = 2.0) -> np.ndarray | None:
    """The latest published vector of ``entity_id`` in view ``name`` (float32, read-only), or None."""
    return online_store(name, version, refresh_s=refresh_s).get(entity_id)
