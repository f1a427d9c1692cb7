"""Finding and featurising new audio files, as the library and the feature store read them (``musim
similar-audio``, ``musim embed``: :mod:`musim.models.new_audio` embeds what this module featurises).

Files are read as the library reads them (:mod:`musim.library.formats`): only the analysed window of a longer file
is decoded, by seeking (:func:`musim.audio.excerpt.excerpt_window`), and a zip archive is the album it holds
(:mod:`musim.library.zips`: its audio members, as ``library add`` stores them). Features are computed as the feature
store computes them for a preview, across the audio path's process pool, and held to the shortest audio the model's
features were built from (:func:`min_duration`): a file shorter is ``too_short``, as a build rejects it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musim.errors import NotFoundError, ParameterError
from musim.filenames import refuse_empty
from musim.library.formats import AUDIO_SUFFIXES
from musim.library.scan import FoundFile
from musim.library.zips import extract_member, is_zip, members

__all__ = ["WINDOW_S", "analysis_window", "featurise_file", "featurise_files", "find_audio", "find_audio_files",
           "min_duration", "probe_long_enough"]


def find_audio(paths: Sequence[str | Path]) -> list[FoundFile]:
    """Files given, and the audio files under folders given (recursively, sorted); a zip archive (known by its
    content, given or in a folder) is read as ``library add`` reads it (:mod:`musim.library.zips`): its audio
    members, each ``ARCHIVE/MEMBER`` with its archive and member index, or, when it cannot be listed or holds no
    audio, one entry with the reason (``skip``): an album is never left out silently. Missing paths raise."""
    out: list[FoundFile] = []
    refuse_empty(paths, "audio files or folders")
    for p in map(Path, paths):
        if p.is_dir():
            # Every audio-named entry but a folder: a pipe or a broken link gets its reason in the results,
            # like a damaged file, instead of vanishing from them.
            for f in sorted(f for f in p.rglob("*") if not f.is_dir()):
                if is_zip(f):
                    out += _zip_members(f, p)
                elif f.suffix.lower() in AUDIO_SUFFIXES:
                    out.append(FoundFile(f, p))
        elif p.is_file():
            out += _zip_members(p, p.parent) if is_zip(p) else [FoundFile(p, p.parent)]
        else:
            raise NotFoundError(f"no such file or folder: {p}")
    if not out:
        raise NotFoundError(f"no audio files in {', '.join(map(str, paths))}")
    once: dict[Path, FoundFile] = {}
    for f in out:
        once.setdefault(f.path, f)
    return list(once.values())


def _zip_members(archive: Path, root: Path) -> list[FoundFile]:
    """The audio members of a zip archive, or the archive with why it gives none."""
    from musim.library.formats import FileSkipped

    try:
        held = members(archive)
    except FileSkipped as skip:
        return [FoundFile(archive, root, skip=skip)]
    audio = [FoundFile(archive / name, root, archive=archive, member=index) for index, name in held
             if Path(name).suffix.lower() in AUDIO_SUFFIXES]
    if not audio:
        others = f"{len(held)} other file(s)" if held else "no files"
        return [FoundFile(archive, root, skip=FileSkipped("not_audio", f"a zip archive with no audio file ({others})"))]
    return audio


def find_audio_files(paths: Sequence[str | Path]) -> list[Path]:
    """The paths of :func:`find_audio`: files, and a zip archive's members as ``ARCHIVE/MEMBER``."""
    return [f.path for f in find_audio(paths)]


def min_duration(explicit: float | None = None, manifest: Mapping[str, Any] | None = None) -> float:
    """The shortest audio, in seconds, that new audio featurised for a trained model may be (``musim similar-audio``,
    ``embed``, ``models evaluate --labels``): ``explicit`` (their ``--min-duration``) if given, else the threshold
    the version's serving manifest records (``min_duration_s``: the lowest ``--min-duration`` of the warehouse's
    completed feature builds when the version was published, :func:`musim.features.builds.built_min_duration`), else
    :data:`musim.audio.formats.MIN_DURATION_S` (a manifest from before it was recorded, or none). The one rule: a
    library built with ``features build --min-duration 2`` is queried with the clips it holds, and serving reads only
    what was published, never the writer's warehouse."""
    from musim.audio.formats import MIN_DURATION_S

    value = explicit if explicit is not None else (manifest or {}).get("min_duration_s")
    if value is None:
        return MIN_DURATION_S
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < float("inf"):
        raise ParameterError(f"the minimum duration must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


def probe_long_enough(path: Path, min_seconds: float | None = None, *, key: str | None = None) -> Any:
    """:func:`musim.library.formats.probe` of ``path``, ``too_short`` below ``min_seconds`` (default
    :data:`musim.audio.formats.MIN_DURATION_S`, the feature build's) with a detail naming the file's length, that
    minimum and how to change it (one line)."""
    from musim.audio.formats import MIN_DURATION_S
    from musim.library.formats import FileSkipped, probe

    shortest = MIN_DURATION_S if min_seconds is None else float(min_seconds)
    try:
        return probe(Path(path), min_seconds=shortest, key=key or str(path))
    except FileSkipped as exc:
        if exc.reason != "too_short":
            raise
        raise FileSkipped("too_short", f"{exc.detail}, the minimum applied; --min-duration SECONDS changes it",
                          key=exc.key) from None


#: Seconds of audio analysed in a longer file, in its middle, when the version's serving manifest records no window
#: (a catalogue of previews, or a manifest from before it was recorded): the acquisition's window of whole local
#: tracks (``MUSIM_EXCERPT_S``' default), a preview's length.
WINDOW_S = 30.0


def analysis_window(manifest: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """Where new audio featurised for a version is cut, ``(seconds, anchor)`` (the anchor a fraction of the free room
    before the window, :func:`musim.audio.excerpt.excerpt_window`): the analysis window the version's serving
    manifest records (``excerpt_s``, ``excerpt_anchor``: where the library cut its whole tracks when the version was
    published, :func:`musim.features.builds.built_window`), else the middle :data:`WINDOW_S` seconds. A library
    added with ``MUSIM_EXCERPT_S=60`` or ``MUSIM_EXCERPT_ANCHOR=start`` is queried with the part of a file its own
    tracks were analysed in (it was always the middle 30 s)."""
    window, anchor = (manifest or {}).get("excerpt_s"), (manifest or {}).get("excerpt_anchor")
    if window is None:
        return WINDOW_S, 0.5
    if isinstance(window, bool) or not isinstance(window, int | float) or not 0 < window < float("inf"):
        raise ParameterError(f"the analysis window must be a finite number of seconds > 0, got {window!r}")
    if isinstance(anchor, bool) or not isinstance(anchor, int | float) or not 0 <= anchor <= 1:
        raise ParameterError(f"the analysis window's anchor must be a fraction in [0, 1], got {anchor!r}")
    return float(window), float(anchor)


def _featurise_found(item: FoundFile, params: Any, min_duration_s: float | None,
                     window: tuple[float, float]) -> np.ndarray:
    """:func:`featurise_file` of a found file; a zip member streamed into a scratch file (``$MUSIM_TMP``) while it
    is read, as ``library add`` reads it."""
    import re

    from musim.config import get_settings
    from musim.library.formats import FileSkipped
    from musim.scratch import temp_file

    if item.skip is not None:
        raise item.skip
    if item.archive is None or item.member is None:
        return featurise_file(item.path, params, min_duration_s=min_duration_s, window_s=window[0], anchor=window[1])
    suffix = re.sub(r"[^.A-Za-z0-9]", "", item.path.suffix)[:10]
    with temp_file(get_settings().ensure_tmp(), "embed-member-", suffix) as local:
        extract_member(item.archive, item.member, local)
        if is_zip(local):
            raise FileSkipped("not_audio", "a zip archive inside a zip archive; extract it and give its folder")
        return featurise_file(local, params, key=str(item.path), min_duration_s=min_duration_s, window_s=window[0],
                              anchor=window[1])


def _featurise_or_reason(path: Path | FoundFile, params: Any, min_duration_s: float | None,
                         window: tuple[float, float] = (WINDOW_S, 0.5)) -> np.ndarray | str:
    from musim.errors import AudioError

    try:
        if isinstance(path, FoundFile):
            return _featurise_found(path, params, min_duration_s, window)
        return featurise_file(path, params, min_duration_s=min_duration_s, window_s=window[0], anchor=window[1])
    except AudioError as exc:  # the file's reason, handed back (an unusable file is not a failed run)
        return unusable_reason(exc)


def unusable_reason(exc: Exception) -> str:
    """Why a file cannot be used, without its name (the caller names it): ``too_short (1.00 s < 5 s, ...)`` for a
    :class:`~musim.library.formats.FileSkipped`, ``silent: RMS level ...`` for a
    :class:`~musim.audio.BadAudioError`, the message of any other error."""
    from musim.audio import BadAudioError
    from musim.library.formats import FileSkipped

    if isinstance(exc, FileSkipped):
        return exc.why
    if isinstance(exc, BadAudioError):
        return exc.reason + (f": {exc.detail}" if exc.detail else "")
    return str(exc)


#: Why a file is unusable when the worker process featurising it died, and again alone with it (a decoder crash on
#: it, the out-of-memory killer): :func:`musim.audio.batch.pool_map` gives it only for that file.
WORKER_DIED = ("undecodable (the process computing its features died abruptly, alone with it: a decoder crash on "
               "this file, or killed for memory)")


def _worker_died(item: Path | FoundFile) -> str:
    """:func:`featurise_files`' reason for a file whose process died with it, alone (the others go on)."""
    return WORKER_DIED


def featurise_files(files: Sequence[Path | FoundFile], params: Any, *, workers: int | None = None,
                    min_duration_s: float | None = None, window: tuple[float, float] = (WINDOW_S, 0.5)
                    ) -> list[np.ndarray | str]:
    """:func:`featurise_file` of every file (a path, or an entry of :func:`find_audio`: a zip member is read from
    its archive), in order: its features, or why it is unusable (the ``AudioError``'s reason and detail, without
    the file's name); across the audio path's process pool
    (:func:`musim.audio.batch.pool_map`; ``workers``, default one per CPU). A file whose worker process dies with
    it, and again alone, is :data:`WORKER_DIED`; the other files go on. ``min_duration_s``: the shortest usable
    file (default :data:`musim.audio.formats.MIN_DURATION_S`; :func:`min_duration` gives the commands' rule), sent
    to every worker with the parameters; ``window``: where a longer file is cut, ``(seconds, anchor)``
    (:func:`analysis_window` gives the commands' rule)."""
    from musim.audio.batch import pool_map
    return pool_map(functools.partial(_featurise_or_reason, params=params, min_duration_s=min_duration_s,
                                      window=window), files,
                    workers=workers, desc="featurise", warm=functools.partial(_warm, params), died=_worker_died)


def _warm(params: Any) -> None:
    """What featurising a file imports and compiles, done here before :func:`featurise_files`' pool forks (its worker
    processes inherit it, and this process keeps it for its next call): a second of a tone, decoded from a FLAC and
    featurised. Imported in each worker instead (scipy.signal, librosa: about 3 s), it cost every call that much
    again, a single file's too, since a file is featurised in a worker process however many there are."""
    from musim.audio import MelParams, SliceParams, log_mel
    from musim.audio.descriptors import load_kernels
    from musim.audio.io import load_audio
    from musim.features.params import DescriptorParams
    from musim.library.formats import encode_flac

    if isinstance(params, DescriptorParams):
        load_kernels()
    t = np.arange(44100) / 44100
    y, _ = load_audio(encode_flac((0.3 * np.sin(2 * np.pi * 440 * t))[None, :], 44100), sr=getattr(params, "sr", 22050),
                      min_duration=0.0)
    if isinstance(params, (MelParams, SliceParams)):  # the mel filters and the STFT a slice is cut from
        log_mel(y, params=params if isinstance(params, MelParams) else None)


def featurise_file(path: str | Path, params: Any, *, anchor: str | float = "middle",
                   window_s: float = WINDOW_S, key: str | None = None, min_duration_s: float | None = None
                   ) -> np.ndarray:
    """An audio file's features as the feature store computes them for a preview, by the type of
    ``params``: :class:`~musim.audio.MelParams` → log-mel ``(frames, n_mels)`` float16;
    :class:`~musim.audio.SliceParams` → slices ``(n, frames, n_mels)`` float16;
    :class:`~musim.features.params.DescriptorParams` → descriptor vector ``(D,)`` float32.

    A file longer than ``window_s`` (default the middle 30 s: :func:`analysis_window` gives the version's) is read
    only in a window of that length, by seeking, placed in it by ``anchor`` (a name or a fraction, as
    :func:`musim.audio.excerpt.excerpt_window` takes it), as the library cuts its whole tracks; then featurised as
    the feature build featurises a stored excerpt (a log-mel of the window's first frames). Unusable files raise the
    library's reasons (``truncated``, ``not_audio``...: :class:`musim.library.formats.FileSkipped`, an AudioError), naming ``key`` (default the path);
    a file shorter than ``min_duration_s`` (default :data:`musim.audio.formats.MIN_DURATION_S`; the commands pass
    :func:`min_duration`, the feature builds' threshold) is ``too_short`` with its length, that minimum and how to
    change it, as a feature build rejects it (its input would be mostly padding: a 1 s clip was padded silently to
    the log-mel's 256 frames and given neighbours).
    """
    from musim.audio import MelParams, SliceParams, load_audio, log_mel, slices
    from musim.audio.excerpt import excerpt_window
    from musim.features.params import DescriptorParams

    if not isinstance(params, MelParams | SliceParams | DescriptorParams):
        raise ParameterError(f"no features for parameters of type {type(params).__name__}")
    key = key or str(path)
    info = probe_long_enough(Path(path), min_duration_s, key=key)  # the feature build's rule: too_short below it
    offset, length = excerpt_window(info.duration_s, length_s=window_s, anchor=anchor)  # type: ignore[arg-type]
    y, sr = load_audio(Path(path), sr=params.sr, key=key, offset=offset, duration=length)
    if isinstance(params, MelParams):
        return log_mel(y, params=params).astype(np.float16)
    if isinstance(params, SliceParams):
        return slices(y, params=params).astype(np.float16)
    from musim.audio import descriptor_vector, descriptors

    return np.asarray(descriptor_vector(descriptors(y, sr=sr)), dtype=np.float32)
