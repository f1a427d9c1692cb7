"""Generated test audio: short tones as mp3 (soundfile) and m4a/AAC (PyAV), made once per process."""

from __future__ import annotations

import functools
import io

import numpy as np

SR = 22050


def _tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@functools.lru_cache(maxsize=64)
def tone_bytes(fmt: str, seconds: float = 8.0, freq: float = 440.0) -> bytes:
    """A mono sine tone encoded as ``fmt`` (``mp3``, ``wav``, ``flac``, ``ogg`` or ``m4a``)."""
    y = _tone(seconds, freq)
    buf = io.BytesIO()
    if fmt == "m4a":
        import av

        with av.open(buf, "w", format="ipod") as container:
            stream = container.add_stream("aac", rate=SR)
            stream.layout = "mono"
            for i in range(0, len(y), 1024):
                frame = av.AudioFrame.from_ndarray(y[None, i : i + 1024], format="fltp", layout="mono")
                frame.sample_rate, frame.pts = SR, i
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    else:
        import soundfile as sf

        sf.write(buf, y, SR, format={"mp3": "MP3", "wav": "WAV", "flac": "FLAC", "ogg": "OGG"}[fmt])
    return buf.getvalue()
