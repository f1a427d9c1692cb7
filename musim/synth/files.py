"""Demo audio as files: encoded (mp3, wav, flac, ogg through soundfile; m4a through PyAV), tagged (mutagen), and
named safely on every file system (:func:`safe_name`)."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from musim.errors import ParameterError

__all__ = ["FORMATS", "safe_name", "tag_file", "write_clip"]

FORMATS = {"mp3": "MP3", "wav": "WAV", "flac": "FLAC", "ogg": "OGG", "m4a": "M4A"}


def write_clip(path: str | os.PathLike, y: np.ndarray, *, sr: int, format: str | None = None,
               bitrate_kbps: int = 128) -> Path:
    """Encode audio to a file: mp3, wav, flac, ogg (soundfile) or m4a (AAC via PyAV).

    Parameters
    ----------
    path : path
        Destination; its parent must exist. Written in place (not atomically).
    y : np.ndarray [shape=(n,) or (channels, n)]
        Float samples in [-1, 1] (librosa's channel-first layout for multi-channel).
    sr : int
        Sampling rate in Hz.
    format : str or None
        ``"mp3"``, ``"wav"``, ``"flac"``, ``"ogg"`` or ``"m4a"``; default: from the suffix.
    bitrate_kbps : int
        AAC bit rate for m4a (mp3 uses libsndfile's default VBR quality).

    Returns
    -------
    Path
    """
    p = Path(path)
    fmt = (format or p.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ParameterError(f"unsupported format {fmt!r}; use one of {sorted(FORMATS)}")
    data = np.asarray(y, dtype=np.float32)
    if data.ndim == 1:
        data = data[None, :]
    if data.ndim != 2 or data.shape[1] == 0:
        raise ParameterError(f"y must have shape (n,) or (channels, n) with n > 0, got {np.shape(y)}")
    if data.shape[0] > 2:
        raise ParameterError(f"at most 2 channels are supported, got {data.shape[0]}")
    data = np.clip(data, -1.0, 1.0)
    if fmt == "m4a":
        _write_m4a(p, data, int(sr), int(bitrate_kbps))
        return p
    import soundfile as sf

    subtype = {"mp3": "MPEG_LAYER_III", "wav": "PCM_16", "flac": "PCM_16", "ogg": "VORBIS"}[fmt]
    sf.write(p, data.T, int(sr), format=FORMATS[fmt], subtype=subtype)
    return p


def _write_m4a(path: Path, data: np.ndarray, sr: int, bitrate_kbps: int) -> None:
    import av

    layout = "mono" if data.shape[0] == 1 else "stereo"
    with av.open(str(path), mode="w", format="ipod") as container:
        stream = container.add_stream("aac", rate=sr, layout=layout)
        stream.bit_rate = bitrate_kbps * 1000
        frame_size = 1024
        n = data.shape[1]
        for start in range(0, n, frame_size):
            chunk = np.ascontiguousarray(data[:, start:start + frame_size])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sr
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _easy_tags(path: Path, fmt: str) -> Any:
    """The file's tags through mutagen's key/value interface (EasyID3 for mp3, Vorbis comments for flac and ogg)."""
    if fmt == "mp3":
        from mutagen.easyid3 import EasyID3
        from mutagen.mp3 import MP3

        return MP3(path, ID3=EasyID3)
    if fmt == "flac":
        from mutagen.flac import FLAC

        return FLAC(path)
    from mutagen.oggvorbis import OggVorbis

    return OggVorbis(path)


def tag_file(path: str | os.PathLike, *, artist: str, title: str, genre: str, album: str | None = None,
             track: int | None = None, total_tracks: int | None = None) -> None:
    """Write artist/title/genre (and album, track number) tags with mutagen.

    ID3 for mp3 and wav, MP4 atoms for m4a, Vorbis comments for flac and ogg.
    """
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    trk = None if track is None else (f"{track}/{total_tracks}" if total_tracks else str(track))
    if fmt in ("mp3", "flac", "ogg"):  # one key/value interface: EasyID3 and Vorbis comments
        audio = _easy_tags(p, fmt)
        if audio.tags is None:
            audio.add_tags()
        fields = {"artist": artist, "title": title, "genre": genre, "album": album, "tracknumber": trk}
        for k, v in fields.items():
            if v is not None:
                audio[k] = v
        audio.save()
    elif fmt == "m4a":
        from mutagen.mp4 import MP4

        audio = MP4(p)
        if audio.tags is None:
            audio.add_tags()
        audio["\xa9ART"] = artist
        audio["\xa9nam"] = title
        audio["\xa9gen"] = genre
        if album is not None:
            audio["\xa9alb"] = album
        if track is not None:
            audio["trkn"] = [(int(track), int(total_tracks or 0))]
        audio.save()
    elif fmt == "wav":
        from mutagen.id3 import TALB, TCON, TIT2, TPE1, TRCK
        from mutagen.wave import WAVE

        audio = WAVE(p)
        if audio.tags is None:
            audio.add_tags()
        audio.tags.add(TPE1(encoding=3, text=artist))
        audio.tags.add(TIT2(encoding=3, text=title))
        audio.tags.add(TCON(encoding=3, text=genre))
        if album is not None:
            audio.tags.add(TALB(encoding=3, text=album))
        if trk is not None:
            audio.tags.add(TRCK(encoding=3, text=trk))
        audio.save()
    else:
        raise ParameterError(f"cannot tag {fmt!r} files")


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                       *(f"LPT{i}" for i in range(1, 10))})


def safe_name(name: str, *, max_bytes: int = 120) -> str:
    """A file or folder name that is valid on Linux, macOS and Windows and cannot escape its folder.

    NFC-normalises, replaces path separators, quotes and other characters Windows forbids (and control
    characters) with ``_``, collapses whitespace, strips leading/trailing dots and spaces (so ``..`` and
    hidden names are impossible), prefixes Windows device names (``CON``...), and truncates to
    ``max_bytes`` of UTF-8 without splitting a character. Never returns an empty string.
    """
    s = unicodedata.normalize("NFC", str(name))
    s = _UNSAFE.sub("_", s)
    s = re.sub(r"\s+", " ", s).strip(" .")
    if s.split(".")[0].upper() in _RESERVED:
        s = "_" + s
    b = s.encode("utf-8")[:max_bytes]
    s = b.decode("utf-8", errors="ignore").rstrip(" .")
    return s or "_"
