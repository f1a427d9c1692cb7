"""musim.quiet: native writes to stderr muted where they are noise, Python's kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from musim.synth.files import write_clip
from musim.synth.sound import synthesize_clip


def stderr_of(code: str) -> str:
    """What a Python process running ``code`` writes to stderr (file descriptor 2, native writes included)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, check=True)
    return proc.stderr


def test_native_writes_inside_the_block_are_dropped_and_python_writes_around_it_kept():
    err = stderr_of("""
        import os, sys
        from musim.quiet import native_stderr_muted
        print("before", file=sys.stderr)
        with native_stderr_muted():
            os.write(2, b"native noise\\n")
        with native_stderr_muted(when=False):
            os.write(2, b"kept\\n")
        os.write(2, b"native after\\n")
        print("after", file=sys.stderr)
    """)
    assert err == "before\nkept\nnative after\nafter\n"


def test_reading_an_mp3_from_a_seek_point_prints_nothing_and_gives_the_samples_of_a_whole_decode(tmp_path):
    """libmpg123 printed "error: part2_3_length (960) too large for available bit count (936)" at every seek: 63
    lines on the stderr of a `musim library add` of 180 MP3s that all went in."""
    path = write_clip(tmp_path / "a.mp3", synthesize_clip(community=1, artist_seed=3, track_no=0, sr=22050,
                                                          duration=12.0), sr=22050)
    seek_and_read = f"""
        import soundfile as sf
        with sf.SoundFile({str(path)!r}) as f:
            for tenths in range(5, 85, 3):
                f.seek(int(tenths * 2205))
                f.read(100)
    """
    assert "part2_3_length" in stderr_of(seek_and_read)  # what libmpg123 does unmuted
    err = stderr_of(f"""
        import numpy as np, soundfile as sf
        from pathlib import Path
        from musim.audio.io import load_audio
        from musim.library.formats import probe, read_excerpt

        path = {str(path)!r}
        with sf.SoundFile(path) as f:
            whole = f.read(dtype="float32", always_2d=True).T
        info = probe(Path(path), min_seconds=5)
        for offset in np.arange(0.5, 8.5, 0.3):
            window = read_excerpt(Path(path), info, offset_s=offset, duration_s=3.0)
            start = int(offset * 22050)
            assert np.allclose(window, whole[:, start:start + window.shape[1]], atol=1e-6)
            y, sr = load_audio(path, sr=None, mono=False, offset=offset, duration=3.0)
            assert np.allclose(y, whole[:, start:start + y.shape[-1]].squeeze(), atol=1e-6)
    """)  # the subprocess fails the test if a window differs (check=True)
    assert err == ""


def test_opening_a_cut_mp3_prints_nothing(tmp_path):
    """libmpg123 printed "Warning: Xing stream size off by more than 1%, fuzzy seeking may be even more fuzzy than
    by design!" when it opened an MP3 cut short (a broken download): on the stderr of `musim library add`, which
    skips such a file as truncated with its reason."""
    path = write_clip(tmp_path / "a.mp3", synthesize_clip(community=1, artist_seed=3, track_no=0, sr=22050,
                                                          duration=12.0), sr=22050)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(path.read_bytes()[:5000])
    assert "Xing stream size" in stderr_of(f"import soundfile; soundfile.SoundFile({str(cut)!r})")  # unmuted
    err = stderr_of(f"""
        import io
        from pathlib import Path
        from musim.acquire.sources import probe_channels
        from musim.audio.io import load_audio
        from musim.library.formats import FileSkipped, probe

        cut = Path({str(cut)!r})
        try:
            probe(cut, min_seconds=5)
            raise SystemExit("a cut file was not skipped")
        except FileSkipped as skipped:
            assert skipped.reason == "truncated", skipped.reason
        assert probe_channels(cut.read_bytes()) == 1
        y, sr = load_audio(str(cut), sr=None, min_duration=0.1)
        assert y.size > 0
    """)
    assert err == ""
