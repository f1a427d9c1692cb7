"""Small generated audio files in every format, with tags written by the tag library (mutagen)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

FORMATS = ("mp3", "ogg", "opus", "flac", "wav", "aiff", "m4a")
#: Formats the tag library neither reads nor writes (no tags): Sony Wave64 and Apple's Core Audio Format.
UNTAGGED = ("w64", "caf")
_SF = {"mp3": ("MP3", "MPEG_LAYER_III"), "ogg": ("OGG", "VORBIS"), "opus": ("OGG", "OPUS"), "flac": ("FLAC", None),
       "wav": ("WAV", None), "aiff": ("AIFF", None), "w64": ("W64", None), "caf": ("CAF", None)}


def tone(seconds: float, sr: int, *, freq: float = 330.0, seed: int = 0, level: float = 0.3) -> np.ndarray:
    """A tone with a little noise, (n,) float32."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    y = level * (np.sin(2 * math.pi * freq * t) + 0.05 * rng.standard_normal(t.size))
    return y.astype(np.float32)


def _write_m4a(path: Path, y: np.ndarray, sr: int, *, container: str = "mp4", pns: bool = False) -> None:
    """AAC in MP4 (or raw ADTS with ``container="adts"``). FFmpeg's encoder codes noisy bands as perceptual noise
    substitution (PNS) unless ``pns=False``: the decoder fills them with noise whose realisation depends on the
    frames decoded before, so no two decodes of a PNS band agree sample for sample."""
    import av

    with av.open(str(path), mode="w", format=container) as out:
        stream = out.add_stream("aac", rate=sr, options={} if pns else {"aac_pns": "0"})
        stream.layout = "mono"
        frame_size = 1024
        for i in range(0, y.size, frame_size):
            chunk = y[i:i + frame_size][None, :]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
            frame.sample_rate = sr
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def write_audio(path: Path, fmt: str, *, seconds: float = 8.0, freq: float = 330.0, seed: int = 0,
                level: float = 0.3, pns: bool = False) -> Path:
    """Write ``seconds`` of a tone as ``fmt`` at ``path`` (any suffix: formats are told by content); ``fmt`` may
    also be ``"aac"`` (raw ADTS, a format the library stores as m4a). ``pns``: see :func:`_write_m4a`."""
    import soundfile as sf

    sr = 48000 if fmt == "opus" else 22050
    if fmt in ("m4a", "aac"):
        sr = 44100
    y = tone(seconds, sr, freq=freq, seed=seed, level=level)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("m4a", "aac"):
        _write_m4a(path, y, sr, container="mp4" if fmt == "m4a" else "adts", pns=pns)
    else:
        container, subtype = _SF[fmt]
        # in blocks: libsndfile's Vorbis encoder overflows its stack on one write of minutes of audio
        with sf.SoundFile(str(path), "w", sr, channels=1 if y.ndim == 1 else y.shape[1], format=container,
                          subtype=subtype) as out:
            for start in range(0, len(y), 1 << 16):
                out.write(y[start:start + (1 << 16)])
    return path


def write_tags(path: Path, fmt: str, **tags: str) -> None:
    """Tag a file with the tag library: artist, albumartist, title, album, genre, mbid."""
    import mutagen
    from mutagen.id3 import ID3, TALB, TCON, TIT2, TPE1, TPE2, TXXX
    from mutagen.mp4 import MP4, MP4FreeForm

    if fmt in ("ogg", "opus", "flac"):
        f = mutagen.File(path)
        if f.tags is None:
            f.add_tags()
        for k, v in tags.items():
            f.tags["musicbrainz_artistid" if k == "mbid" else k] = [v]
        f.save()
    elif fmt == "m4a":
        f = MP4(path)
        if f.tags is None:
            f.add_tags()
        atoms = {"artist": "\xa9ART", "albumartist": "aART", "title": "\xa9nam", "album": "\xa9alb", "genre": "\xa9gen"}
        for k, v in tags.items():
            if k == "mbid":
                f.tags["----:com.apple.iTunes:MusicBrainz Artist Id"] = [MP4FreeForm(v.encode())]
            else:
                f.tags[atoms[k]] = [v]
        f.save()
    else:  # mp3, wav, aiff: ID3 (a chunk in wav/aiff)
        f = mutagen.File(path)
        if f.tags is None:
            f.add_tags()
        frames = {"artist": TPE1, "albumartist": TPE2, "title": TIT2, "album": TALB, "genre": TCON}
        for k, v in tags.items():
            f.tags.add(TXXX(encoding=3, desc="MusicBrainz Artist Id", text=[v]) if k == "mbid"
                       else frames[k](encoding=3, text=[v]))
        f.save()
        assert isinstance(f.tags, ID3)
