"""Demo audio as folders: a tagged local music folder of artists (:func:`write_music_folder`), preview-like
clips (:func:`write_previews`), and the stable seeds and titles they are made from."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musim.errors import ParameterError
from musim.synth.files import FORMATS, safe_name, tag_file, write_clip
from musim.synth.sound import _rng, genre_name, synthesize_clip

__all__ = ["artist_seed_for", "track_title", "write_music_folder", "write_previews"]


def artist_seed_for(name: str) -> int:
    """A stable 63-bit seed from an artist name (the same name sounds the same in every run and order)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") >> 1


_ADJ = ("Silver", "Broken", "Midnight", "Electric", "Quiet", "Golden", "Hollow", "Velvet", "Northern",
        "Restless", "Paper", "Crimson", "Distant", "Neon", "Wild", "Slow")
_NOUN = ("River", "Engine", "Garden", "Signal", "Harbour", "Mirror", "Lantern", "Highway", "Echo", "Orchard",
         "Static", "Tide", "Avenue", "Comet", "Winter", "Ceremony")


def track_title(artist_seed: int, track_no: int) -> str:
    """A deterministic two-word title for an artist's track."""
    rng = _rng(3, artist_seed, track_no)
    return f"{_ADJ[int(rng.integers(len(_ADJ)))]} {_NOUN[int(rng.integers(len(_NOUN)))]}"


def write_music_folder(root: str | os.PathLike, artists: Sequence[tuple[str, int]], *,
                       tracks_per_artist: int = 3, fmt: str = "mp3", duration: float = 30.0,
                       genre_names: Sequence[str] | None = None, sr: int = 22050) -> list[Path]:
    """Write a tagged local music folder: ``root/<artist>/<NN - title>.<ext>``.

    Parameters
    ----------
    root : path
        Created if missing.
    artists : sequence of (name, community)
        Artist names (any characters) and their home community; the artist's sound is seeded by the name
        (:func:`artist_seed_for`).
    tracks_per_artist : int
        Tracks per artist, numbered from 1.
    fmt : str
        ``"mp3"``, ``"m4a"``, ``"flac"``, ``"ogg"`` or ``"wav"``.
    duration : float
        Seconds per track.
    genre_names : sequence of str or None
        Genre tag per community (default :data:`GENRE_NAMES`, then ``style-<id>``).
    sr : int
        Sampling rate of the files in Hz.

    Returns
    -------
    list of Path
        The files written, in artist then track order. Folder names are :func:`safe_name` of the artist
        name; two artists whose safe names collide (ignoring case) get ``" (2)"``, ``" (3)"``... appended.
        Tags: artist and title as given (unsanitised), genre, album ``"<artist> (demo)"``, track number.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ParameterError(f"unsupported format {fmt!r}; use one of {sorted(FORMATS)}")
    if isinstance(tracks_per_artist, bool) or not isinstance(tracks_per_artist, int) or tracks_per_artist < 1:
        raise ParameterError(f"tracks_per_artist must be a positive integer, got {tracks_per_artist!r}")
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    written: list[Path] = []
    for name, community in artists:
        folder = safe_name(name)
        candidate, k = folder, 1
        while candidate.casefold() in used:
            k += 1
            candidate = safe_name(f"{folder} ({k})")
        used.add(candidate.casefold())
        adir = base / candidate
        adir.mkdir(exist_ok=True)
        seed = artist_seed_for(name)
        genre = genre_name(community, genre_names)
        for t in range(1, tracks_per_artist + 1):
            title = track_title(seed, t)
            path = adir / f"{t:02d} - {safe_name(title)}.{fmt}"
            y = synthesize_clip(community=community, artist_seed=seed, track_no=t, sr=sr, duration=duration)
            write_clip(path, y, sr=sr, format=fmt)
            tag_file(path, artist=name, title=title, genre=genre, album=f"{name} (demo)", track=t,
                     total_tracks=tracks_per_artist)
            written.append(path)
    return written


def _write_preview(path: str, community: int, artist_seed: int, track_no: int, sr: int, stereo: bool,
                   duration: float) -> str:
    y = synthesize_clip(community=community, artist_seed=artist_seed, track_no=track_no, sr=sr, duration=duration)
    data = np.stack([y, 0.9 * np.roll(y, 11)]) if stereo else y  # a little width, as real stereo previews
    target = Path(path)
    tmp = target.with_name(f".{target.stem}.tmp{target.suffix}")
    write_clip(tmp, data, sr=sr)
    tmp.replace(target)  # never leave a half-written file under the final name
    return path


def write_previews(folder: str | os.PathLike, n: int, *, fmt: str = "mp3", sr: int = 44100, stereo: bool = True,
                   duration: float = 30.0, communities: int = 12, workers: int = 1) -> list[Path]:
    """Write ``n`` preview-like clips ``preview_0000.<fmt>``..., reusing files that already exist.

    Clip ``i`` is community ``i % communities``, artist seed ``1000 + i // communities``, track
    ``1 + i % 3``; 44.1 kHz stereo by default, like Deezer's 30-second mp3 previews. ``workers > 1`` encodes
    in that many processes (mp3 encoding dominates: about 1 s per 30 s stereo clip).

    Returns
    -------
    list of Path
        In index order.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ParameterError(f"unsupported format {fmt!r}; use one of {sorted(FORMATS)}")
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    paths = [base / f"preview_{i:04d}.{fmt}" for i in range(n)]
    todo = [(str(p), i % communities, 1000 + i // communities, 1 + i % 3, sr, stereo, duration)
            for i, p in enumerate(paths) if not p.exists()]
    if workers > 1 and len(todo) > 1:
        import concurrent.futures as cf

        with cf.ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_write_preview, *zip(*todo, strict=True)))
    else:
        for args in todo:
            _write_preview(*args)
    return paths
