"""Step 2 of a feature build (no warehouse): decode each preview once and compute every wanted extractor in the
one process pool of the audio path (:func:`audio_pool`, through :func:`compute`), then the rows to record
(:func:`rows_of`). Work on files outside the store uses the same pool through :func:`musim.audio.batch.pool_map`."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import io
import logging
import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from musim.audio.batch import default_workers, imap_unordered, process_pool
from musim.errors import AudioError, ParameterError
from musim.features.params import Extractor
from musim.features.work import MISSING_OBJECT, BuildOptions, ItemResult, WorkItem
from musim.storage import ObjectNotFound, ObjectStore

log = logging.getLogger(__name__)

__all__ = ["audio_pool", "compute", "rows_of", "warm_up"]

# -- 2. compute ----------------------------------------------------------------------------------------
def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _extract(data: bytes, key: str, offset_s: float, duration_s: float | None,
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
            key = ex.object_key(item.audio_id)
            store.put_bytes(key, npy, content_type="application/octet-stream")
            out = {**out, "object_key": key, "bytes": len(npy)}
        outputs[h] = out
    return ItemResult(item, outputs)


def compute(items: Iterable[WorkItem], extractors: Sequence[Extractor], *, store: ObjectStore,
            options: BuildOptions | None = None, mp_context: str | None = None) -> Iterator[ItemResult]:
    """Compute and store the features of ``items``; yields one result per item, in completion order.

    Previews are read from ``store`` in this process (at most ``4 * workers`` ahead of the pool, and no further one
    while those weigh :data:`READ_AHEAD_BYTES`) and sent
    to the workers as bytes; tensors come back as ``.npy`` bytes and are written here. A preview missing
    from the store is rejected as ``"missing object"`` (retried by the next build).
    """
    opts = options or BuildOptions()
    by_hash = {e.params_hash: e for e in extractors}
    n_workers = opts.workers or default_workers()
    limit = 4 * n_workers
    if isinstance(items, Sequence):
        if not items:
            return
        n_workers = min(n_workers, len(items))

    def job(item: WorkItem) -> tuple[Any, ...] | ItemResult:
        missing = [h for h in item.extractors if h not in by_hash]
        if missing:
            raise ParameterError(f"work item {item.audio_id} needs extractors {missing} this run does not have")
        try:
            data = store.get_bytes(item.object_key)
        except ObjectNotFound as exc:
            return ItemResult(item, {}, (MISSING_OBJECT, str(exc)))
        exs = tuple(by_hash[h] for h in item.extractors)
        return (data, item.object_key, item.offset_s, item.duration_s, exs, opts.min_duration_s, opts.silence_db)

    missing: collections.deque[ItemResult] = collections.deque()  # previews not in the store: no work for the pool
    sent: list[WorkItem] = []  # what the pool was given, by index
    todo = iter(items)  # consumed once, across the pools a worker's death makes

    def jobs() -> Iterator[tuple[Any, ...]]:
        for item in todo:
            args = job(item)
            if isinstance(args, ItemResult):
                missing.append(args)
            else:
                sent.append(item)
                yield args

    def run(pool: cf.Executor | None, done: set[int]) -> Iterator[ItemResult]:
        base = len(sent)
        for i, raw in imap_unordered(_extract_packed, jobs(), workers=n_workers, in_flight=limit, pool=pool,
                                     weight=_bytes_of, budget=READ_AHEAD_BYTES):
            done.add(base + i)
            yield from _drain(missing)
            yield _store_outputs(store, sent[base + i], raw, by_hash)
        yield from _drain(missing)

    if n_workers == 1:
        yield from run(None, set())
        return
    done: set[int] = set()
    while True:
        try:
            with audio_pool(n_workers, mp_context=mp_context, warm=extractors) as pool:
                yield from run(pool, done)
            return
        except cf.BrokenExecutor:
            # A worker died (a decoder that crashed on one file, or the kernel's out-of-memory killer): every item in
            # flight is lost with it, and which one killed it is unknown. Each is computed again alone in a fresh
            # process; one that kills that too is rejected (a file that crashes its decoder would stop every build
            # again), the others are kept; then a new pool goes on with the items not yet sent.
            lost = [i for i in range(len(sent)) if i not in done]
            log.warning("a feature worker process died abruptly with %d audio item(s) in flight: computing each "
                        "again alone", len(lost))
            for i in lost:
                done.add(i)
                args = job(sent[i])
                if isinstance(args, ItemResult):  # its preview is gone meanwhile
                    yield args
                else:
                    yield _store_outputs(store, sent[i], _alone(args, mp_context), by_hash)
            yield from _drain(missing)


#: The rejection of audio whose worker process died computing it, twice (:func:`compute`).
WORKER_DIED = ("undecodable", "the process computing its features died abruptly, alone with it (a decoder crash on "
               "this file, or killed for memory)")


def _alone(args: tuple[Any, ...], mp_context: str | None) -> dict[str, Any]:
    """:func:`_extract` of one item in a process of its own; the rejection :data:`WORKER_DIED` when that dies."""
    try:
        with process_pool(1, mp_context=mp_context) as pool:
            return pool.submit(_extract_packed, args).result()
    except cf.BrokenExecutor:
        log.warning("%s: the process computing its features died again: rejected", args[1])
        return {"reject": WORKER_DIED}


#: At most this many bytes of audio objects are read ahead of the pool (besides the one item always in flight): a
#: whole local track of hours (a WAV of a gigabyte) is held one or two at a time, not ``4 * workers`` at once.
READ_AHEAD_BYTES = 256 * 2**20


def _bytes_of(args: tuple[Any, ...]) -> int:
    return len(args[0])


def _extract_packed(args: tuple[Any, ...]) -> dict[str, Any]:
    return _extract(*args)


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
