"""The baselines of a label-free evaluation (:mod:`musim.models.label_eval`), computed from the files themselves:
``random``, ``mfcc`` (20 MFCC mean + std over the excerpt), ``descriptors`` (musim's handcrafted descriptors,
z-scored) and ``musly`` (libmusly's timbre model, through pymusly). :func:`track_values` decodes each labelled file
in the audio pool and keeps there only what each baseline needs of it (a row of numbers, or libmusly's serialized
track model), never the excerpt; :func:`read_excerpts` reads excerpts into memory for the benchmark scripts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musim.errors import ParameterError
from musim.models.evaluate import column_stats

__all__ = ["BASELINE_NAMES", "EXCERPT_S", "Baseline", "baselines", "check_baselines", "features_of", "mfcc_stats",
           "musly_similarity", "musly_similarity_of", "musly_track", "read_excerpts", "standardized", "track_values"]

def standardized(vectors: np.ndarray) -> np.ndarray:
    """Columns z-scored over the tracks (constant columns, up to rounding, become 0:
    :func:`~musim.models.evaluate.column_stats`): what cosine on descriptors needs."""
    mean, sd, _ = column_stats(vectors)
    return ((np.asarray(vectors, dtype=np.float64) - mean) / sd).astype(np.float32)


def mfcc_stats(excerpts: Sequence[np.ndarray], *, sr: int, n_mfcc: int = 20) -> np.ndarray:
    """The plain baseline: mean and standard deviation of ``n_mfcc`` MFCCs over each excerpt, ``(n, 2 n_mfcc)``."""
    import librosa

    out = np.zeros((len(excerpts), 2 * n_mfcc), dtype=np.float32)
    for i, y in enumerate(excerpts):
        m = librosa.feature.mfcc(y=np.asarray(y, dtype=np.float32), sr=sr, n_mfcc=n_mfcc)
        out[i] = np.concatenate([m.mean(axis=1), m.std(axis=1)])
    return out




def musly_similarity(excerpts: Sequence[np.ndarray], *, sr: int, method: str = "timbre") -> np.ndarray:
    """libmusly's track similarity (pymusly; its ``timbre`` method: a Gaussian of MFCC frames per track compared by
    a normalised divergence) as a ``(n, n)`` similarity (the negated distance), of excerpts in memory (``models
    evaluate`` keeps each track's model instead: :func:`musly_track`, :func:`musly_similarity_of`). ``sr`` must
    be 22050."""
    import pymusly

    _musly_rate(sr)
    box = pymusly.MuslyJukebox(method=method)
    tracks = [box.track_from_audiodata(np.asarray(y, dtype=np.float32).tolist()) for y in excerpts]
    ids = list(range(len(tracks)))
    box.set_style(tracks)
    box.add_tracks(list(zip(ids, tracks, strict=True)))
    dist = np.array([box.compute_similarity((i, tracks[i]), list(zip(ids, tracks, strict=True))) for i in ids])
    return -dist


def _musly_rate(sr: int) -> None:
    if sr != 22050:
        raise ParameterError(f"libmusly analyses 22050 Hz mono, got {sr} Hz")


@functools.cache
def _jukebox(method: str) -> Any:
    import pymusly

    return pymusly.MuslyJukebox(method=method)


def musly_track(y: np.ndarray, *, sr: int, method: str = "timbre") -> bytes:
    """libmusly's model of one track (its ``timbre`` method: a Gaussian of the excerpt's MFCC frames), serialized: a
    few kilobytes to keep in place of the excerpt (:func:`musly_similarity_of` compares them)."""
    _musly_rate(sr)
    box = _jukebox(method)
    return bytes(box.serialize_track(box.track_from_audiodata(np.asarray(y, dtype=np.float32).tolist())))


def musly_similarity_of(track_models: Sequence[bytes], *, method: str = "timbre") -> np.ndarray:
    """The ``(n, n)`` similarity (negated libmusly distance) of tracks modelled by :func:`musly_track`: the style
    (libmusly's normalisation) is set on these tracks, as one jukebox of them would; a bar per track compared."""
    import pymusly

    from musim.progress import progress_bar

    box = pymusly.MuslyJukebox(method=method)
    tracks = [box.deserialize_track(t) for t in track_models]
    ids = list(range(len(tracks)))
    box.set_style(tracks)
    box.add_tracks(list(zip(ids, tracks, strict=True)))
    every = list(zip(ids, tracks, strict=True))
    rows = []
    with progress_bar(len(ids), unit="track", desc="musly similarity", leave=False) as bar:
        for i in ids:
            rows.append(box.compute_similarity((i, tracks[i]), every))
            bar.update()
    return -np.array(rows)


def _mfcc_row(y: np.ndarray, sr: int, n_mfcc: int = 20) -> np.ndarray:
    """One row of :func:`mfcc_stats`."""
    import librosa

    m = librosa.feature.mfcc(y=np.asarray(y, dtype=np.float32), sr=sr, n_mfcc=n_mfcc)
    return np.concatenate([m.mean(axis=1), m.std(axis=1)]).astype(np.float32)


def _descriptor_row(y: np.ndarray, sr: int) -> np.ndarray:
    from musim.audio import descriptor_vector, descriptors

    return np.asarray(descriptor_vector(descriptors(y, sr=sr)), dtype=np.float32)


@dataclass(frozen=True)
class Baseline:
    """A label-free baseline in two steps, so that no excerpt is kept: ``track`` turns one excerpt into what the
    baseline keeps of it (``None``: nothing, the track's index is enough), in the audio pool; ``combine`` turns the
    kept tracks' values into ``("vectors", (n, d))`` or ``("similarity", (n, n))``."""

    track: Callable[[np.ndarray, int], Any] | None
    combine: Callable[[list[Any]], tuple[str, np.ndarray]]

    def __call__(self, excerpts: Sequence[np.ndarray], sr: int) -> tuple[str, np.ndarray]:
        """Both steps on excerpts in memory."""
        return self.combine([None if self.track is None else self.track(y, sr) for y in excerpts])


BASELINE_NAMES: tuple[str, ...] = ("random", "mfcc", "descriptors", "musly")


def check_baselines(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in BASELINE_NAMES]
    if unknown:
        raise ParameterError(f"unknown baseline(s) {', '.join(unknown)}; one of {', '.join(BASELINE_NAMES)}")


def _random_vectors(kept: list[Any], *, seed: int) -> tuple[str, np.ndarray]:
    return "vectors", np.random.default_rng(seed).normal(size=(len(kept), 32)).astype(np.float32)


def _stacked(rows: list[np.ndarray]) -> tuple[str, np.ndarray]:
    return "vectors", np.stack(rows).astype(np.float32)


def _standardized_rows(rows: list[np.ndarray]) -> tuple[str, np.ndarray]:
    return "vectors", standardized(np.stack(rows))


def _musly_combine(models: list[bytes]) -> tuple[str, np.ndarray]:
    return "similarity", musly_similarity_of(models)


def baselines(names: Sequence[str], *, seed: int = 0) -> Mapping[str, Baseline]:
    """The label-free baselines by name: ``random``, ``mfcc`` (20 MFCC mean + std), ``descriptors`` (musim's
    handcrafted descriptors, z-scored), ``musly`` (libmusly timbre; needs pymusly). Each ``track`` step is picklable
    (it runs in the audio pool)."""
    known = {"random": Baseline(None, functools.partial(_random_vectors, seed=seed)),
             "mfcc": Baseline(_mfcc_row, _stacked),
             "descriptors": Baseline(_descriptor_row, _standardized_rows),
             "musly": Baseline(functools.partial(_musly_track_at, method="timbre"), _musly_combine)}
    assert tuple(known) == BASELINE_NAMES  # noqa: S101 - one list of the names
    check_baselines(names)
    return {n: known[n] for n in names}


def features_of(name: str, window: tuple[float, float], *, sr: int = 22050) -> Any | None:
    """The feature parameters whose features baseline ``name``'s ``track`` step computes, value for value, as
    :func:`musim.models.audio_files.featurise_file` computes them for a model that cuts new audio in ``window``
    (``(seconds, anchor)``: :func:`~musim.models.audio_files.analysis_window`): ``descriptors``, when that window is
    the baselines' (the middle :data:`EXCERPT_S` seconds), gives :class:`~musim.features.params.DescriptorParams` at
    ``sr`` (a descriptors-family model reads the baseline's rows instead of featurising every file again); None for
    the others."""
    from musim.features.params import DescriptorParams

    if name == "descriptors" and tuple(window) == (EXCERPT_S, 0.5):
        return DescriptorParams(sr=sr)
    return None


def _musly_track_at(y: np.ndarray, sr: int, method: str) -> bytes:
    return musly_track(y, sr=sr, method=method)


#: The analysed span of a track: the same 30-second window the feature store analyses (the middle of a longer file).
EXCERPT_S = 30.0


def _read_excerpt(path: Path, *, sr: int, window_s: float, min_duration_s: float | None = None,
                  mono: bool = True) -> np.ndarray | str:
    """A file's mono ``sr`` excerpt (the middle ``window_s`` seconds, read by seeking as ``musim embed`` reads it;
    ``mono=False``: its channels, ``(channels, n)``), or why it does not decode (``too_short`` under
    ``min_duration_s``, default :data:`musim.audio.formats.MIN_DURATION_S`)."""
    from musim.audio import load_audio
    from musim.audio.excerpt import excerpt_window
    from musim.errors import AudioError
    from musim.models.audio_files import probe_long_enough, unusable_reason

    try:
        info = probe_long_enough(Path(path), min_duration_s, key=str(path))  # the feature build's rule
        offset, length = excerpt_window(info.duration_s, length_s=window_s, anchor="middle")
        y, _ = load_audio(path, sr=sr, mono=mono, key=str(path), offset=offset, duration=length)
    except AudioError as exc:  # FileSkipped too: "too_short (...)", "silent: RMS level ..." without the file's name
        return unusable_reason(exc)
    except OSError as exc:
        return str(exc)
    return y


def read_excerpts(paths: Sequence[Path], *, sr: int = 22050, window_s: float = EXCERPT_S,
                  min_duration_s: float | None = None, mono: bool = True
                  ) -> tuple[list[int], list[np.ndarray], list[tuple[str, str]]]:
    """Mono ``sr`` excerpts (the middle ``window_s`` seconds, read by seeking as ``musim embed`` reads them;
    ``mono=False``: each file's channels) of the files that decode: ``(kept indices, excerpts, [(path, reason)] of
    the others)``. Every excerpt is held (about 2.6 MB a 30-s track): :func:`track_values` keeps only what the
    baselines need."""
    kept, excerpts, failed = [], [], []
    for i, path in enumerate(paths):
        y = _read_excerpt(path, sr=sr, window_s=window_s, min_duration_s=min_duration_s, mono=mono)
        if isinstance(y, str):
            failed.append((str(path), y))
            continue
        kept.append(i)
        excerpts.append(y)
    return kept, excerpts, failed


def _track_values(path: Path, *, steps: tuple[tuple[str, Any], ...], sr: int, window_s: float,
                  min_duration_s: float | None = None) -> dict[str, Any] | str:
    """One file, in a worker of the audio pool: its excerpt decoded and each baseline's ``track`` step of it (the
    excerpt is dropped here), or why it does not decode."""
    y = _read_excerpt(path, sr=sr, window_s=window_s, min_duration_s=min_duration_s)
    if isinstance(y, str):
        return y
    return {name: step(y, sr) for name, step in steps}


def track_values(paths: Sequence[Path], names: Sequence[str], *, sr: int = 22050, window_s: float = EXCERPT_S,
                 seed: int = 0, workers: int | None = None, min_duration_s: float | None = None
                 ) -> tuple[list[int], dict[str, list[Any]], list[tuple[str, str]]]:
    """Each file decoded in the audio path's process pool (:func:`musim.audio.batch.pool_map`, with a bar) and
    turned there into what each baseline of ``names`` keeps of it (:class:`Baseline`): ``(kept indices, {name:
    one value per kept file}, [(path, reason)] of the files that do not decode)``. No excerpt is held: memory
    grows with the baselines' per-track values (kilobytes), not with the audio. A file shorter than
    ``min_duration_s`` (default :data:`musim.audio.formats.MIN_DURATION_S`) is ``too_short``."""
    from musim.audio.batch import pool_map
    from musim.audio.descriptors import load_kernels

    if "musly" in names:
        _musly_rate(sr)
    specs = baselines(names, seed=seed)
    steps = tuple((n, b.track) for n, b in specs.items() if b.track is not None)
    rows = pool_map(functools.partial(_track_values, steps=steps, sr=sr, window_s=window_s,
                                      min_duration_s=min_duration_s), list(paths),
                    workers=workers, desc="decode + baselines", warm=load_kernels if "descriptors" in names else None)
    kept, failed = [], []
    values: dict[str, list[Any]] = {n: [] for n in names}
    for i, (path, row) in enumerate(zip(paths, rows, strict=True)):
        if isinstance(row, str):
            failed.append((str(path), row))
            continue
        kept.append(i)
        for n in names:
            values[n].append(row.get(n))
    return kept, values, failed
