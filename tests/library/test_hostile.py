"""A user's own music folder with hostile files: each bad file costs only itself, with its reason, and the rest is
stored."""

from __future__ import annotations

import pytest

from musim import warehouse
from musim.library import add
from tests.library.conftest import write_audio, write_tags


def rows(query: str, *params):
    with warehouse.writer() as con:
        return con.execute(query, list(params)).fetchall()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_track_number_tag_of_any_size_stores_the_file(tmp_path, workers):
    # A TRACKNUMBER of 5,000 digits stopped the whole add (Python refuses to convert a string of over 4,300 digits),
    # and one past 2^31-1 too, at the end, when the warehouse refused the row: nothing of the folder was stored. Now
    # such a tag is no track number and every file is stored.
    root = tmp_path / "music"
    numbers = {"huge.flac": "9" * 5000, "big.flac": "99999999999", "padded.flac": "0" * 40 + "7/12", "ok.flac": "3"}
    for i, (name, number) in enumerate(numbers.items()):
        path = write_audio(root / "Band" / name, "flac", seconds=6, freq=220 + 70 * i, seed=i)
        write_tags(path, "flac", artist="Band", title=name, tracknumber=number)
    summary = add([root], workers=workers).to_json()
    assert (summary["files"], summary["stored"], summary["skipped"]) == (4, 4, [])
    got = dict(rows("SELECT title, tracknumber FROM library_track"))
    assert got == {"huge.flac": None, "big.flac": None, "padded.flac": 7, "ok.flac": 3}


def test_audio_of_more_channels_than_flac_holds_is_stored_as_its_mono_mix(tmp_path):
    # A 10-channel WAV (a multitrack field recording) stopped the whole add: its excerpt is stored as FLAC, which
    # holds at most 8 channels, and libsndfile's "Format not recognised" came out of the worker. Now such an excerpt
    # is the mean of its channels (the mono mix every feature is computed from), and the others are stored as before.
    import io

    import numpy as np
    import soundfile as sf

    from musim.audio import load_audio
    from musim.storage import open_store

    sr = 22050
    t = np.arange(8 * sr) / sr
    root = tmp_path / "music" / "Band"
    root.mkdir(parents=True)
    originals = {}
    for channels in (2, 8, 10, 16):
        y = np.stack([0.3 * np.sin(2 * np.pi * (200 + 10 * channels + 30 * i) * t) for i in range(channels)], axis=1)
        sf.write(root / f"ch{channels}.wav", y.astype(np.float32), sr, subtype="PCM_16")
        originals[f"ch{channels}"] = root / f"ch{channels}.wav"
    summary = add([tmp_path / "music"], workers=2).to_json()
    assert (summary["stored"], summary["skipped"]) == (4, [])
    store = open_store()
    for title, key in rows("SELECT title, object_key FROM library_track"):
        excerpt = store.get_bytes(key)
        stored_channels = sf.info(io.BytesIO(excerpt)).channels
        source_channels = int(title.removeprefix("ch"))
        assert stored_channels == (source_channels if source_channels <= 8 else 1)
        mono_stored, _ = load_audio(excerpt, sr=sr)
        mono_source, _ = load_audio(originals[title].read_bytes(), sr=sr, offset=0.0, duration=8.0)
        np.testing.assert_allclose(mono_stored, mono_source[: mono_stored.size], atol=2 / 32768)


def test_a_file_at_a_rate_outside_the_accepted_range_is_skipped_naming_it(tmp_path, capsys):
    # `musim library add` stored WAVs at 1 Hz and 100 Hz, rates acquisition refuses ("implausible sample rate") and
    # the previews gate flags on every track (`implausible_audio`). One range now, in musim.audio.formats: a file
    # outside it is skipped with its rate and the range, recorded and listed like any skip; the files inside it, up
    # to a 768 kHz recording (whose excerpt is past FLAC's highest rate: stored as 16-bit WAV), are stored and get
    # their features, and the previews gate passes them.
    import io
    import json

    import numpy as np
    import soundfile as sf

    from musim.audio.formats import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
    from musim.cli import main
    from musim.features import BuildOptions, build
    from musim.storage import open_store

    root = tmp_path / "music" / "Band"
    root.mkdir(parents=True)
    rates = (1, 100, MIN_SAMPLE_RATE - 1, MIN_SAMPLE_RATE, 44100, 192000, MAX_SAMPLE_RATE, MAX_SAMPLE_RATE + 1)
    for sr in rates:
        t = np.arange(6 * sr) / sr
        freq = min(440.0, sr / 4)
        sf.write(root / f"sr{sr}.wav", (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, subtype="PCM_16")
    summary = add([tmp_path / "music"], workers=1)
    outside = (1, 100, MIN_SAMPLE_RATE - 1, MAX_SAMPLE_RATE + 1)
    assert sorted((s["path"].rsplit("/", 1)[1], s["reason"]) for s in summary.to_json()["skipped"]) == sorted(
        (f"sr{sr}.wav", "sample_rate_out_of_range") for sr in outside)
    details = {p.rsplit("/", 1)[1]: d for p, d in summary.details.items()}
    assert details["sr100.wav"] == "sample rate 100 Hz is outside the 8,000-768,000 Hz musim accepts"
    assert details["sr768001.wav"] == "sample rate 768,001 Hz is outside the 8,000-768,000 Hz musim accepts"
    store = open_store()
    stored = {title: sf.info(io.BytesIO(store.get_bytes(key)))
              for title, key in rows("SELECT title, object_key FROM library_track")}
    assert {t: (i.samplerate, i.format) for t, i in stored.items()} == {
        "sr8000": (8000, "FLAC"), "sr44100": (44100, "FLAC"), "sr192000": (192000, "FLAC"),
        "sr768000": (768000, "WAV")}
    recorded = dict(rows("SELECT source_path, detail FROM library_skip WHERE reason = 'sample_rate_out_of_range'"))
    assert {p.rsplit("/", 1)[1]: d for p, d in recorded.items()} == details
    capsys.readouterr()
    assert main(["library", "skipped", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "sample rate 1 Hz is outside the 8,000-768,000 Hz musim accepts" in json.dumps(listed)
    assert main(["quality", "check", "--dataset", "previews", "--no-docs"]) == 0, capsys.readouterr()
    result = build(["track_log_mel"], options=BuildOptions(workers=1, progress=False), publish=False)
    assert (result.computed, result.rejects_by_reason) == (4, {})



def test_musim_library_add_names_a_file_at_4_khz_and_one_at_1_mhz_by_their_rate_not_undecodable(tmp_path, capsys):
    # A file at a rate outside 8-768 kHz decodes; it was skipped `undecodable`, which said the file was broken. Its
    # reason is `sample_rate_out_of_range` now, with a line naming the file, its rate and the range, in the summary,
    # in --json, in the warehouse and in `musim library skipped`; a rerun reports the recorded skip the same way.
    import json

    import numpy as np
    import soundfile as sf

    from musim.cli import main

    root = tmp_path / "music" / "Band"
    root.mkdir(parents=True)
    for sr in (4000, 1_000_000, 22050):
        t = np.arange(6 * sr) / sr
        sf.write(root / f"at{sr}.wav", (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), sr,
                 subtype="PCM_16")
    assert sf.info(root / "at1000000.wav").samplerate == 1_000_000  # the writer keeps the rate asked for
    capsys.readouterr()
    assert main(["--width", "0", "library", "add", str(tmp_path / "music"), "--workers", "1", "--no-progress"]) == 0
    text = capsys.readouterr().out
    lines = {name: [ln for ln in text.splitlines() if name in ln] for name in ("at4000.wav", "at1000000.wav")}
    assert lines["at4000.wav"] == [lines["at4000.wav"][0]] and lines["at4000.wav"][0].startswith(
        "sample_rate_out_of_range") and lines["at4000.wav"][0].endswith(
        "sample rate 4,000 Hz is outside the 8,000-768,000 Hz musim accepts")
    assert len(lines["at1000000.wav"]) == 1 and lines["at1000000.wav"][0].startswith(
        "sample_rate_out_of_range") and lines["at1000000.wav"][0].endswith(
        "sample rate 1,000,000 Hz is outside the 8,000-768,000 Hz musim accepts")
    assert "undecodable" not in text
    assert rows("SELECT title FROM library_track") == [("at22050",)]
    recorded = {p.rsplit("/", 1)[1]: r for p, r in rows("SELECT source_path, reason FROM library_skip")}
    assert recorded == {"at4000.wav": "sample_rate_out_of_range", "at1000000.wav": "sample_rate_out_of_range"}
    assert main(["library", "add", str(tmp_path / "music"), "--json", "--no-progress"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert sorted((s["path"].rsplit("/", 1)[1], s["reason"]) for s in again["skipped"]) == [
        ("at1000000.wav", "sample_rate_out_of_range"), ("at4000.wav", "sample_rate_out_of_range")]
    assert main(["--width", "0", "library", "skipped"]) == 0
    listed = capsys.readouterr().out
    assert "sample_rate_out_of_range" in listed and "sample rate 4,000 Hz is outside" in listed


def test_the_skip_reason_migration_keeps_every_row_and_names_rate_skips_recorded_before(monkeypatch, musim_home):
    """036 rebuilds library_skip with the new reason in its CHECK: a warehouse filled under 035 keeps every row, and
    the rows an out-of-range rate was recorded `undecodable` for take `sample_rate_out_of_range`."""
    import datetime as dt

    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 36])
    con = wh.connect()
    seen = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    before = [("/m/a.wav", "aa", "undecodable", "sample rate 100 Hz is outside the 8,000-768,000 Hz musim accepts"),
              ("/m/b.wav", "bb", "undecodable", "the analysis window does not decode: RuntimeError: x"),
              ("/m/c.wav", None, "unreadable", "Permission denied"),
              ("/m/d.wav", "dd", "too_short", "2.00 s < 5 s"),
              ("/m/e.wav", "ee", "undecodable", None)]
    con.executemany("INSERT INTO library_skip VALUES (?, ?, ?, ?, ?)", [(*r, seen) for r in before])
    with pytest.raises(Exception, match="CHECK"):
        con.execute("INSERT INTO library_skip VALUES ('/m/x.wav', 'x', 'sample_rate_out_of_range', NULL, now())")
    con.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    con = wh.connect()
    after = con.execute("SELECT source_path, source_sha256, reason, detail, seen_at FROM library_skip "
                        "ORDER BY source_path").fetchall()
    assert [r[:4] for r in after] == [("/m/a.wav", "aa", "sample_rate_out_of_range", before[0][3]), *before[1:]]
    assert {r[4] for r in after} == {seen}
    con.execute("INSERT INTO library_skip VALUES ('/m/x.wav', 'x', 'sample_rate_out_of_range', NULL, now())")
    with pytest.raises(Exception, match="CHECK"):
        con.execute("INSERT INTO library_skip VALUES ('/m/y.wav', 'y', 'bad vibes', NULL, now())")
    with pytest.raises(Exception, match="PRIMARY KEY|Duplicate"):
        con.execute("INSERT INTO library_skip VALUES ('/m/a.wav', 'a', 'empty', NULL, now())")
    con.close()


def _wav_with_sizes(seconds: float, *, riff: int | None, data: int | None, keep: float = 1.0) -> bytes:
    """A 16-bit WAV of a tone whose RIFF and data sizes are set to ``riff`` and ``data`` (None: as written), cut to
    the first ``keep`` of its bytes."""
    import io
    import struct

    import numpy as np
    import soundfile as sf

    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sr, format="WAV", subtype="PCM_16")
    raw = bytearray(buf.getvalue())
    at = raw.find(b"data")
    if riff is not None:
        raw[4:8] = struct.pack("<I", riff)
    if data is not None:
        raw[at + 4:at + 8] = struct.pack("<I", data)
    return bytes(raw[: int(len(raw) * keep)])


def test_a_wav_written_to_a_pipe_is_whole_and_one_claiming_more_than_it_holds_is_truncated(tmp_path):
    # A WAV written to a pipe and saved whole (`ffmpeg -i x.mp3 -f wav - > x.wav`, arecord, `sox ... -t wav -`) has
    # a placeholder for its sizes (0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000): it was skipped `truncated` ("decodes to 8.00 s
    # of 97391.55 s declared"). Its length is now what it holds; a header with a real size past the data is still cut.
    root = tmp_path / "music" / "Band"
    root.mkdir(parents=True)
    (root / "ffmpeg.wav").write_bytes(_wav_with_sizes(8, riff=0xFFFFFFFF, data=0xFFFFFFFF))
    (root / "arecord.wav").write_bytes(_wav_with_sizes(9, riff=0x7FFFFFFF, data=0x7FFFFFFF))
    (root / "sox.wav").write_bytes(_wav_with_sizes(10, riff=0x7FFFF024, data=0x7FFFF000))
    (root / "cut.wav").write_bytes(_wav_with_sizes(30, riff=None, data=None, keep=0.5))
    summary = add([tmp_path / "music"], workers=1).to_json()
    assert [(s["path"].rsplit("/", 1)[1], s["reason"]) for s in summary["skipped"]] == [("cut.wav", "truncated")]
    got = dict(rows("SELECT title, round(duration_s, 2) FROM library_track"))
    assert got == {"ffmpeg": 8.0, "arecord": 9.0, "sox": 10.0}


def test_an_adpcm_wav_is_as_long_as_it_is_and_cut_one_is_truncated(tmp_path):
    # The tag library declares an ADPCM WAV's length as its bytes over 4 bits a sample, a hundredth of it (blocks
    # of many samples): a 40-second IMA or MS ADPCM WAV (voice recorders, old games) was skipped `too_short (0.01 s
    # < 5 s)`. Its length is now its fact chunk's sample count, so a cut one is still found `truncated`.
    import numpy as np
    import soundfile as sf

    sr = 22050
    root = tmp_path / "music" / "Band"
    root.mkdir(parents=True)
    for k, subtype in enumerate(("IMA_ADPCM", "MS_ADPCM")):
        t = np.arange(40 * sr) / sr
        y = 0.3 * np.sin(2 * np.pi * (300 + 40 * k) * t) + 0.02 * np.random.default_rng(k).standard_normal(t.size)
        sf.write(root / f"{subtype}.wav", y.astype(np.float32), sr, subtype=subtype)
    whole = (root / "IMA_ADPCM.wav").read_bytes()
    (root / "cut.wav").write_bytes(whole[: len(whole) // 2])
    summary = add([tmp_path / "music"], workers=1).to_json()
    assert [(s["path"].rsplit("/", 1)[1], s["reason"]) for s in summary["skipped"]] == [("cut.wav", "truncated")]
    got = dict(rows("SELECT title, round(duration_s) FROM library_track"))
    assert got == {"IMA_ADPCM": 40.0, "MS_ADPCM": 40.0}


def test_a_gsm_or_g721_wav_is_read_to_its_window_without_seeking(tmp_path):
    # libsndfile cannot seek in GSM 6.10 or G.721 WAV (old telephony and voice-mail recordings): the excerpt from the
    # middle failed "Seek attempted on unseekable file type" and the file was skipped `undecodable`. The frames before
    # the window are now read and dropped: the window is what a decode from the start gives, and the file is stored.
    import io

    import numpy as np
    import soundfile as sf

    from musim.audio.window import read_window

    sr = 8000
    t = np.arange(40 * sr) / sr
    y = (0.3 * np.sin(2 * np.pi * 300 * t) + 0.02 * np.random.default_rng(0).standard_normal(t.size)).astype(np.float32)
    root = tmp_path / "music" / "Band"
    root.mkdir(parents=True)
    for subtype in ("GSM610", "G721_32"):
        path = root / f"{subtype}.wav"
        sf.write(path, y, sr, subtype=subtype)
        with sf.SoundFile(path) as f:
            whole = f.read(frames=f.frames, dtype="float32", always_2d=True).T
        window, rate = read_window(io.BytesIO(path.read_bytes()), offset=17.3, duration=10.0, pyav=False)
        assert rate == sr
        np.testing.assert_array_equal(window, whole[:, int(17.3 * sr):int(17.3 * sr) + 10 * sr])
    summary = add([tmp_path / "music"], workers=1).to_json()
    assert (summary["stored"], summary["skipped"]) == (2, [])


def test_wave64_and_caf_files_are_stored_not_skipped_as_not_audio(tmp_path):
    # Sony Wave64 (long recordings past WAV's 4 GiB) and Apple's Core Audio Format (Logic, GarageBand exports) were
    # skipped `not_audio`: no magic bytes told them, though libsndfile reads both. A cut one is truncated.
    from tests.library.conftest import UNTAGGED

    root = tmp_path / "music" / "Band"
    for fmt in UNTAGGED:
        write_audio(root / f"take.{fmt}", fmt, seconds=8)
        data = write_audio(tmp_path / f"long.{fmt}", fmt, seconds=20).read_bytes()
        (root / f"cut.{fmt}").write_bytes(data[: len(data) // 2])
    summary = add([tmp_path / "music"], workers=1).to_json()
    assert sorted((s["path"].rsplit("/", 1)[1], s["reason"]) for s in summary["skipped"]) == [
        ("cut.caf", "truncated"), ("cut.w64", "truncated")]
    got = sorted(rows("SELECT source_path, source_format, round(duration_s, 2) FROM library_track"))
    assert [(p.rsplit("/", 1)[1], f, d) for p, f, d in got] == [("take.caf", "caf", 8.0), ("take.w64", "w64", 8.0)]


def _flac_from_a_pipe(seconds: float, *, keep: float = 1.0, freq: float = 330.0) -> tuple[bytes, bytes]:
    """A 16-bit stereo FLAC of a tone as an encoder writing to a pipe leaves it (``flac -``, ``ffmpeg -f flac -``):
    STREAMINFO's total samples, MD5 and frame sizes 0, as it could not go back to fill them in; cut to the first
    ``keep`` of its bytes. Also the same FLAC as written to a file."""
    import io

    import numpy as np
    import soundfile as sf

    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    y = np.stack([0.3 * np.sin(2 * np.pi * freq * t), 0.2 * np.sin(2 * np.pi * 1.5 * freq * t)], axis=1)
    buf = io.BytesIO()
    sf.write(buf, y.astype(np.float32), sr, format="FLAC", subtype="PCM_16")
    whole = buf.getvalue()
    raw = bytearray(whole)
    assert raw[:4] == b"fLaC" and raw[4] & 0x7F == 0  # STREAMINFO first, its 34 bytes from offset 8
    raw[12:18] = bytes(6)  # the smallest and largest frame sizes: unknown
    raw[21] &= 0xF0  # the total samples' top 4 bits (below them: channels and bits per sample)
    raw[22:26] = bytes(4)  # ... and its low 32
    raw[26:42] = bytes(16)  # the MD5 of the audio: unknown
    return bytes(raw[: int(len(raw) * keep)]), whole


def test_a_flac_of_unknown_length_is_read_whole_and_a_cut_one_is_truncated(tmp_path):
    # A FLAC written to a pipe (`flac -`, `ffmpeg -i x.wav -f flac - > x.flac`) declares 0 samples: libsndfile took
    # it for an endless stream, failed reading its end ("Internal psf_fseek() failed") and the complete file was
    # skipped `truncated`. It is now decoded to its end (its length is what it holds) and stored, and its whole
    # audio gets its features; one cut mid-frame is still truncated.
    from musim.features import BuildOptions, build

    root = tmp_path / "music" / "Band"
    root.mkdir(parents=True)
    (root / "piped.flac").write_bytes(_flac_from_a_pipe(9)[0])
    (root / "cut.flac").write_bytes(_flac_from_a_pipe(30, freq=500, keep=0.5)[0])
    (root / "cut-near-end.flac").write_bytes(_flac_from_a_pipe(12, freq=600, keep=0.99)[0])
    summary = add([tmp_path / "music"], workers=1, keep_whole=True)
    assert sorted((s["path"].rsplit("/", 1)[1], s["reason"]) for s in summary.to_json()["skipped"]) == [
        ("cut-near-end.flac", "truncated"), ("cut.flac", "truncated")]
    assert "a FLAC of unknown length (written to a pipe) whose decoding fails before its end" in \
        summary.details[str(root / "cut.flac")]
    assert rows("SELECT title, round(duration_s, 2), source_format FROM library_track") == [("piped", 9.0, "flac")]
    result = build(["track_log_mel"], options=BuildOptions(workers=1, progress=False), publish=False)
    assert (result.computed, result.rejects_by_reason) == (1, {})


def _long_flac_from_a_pipe(path, minutes: int, sr: int = 22050, *, piped: bool = True):
    """A mono 16-bit FLAC of ``minutes`` of tone and a little noise, written a minute at a time (never whole in
    memory), then (``piped``) its STREAMINFO made a pipe's (:func:`_flac_from_a_pipe`): total samples, frame sizes
    and MD5 0."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(60 * sr) / sr
    with sf.SoundFile(path, "w", sr, 1, format="FLAC", subtype="PCM_16") as f:
        for m in range(minutes):
            f.write((0.3 * np.sin(2 * np.pi * (220 + m) * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32))
    if not piped:
        return path
    with open(path, "r+b") as fh:
        raw = bytearray(fh.read(42))
        raw[12:18], raw[21], raw[22:26], raw[26:42] = bytes(6), raw[21] & 0xF0, bytes(4), bytes(16)
        fh.seek(0)
        fh.write(bytes(raw))
    return path


def test_a_window_deep_into_a_long_flac_of_unknown_length_costs_the_window_s_memory_not_the_file_s(tmp_path):
    # libsndfile cannot read a FLAC that declares no length, so its window was decoded with PyAV from the start and
    # every block kept up to the window's end: the middle 30 s of 30 minutes held 15 minutes of float32 samples
    # (79 MiB, and twice that while stacked), the last 30 s all of it. The blocks before the window are dropped as
    # they are decoded now; the window is the same samples. The length check (probe) counted frames without keeping
    # them already: held here to stay so.
    import tracemalloc

    import numpy as np

    from musim.audio import load_audio
    from musim.library.formats import probe, read_excerpt

    sr, minutes = 22050, 30
    piped = _long_flac_from_a_pipe(tmp_path / "piped.flac", minutes, sr)
    decoded_bytes = minutes * 60 * sr * 4  # the whole file as float32 samples
    tracemalloc.start()
    try:
        info = probe(piped)
        length_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        window = read_excerpt(piped, info, offset_s=885.0, duration_s=30.0)
        window_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        tail, _ = load_audio(piped, sr=None, offset=1770.0, duration=30.0)
        tail_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.duration_s, info.declared_s, info.sample_rate) == (minutes * 60.0, None, sr)
    assert length_peak < decoded_bytes / 16
    assert window_peak < decoded_bytes / 6 and tail_peak < decoded_bytes / 6  # the window's: 4-6x its 2.6 MB
    known = _long_flac_from_a_pipe(tmp_path / "known.flac", minutes, sr, piped=False)  # libsndfile seeks in it
    np.testing.assert_array_equal(window, read_excerpt(known, probe(known), offset_s=885.0, duration_s=30.0))
    np.testing.assert_array_equal(tail, load_audio(known, sr=None, offset=1770.0, duration=30.0)[0])


def test_a_flac_of_unknown_length_gives_the_samples_of_the_same_flac_written_to_a_file():
    import numpy as np

    from musim.audio import load_audio
    from musim.library.formats import probe, read_excerpt

    piped, whole = _flac_from_a_pipe(12)
    got, want = probe(piped), probe(whole)
    assert (got.duration_s, got.sample_rate, got.channels, got.declared_s) == (12.0, 22050, 2, None)
    for offset in (0.0, 5.5, 9.0):
        np.testing.assert_array_equal(read_excerpt(piped, got, offset_s=offset, duration_s=3.0),
                                      read_excerpt(whole, want, offset_s=offset, duration_s=3.0))
    np.testing.assert_array_equal(load_audio(piped, sr=None, mono=False)[0], load_audio(whole, sr=None, mono=False)[0])
