"""Batch log-mel extraction over many previews, on all cores.

Each worker process decodes, resamples and computes the log-mel of one file at a time; results stream back
as they finish, tagged with their input index. Bad audio does not stop the batch: it comes back as the
:class:`~musim.audio.io.BadAudioError` (an AudioError) in place of the array.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from musim.audio.io import AudioSource, load_audio
from musim.audio.mel import MelParams, log_mel
from musim.errors import AudioError, ParameterError

__all__ = ["compute_log_mels", "default_workers", "log_mel_of"]


def default_workers() -> int:
    """Number of CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def log_mel_of(source: AudioSource, *, params: MelParams, key: str | None = None,
               load_kwargs: Mapping[str, Any] | None = None) -> np.ndarray:
    """Decode one source at ``params.sr`` and return its log-mel, shape ``(frames, n_mels)``, float32.

    Raises AudioError for bad audio (see :func:`musim.audio.load_audio`).
    """
    kwargs = dict(load_kwargs or {})
    kwargs.setdefault("key", key)
    y, _ = load_audio(source, sr=params.sr, **kwargs)
    return log_mel(y, params=params)


def _work(index: int, source: AudioSource, params: MelParams,
          load_kwargs: Mapping[str, Any] | None) -> tuple[int, np.ndarray | AudioError]:
    key = None if isinstance(source, (str, os.PathLike)) else f"item {index}"
    if load_kwargs and "key" in load_kwargs:
        key = load_kwargs["key"]
    try:
        return index, log_mel_of(source, params=params, key=key,
                                 load_kwargs={k: v for k, v in (load_kwargs or {}).items() if k != "key"})
    except AudioError as exc:
        return index, exc


def _init_worker() -> None:
    # One BLAS/OpenMP thread per worker: the pool is the parallelism, threads would only oversubscribe.
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # noqa: BLE001 - best effort; threadpoolctl is optional
        pass


def compute_log_mels(
    sources: Iterable[AudioSource],
    *,
    params: MelParams | None = None,
    workers: int | None = None,
    load_kwargs: Mapping[str, Any] | None = None,
    mp_context: str | None = None,
    max_in_flight: int | None = None,
) -> Iterator[tuple[int, np.ndarray | AudioError]]:
    """Log-mel spectrograms of many audio sources, computed by a pool of worker processes.

    Parameters
    ----------
    sources : iterable of path, bytes or binary file object
        Consumed lazily (at most ``max_in_flight`` items are pending at once), so a generator of downloaded
        previews works. Bytes are sent to the workers; paths are opened there.
    params : MelParams
        The feature definition (default ``MelParams()``); audio is decoded at ``params.sr``.
    workers : int or None
        Worker processes; default: every CPU this process may use. ``1`` computes in this process, with no
        pool (for debugging and for callers that are already parallel).
    load_kwargs : mapping or None
        Extra keyword arguments for :func:`musim.audio.load_audio` (``offset``, ``duration``, ``channel``,
        ``min_duration``, ``silence_db``, ...), the same for every item.
    mp_context : str or None
        Multiprocessing start method (``"fork"``, ``"forkserver"``, ``"spawn"``); default: the platform's.
        Fork starts fastest and inherits warmed-up imports; prefer ``"forkserver"`` from a threaded
        process.
    max_in_flight : int or None
        Bound on submitted-but-unfinished items (default ``4 * workers``).

    Yields
    ------
    index : int
        Position of the item in ``sources``.
    result : np.ndarray [shape=(frames, n_mels), dtype=float32] or AudioError
        The log-mel, or the error that made the item unusable (it names the path, or ``"item <index>"``
        for bytes and streams unless ``load_kwargs`` gives a ``key``). Items come in completion order.

    Raises
    ------
    ParameterError
        For a bad ``workers`` or ``params``. Any error other than AudioError raised in a worker is
        re-raised here.
    """
    p = MelParams() if params is None else params
    if not isinstance(p, MelParams):
        raise ParameterError(f"params must be a MelParams, got {type(p).__name__}")
    n_workers = default_workers() if workers is None else workers
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ParameterError(f"workers must be a positive integer or None, got {workers!r}")
    return _iterate(sources, p, n_workers, load_kwargs, mp_context, max_in_flight)


def _iterate(sources: Iterable[AudioSource], p: MelParams, n_workers: int,
             load_kwargs: Mapping[str, Any] | None, mp_context: str | None,
             max_in_flight: int | None) -> Iterator[tuple[int, np.ndarray | AudioError]]:
    if n_workers == 1:
        for i, src in enumerate(sources):
            yield _work(i, _materialise(src), p, load_kwargs)
        return
    limit = max(n_workers, max_in_flight or 4 * n_workers)
    ctx = multiprocessing.get_context(mp_context) if mp_context else None
    pool = cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker)
    pending: set[cf.Future[tuple[int, np.ndarray | AudioError]]] = set()
    try:
        items = iter(enumerate(sources))
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    i, src = next(items)
                except StopIteration:
                    exhausted = True
                    break
                pending.add(pool.submit(_work, i, _materialise(src), p, load_kwargs))
            if not pending:
                break
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _materialise(src: AudioSource) -> AudioSource:
    """File objects cannot cross process boundaries: read them into bytes here."""
    if isinstance(src, (str, os.PathLike, bytes)):
        return src
    if isinstance(src, (bytearray, memoryview)):
        return bytes(src)
    if hasattr(src, "read"):
        data = src.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ParameterError("file objects must be opened in binary mode")
        return bytes(data)
    raise ParameterError(f"source must be a path, bytes or a binary file object, got {type(src).__name__}")
