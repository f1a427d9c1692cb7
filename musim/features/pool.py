"""Step 2 of a feature build (no warehouse): decode each preview once and compute every wanted extractor in the
one process pool of the audio path (:func:`audio_pool`, through :func:`compute`), then the rows to record
(:func:`rows_of`). Work on files outside the store uses the same pool through :func:`musim.audio.batch.pool_map`."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import hashlib
import io
import logging
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musim.audio.batch import default_workers, imap_surviving, process_pool
from musim.errors import AudioError, ParameterError
from musim.features.params import Extractor
from musim.features.work import MISSING_OBJECT, BuildOptions, ItemResult, WorkItem
from musim.storage import ObjectNotFound, ObjectStore, validate_key
from musim.storage.local import LocalStore

log = logging.getLogger(__name__)

__all__ = ["audio_pool", "compute", "rows_of", "warm_up"]

# -- 2. compute ----------------------------------------------------------------------------------------
def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _extract(data: bytes | str, key: str, offset_s: float, duration_s: float | None,
             extractors: tuple[Extractor, ...], min_duration_s: float,
             silence_db: float | None) -> dict[str, Any]:
    """Worker: decode once per rate, compute every extractor. Returns outputs or the rejection reason."""
    from musim.audio import descriptor_vector, descriptors, load_audio, log_mel, slices
    from musim.library.formats import FileSkipped, canonical_reason, probe

    try:  # the library's checks and words: empty, not_audio, undecodable, truncated
        probe(data, min_seconds=0.0, key=key)
    except FileSkipped as exc:
        return {"reject": (exc.reason, exc.detail or str(exc))}
    decoded: dict[int, np.ndarray] = {}
    try:
        for ex in extractors:
            if ex.sr not in decoded:
                decoded[ex.sr], _ = load_audio(data, sr=ex.sr, offset=offset_s, duration=duration_s, key=key,
                                               min_duration=min_duration_s, silence_db=silence_db)
    except AudioError as exc:
        return {"reject": (canonical_reason(getattr(exc, "reason", "undecodable")),
                           getattr(exc, "detail", str(exc)) or str(exc))}
    outputs: dict[str, dict[str, Any]] = {}
    for ex in extractors:
        y = decoded[ex.sr]
        if ex.is_tensor:
            arr = log_mel(y, params=ex.params) if ex.kind == "log_mel" else slices(y, params=ex.params)
            a16 = arr.astype(np.float16)
            outputs[ex.params_hash] = {
                "npy": _npy(a16), "shape": list(a16.shape), "dtype": str(a16.dtype),
                "min_db": float(a16.min()) if a16.size else 0.0, "max_db": float(a16.max()) if a16.size else 0.0}
        else:
            d = descriptors(y, sr=ex.sr)
            outputs[ex.params_hash] = {"vec": descriptor_vector(d).tolist(), "tonic_pc": int(d["tonic_pc"]),
                                       "key_name": str(d["key_name"])}
    return {"outputs": outputs}


_WARM: set[str] = set()


def warm_up(extractors: Sequence[Extractor]) -> None:
    """Run every extractor once on a short noise clip in this process (once per process and extractor).

    Importing librosa's and scipy's submodules and loading numba's kernels costs seconds per process; a
    forked pool inherits all of it from a warm parent instead of paying it again in every worker.
    """
    todo = tuple(e for e in extractors if e.params_hash not in _WARM)
    if not todo:
        return
    import soundfile as sf

    sr = max(e.sr for e in todo)
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, int(1.5 * sr)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, noise, sr, format="WAV")
    _extract(buf.getvalue(), "warm-up", 0.0, None, todo, 0.0, None)
    _WARM.update(e.params_hash for e in todo)


def _store_outputs(store: ObjectStore, item: WorkItem, raw: dict[str, Any],
                   by_hash: dict[str, Extractor]) -> ItemResult:
    if "reject" in raw:
        return ItemResult(item, {}, tuple(raw["reject"]))  # type: ignore[arg-type]
    outputs = {}
    for h, out in raw["outputs"].items():
        ex = by_hash[h]
        if ex.is_tensor:
            npy = out.pop("npy")
            digest = hashlib.sha256(npy).hexdigest()
            key = ex.object_key(item.audio_id, digest)
            store.put_bytes(key, npy, content_type="application/octet-stream")
            out = {**out, "object_key": key, "bytes": len(npy)}
        outputs[h] = out
    return ItemResult(item, outputs)


def compute(items: Iterable[WorkItem], extractors: Sequence[Extractor], *, store: ObjectStore,
            options: BuildOptions | None = None, mp_context: str | None = None) -> Iterator[ItemResult]:
    """Compute and store the features of ``items``; yields one result per item, in completion order.

    The workers read each item's audio themselves, only the window they decode: a file of the local store by its
    path, an object of another store up to :data:`SMALL_OBJECT_BYTES` as bytes read here and a larger one (a whole
    local track of hours) through a scratch file under ``MUSIM_TMP``, removed once its item is done (:func:`_source`).
    At most ``4 * workers`` items are ahead of the pool, and no further one while the bytes and scratch files they
    hold weigh :data:`READ_AHEAD_BYTES`. Tensors come back as ``.npy`` bytes and are written here. A preview missing
    from the store is rejected as ``"missing object"`` (retried by the next build). A worker process that dies costs
    only the item that killed it (:func:`musim.audio.batch.imap_surviving`): rejected as :data:`WORKER_DIED`.
    """
    opts = options or BuildOptions()
    by_hash = {e.params_hash: e for e in extractors}
    n_workers = opts.workers or default_workers()
    limit = 4 * n_workers
    if isinstance(items, Sequence):
        if not items:
            return
        n_workers = min(n_workers, len(items))
    scratch: set[Path] = set()  # the scratch copies of the items in flight

    def job(item: WorkItem) -> _Job | ItemResult:
        missing = [h for h in item.extractors if h not in by_hash]
        if missing:
            raise ParameterError(f"work item {item.audio_id} needs extractors {missing} this run does not have")
        try:
            source, held, temp = _source(store, item.object_key)
        except ObjectNotFound as exc:
            return ItemResult(item, {}, (MISSING_OBJECT, str(exc)))
        if temp is not None:
            scratch.add(temp)
        exs = tuple(by_hash[h] for h in item.extractors)
        return _Job(item, (source, item.object_key, item.offset_s, item.duration_s, exs, opts.min_duration_s,
                           opts.silence_db), held, temp)

    missing: collections.deque[ItemResult] = collections.deque()  # previews not in the store: no work for the pool

    def jobs() -> Iterator[_Job]:
        for item in items:
            args = job(item)
            if isinstance(args, ItemResult):
                missing.append(args)
            else:
                yield args

    def died(j: _Job) -> dict[str, Any]:
        log.warning("%s: the process computing its features died again: rejected", j.item.object_key)
        return {"reject": WORKER_DIED}

    @contextlib.contextmanager
    def pool(n: int) -> Iterator[cf.Executor]:
        with audio_pool(n, mp_context=mp_context, warm=extractors) as p:
            yield p

    try:
        for _, j, raw in imap_surviving(_extract_job, jobs(), died=died, workers=n_workers, in_flight=limit,
                                        weight=_weight, budget=READ_AHEAD_BYTES, make_pool=pool, mp_context=mp_context,
                                        what="audio item"):
            _remove(j.temp, scratch)
            yield from _drain(missing)
            yield _store_outputs(store, j.item, raw, by_hash)
        yield from _drain(missing)
    finally:
        for temp in list(scratch):
            _remove(temp, scratch)


#: The rejection of audio whose worker process died computing it, twice (:func:`compute`).
WORKER_DIED = ("undecodable", "the process computing its features died abruptly, alone with it (a decoder crash on "
               "this file, or killed for memory)")

#: At most this many bytes of audio objects (read into memory, or copied to scratch files) are held ahead of the pool
#: (besides the one item always in flight): a whole local track of hours is held one or two at a time, not
#: ``4 * workers`` at once.
READ_AHEAD_BYTES = 256 * 2**20

#: An object of a store without local files (S3) up to this size is read into memory for its worker; a larger one is
#: copied to a scratch file the worker reads the window of (:func:`_source`).
SMALL_OBJECT_BYTES = 16 * 2**20


@dataclass(frozen=True)
class _Job:
    """One item for the pool: its work item, :func:`_extract`'s arguments, the bytes they hold here (read into memory
    or copied to ``temp``, a scratch file removed once the item is done)."""

    item: WorkItem
    args: tuple[Any, ...]
    held: int
    temp: Path | None


def _source(store: ObjectStore, key: str) -> tuple[bytes | str, int, Path | None]:
    """What a worker reads object ``key`` from, the bytes that holds here, and the scratch file to remove after.

    A file of a local store: its path (nothing held; the worker reads the window it decodes). Another store's object:
    its bytes up to :data:`SMALL_OBJECT_BYTES`, else a scratch copy under ``MUSIM_TMP`` (one request either way)."""
    if isinstance(store, LocalStore):
        path = store.root / validate_key(key)
        if not path.is_file():
            store.stat(key)  # ObjectNotFound naming it (or the store's own error)
        return str(path), 0, None
    with store.open(key) as fh:
        head = fh.read(SMALL_OBJECT_BYTES + 1)
        if len(head) <= SMALL_OBJECT_BYTES:
            return head, len(head), None
        from musim.config import get_settings

        tmp_dir = Path(get_settings().tmp_dir)
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="features-audio-", suffix=Path(key).suffix, dir=tmp_dir)  # read as the file
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(head)
                del head
                while chunk := fh.read(_CHUNK):
                    out.write(chunk)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    return str(temp), temp.stat().st_size, temp


_CHUNK = 8 * 2**20


def _remove(temp: Path | None, scratch: set[Path]) -> None:
    if temp is not None:
        temp.unlink(missing_ok=True)
        scratch.discard(temp)


def _weight(job: _Job) -> int:
    return job.held


def _extract_job(job: _Job) -> dict[str, Any]:
    return _extract(*job.args)


def _drain(results: collections.deque[ItemResult]) -> Iterator[ItemResult]:
    while results:
        yield results.popleft()


@contextlib.contextmanager
def audio_pool(n_workers: int, *, mp_context: str | None = None,
               warm: Sequence[Extractor] = ()) -> Iterator[cf.ProcessPoolExecutor]:
    """The audio path's process pool (:func:`musim.audio.batch.process_pool`) for the feature build.

    Where the workers are forked, ``warm``'s extractors run once here first (:func:`warm_up`), so that every
    worker inherits the imported modules and compiled kernels. Workers run numpy and librosa only, never
    TensorFlow (whose runtime does not survive a fork).
    """
    ctx = multiprocessing.get_context(mp_context) if mp_context else None
    if warm and (ctx.get_start_method() if ctx else multiprocessing.get_start_method()) == "fork":
        warm_up(warm)
    with process_pool(n_workers, mp_context=mp_context) as pool:
        yield pool


def rows_of(results: Iterable[ItemResult], extractors: Sequence[Extractor]) -> dict[str, list[dict[str, Any]]]:
    """Warehouse rows (without run id and time) of computed results: ``{"mel": [...], "desc": [...], "reject": [...]}``."""
    by_hash = {e.params_hash: e for e in extractors}
    rows: dict[str, list[dict[str, Any]]] = {"mel": [], "desc": [], "reject": []}
    for res in results:
        it = res.item
        for track_id in it.track_ids:
            for h in it.extractors:
                ex = by_hash[h]
                base = {"kind": ex.kind, "params_hash": h, "track_id": track_id, "sha256": it.sha256,
                        "audio_id": it.audio_id}
                if res.reject is not None:
                    rows["reject"].append({**base, "reason": res.reject[0], "detail": res.reject[1][:2000]})
                elif ex.is_tensor:
                    o = res.outputs[h]
                    rows["mel"].append({**base, "object_key": o["object_key"], "shape": o["shape"],
                                        "dtype": o["dtype"], "min_db": o["min_db"], "max_db": o["max_db"],
                                        "bytes": o["bytes"]})
                else:
                    o = res.outputs[h]
                    rows["desc"].append({**base, "vec": o["vec"], "tonic_pc": o["tonic_pc"],
                                         "key_name": o["key_name"]})
    return rows
