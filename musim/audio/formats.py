"""The one list of audio formats musim accepts (foundation: the library, the decoder and the quality gate read it).

A format's name is what ``preview.format``, ``track.format`` and ``library_file.source_format`` hold and
what a content-addressed object ends with (``audio/previews/<sha256>.<format>``). Which format a file is
is decided by its content (:func:`musim.library.formats.probe`); the suffixes are a hint only.
"""

from __future__ import annotations

#: The accepted formats: name -> file suffixes that usually carry it (a hint only; content decides).
FORMATS: dict[str, tuple[str, ...]] = {
    "mp3": (".mp3",),
    "ogg": (".ogg", ".oga"),
    "opus": (".opus",),
    "flac": (".flac",),
    "wav": (".wav", ".wave"),
    "aiff": (".aif", ".aiff", ".aifc"),
    "w64": (".w64",),
    "caf": (".caf",),
    "m4a": (".m4a", ".mp4", ".m4b", ".aac"),
}
#: Formats PyAV (FFmpeg) decodes; libsndfile (soundfile) reads the others and seeks in them.
PYAV_FORMATS = frozenset({"m4a"})
AUDIO_SUFFIXES = frozenset(s for suffixes in FORMATS.values() for s in suffixes)
#: The suffixes of the formats PyAV decodes (a hint for a file whose first bytes say nothing).
PYAV_SUFFIXES = frozenset(s for name in PYAV_FORMATS for s in FORMATS[name])
#: :func:`musim.audio.io.sniff_format`'s container names -> the format they are.
SNIFFED = {"mp3": "mp3", "ogg": "ogg", "flac": "flac", "wav": "wav", "aiff": "aiff", "w64": "w64", "caf": "caf",
           "mp4": "m4a", "aac": "m4a"}
#: The sniffed containers PyAV decodes.
PYAV_CONTAINERS = frozenset(c for c, name in SNIFFED.items() if name in PYAV_FORMATS)

#: The sample rates musim accepts (Hz), the one range: acquired previews (:mod:`musim.acquire.check`) and library
#: files (``musim library add``) alike, and what the previews gate expects of every track (``implausible_audio``).
#: From telephone audio (8 kHz; below it a file holds no music the features can read) to the highest rates of
#: high-resolution recordings (DXD 352.8/384 kHz and their doubles, 705.6/768 kHz).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 768000

#: The shortest audio (seconds) musim computes features of, the one rule: a feature build rejects shorter audio
#: ``too_short`` (its default ``--min-duration``), ``musim library add`` skips a shorter file, and new audio embedded
#: against a model (``musim similar-audio``, ``musim embed``) is refused as the build refuses it: a model's
#: fixed-size input of a shorter clip would be mostly padding, and its neighbours meaningless.
MIN_DURATION_S = 5.0


def rate_outside(sample_rate: int) -> str | None:
    """Why audio at ``sample_rate`` Hz is not accepted (it names the rate and the range), or ``None``."""
    if MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        return None
    return f"sample rate {sample_rate:,} Hz is outside the {MIN_SAMPLE_RATE:,}-{MAX_SAMPLE_RATE:,} Hz musim accepts"


__all__ = ["AUDIO_SUFFIXES", "FORMATS", "MAX_SAMPLE_RATE", "MIN_DURATION_S", "MIN_SAMPLE_RATE", "PYAV_CONTAINERS", "PYAV_FORMATS",
           "PYAV_SUFFIXES", "SNIFFED", "rate_outside"]
