"""A local file is checked by its analysis window and stored as it is, streamed: a long file (a two-hour DJ mix) used to
be read whole and decoded whole to make its preview (gigabytes per fetch thread)."""

from __future__ import annotations

import hashlib
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musim.acquire import AcquireSettings, Preview, check_preview, get_preview
from musim.acquire.journal import PREVIEW_PREFIX
from musim.acquire.preview_fetch import _download, store_file
from musim.acquire.providers import LocalFolderProvider
from musim.acquire.sources import probe_channels
from musim.errors import AudioError
from musim.storage.local import LocalStore
from tests.fakes.audio import tone_bytes

LONG_MIN = 25  # minutes
LONG_SR = 11025


@pytest.fixture(scope="module")
def long_mix(tmp_path_factory) -> Path:
    """25 minutes of mono 16-bit WAV (33 MB on disk, 66 MB decoded as float32), written in blocks."""
    path = tmp_path_factory.mktemp("mix") / "DJ Shadow" / "live mix.wav"
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    block = LONG_SR * 60
    with sf.SoundFile(str(path), "w", LONG_SR, channels=1, format="WAV", subtype="PCM_16") as out:
        for minute in range(LONG_MIN):
            t = np.arange(block) / LONG_SR
            out.write((0.3 * np.sin(2 * np.pi * (220 + 10 * minute) * t) + 0.01 * rng.standard_normal(block))
                      .astype(np.float32))
    return path


def _only_track(provider: LocalFolderProvider):
    (track,) = provider.top_tracks(provider.match_artist(provider.tracks[0].artist), limit=5)
    return track


def test_a_long_local_file_is_checked_and_stored_with_memory_bounded_by_its_window(long_mix, tmp_path):
    provider = LocalFolderProvider(AcquireSettings(local_dir=long_mix.parent.parent))
    track = _only_track(provider)
    store = LocalStore(tmp_path / "store")
    size = long_mix.stat().st_size
    assert size > 30_000_000
    tracemalloc.start()
    try:
        outcome, network = _download(provider, track, 1, store)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (outcome.status, network) == ("downloaded", False), outcome.error
    # the window is 30 s (1.3 MB as float32): the whole file is 33 MB, decoded 66 MB; allow some slack, not the file
    assert peak < size / 4, f"peak {peak / 1e6:.1f} MB while making the preview of a {size / 1e6:.1f} MB file"
    digest = hashlib.sha256(long_mix.read_bytes()).hexdigest()  # the file stored as it is
    assert (outcome.sha256, outcome.bytes, outcome.object_key) == (digest, size, f"{PREVIEW_PREFIX}/{digest}.wav")
    assert store.get_bytes(outcome.object_key) == long_mix.read_bytes()
    assert outcome.duration_s == pytest.approx(LONG_MIN * 60, abs=1e-3)
    assert (outcome.sample_rate, outcome.channels, outcome.format) == (LONG_SR, 1, "wav")
    assert (outcome.excerpt_offset_s, outcome.excerpt_duration_s) == track.excerpt == (735.0, 30.0)


def _old_download(provider: LocalFolderProvider, track, store: LocalStore) -> dict:
    """What the old code recorded: the whole file read (fetch), decoded and checked (check_preview), its bytes stored."""
    data = provider.fetch(track)
    info = check_preview(data, fmt=track.format, min_s=provider.min_audio_s, max_s=provider.max_audio_s)
    stored = store.put_content_addressed(data, prefix=PREVIEW_PREFIX, ext=track.format)
    return {"object_key": stored.key, "sha256": stored.sha256, "bytes": len(data), "duration_s": round(info.duration_s, 3),
            "sample_rate": info.sample_rate, "channels": probe_channels(data), "format": track.format,
            "excerpt_offset_s": track.excerpt[0], "excerpt_duration_s": track.excerpt[1]}


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3", "m4a"])
def test_the_stored_preview_of_a_short_file_is_what_the_old_whole_file_path_stored(fmt, tmp_path):
    root = tmp_path / "music"
    (root / "Muse").mkdir(parents=True)
    (root / "Muse" / f"Uprising.{fmt}").write_bytes(tone_bytes(fmt, 40.0))
    provider = LocalFolderProvider(AcquireSettings(local_dir=root))
    track = _only_track(provider)
    new_store, old_store = LocalStore(tmp_path / "new"), LocalStore(tmp_path / "old")
    outcome, _ = _download(provider, track, 1, new_store)
    old = _old_download(provider, track, old_store)
    new = {k: getattr(outcome, k) for k in old}
    # the one difference, for lossy files: the length is the container's (as the library records it), not the
    # decoder's, which may count the encoder's padding (a few ms)
    assert new.pop("duration_s") == pytest.approx(old.pop("duration_s"), abs=0.05)
    assert (outcome.status, new) == ("downloaded", old)
    assert new_store.get_bytes(outcome.object_key) == old_store.get_bytes(old["object_key"])


def test_a_local_file_is_rejected_by_its_window_with_the_library_reason(tmp_path):
    """A file silent where its window lies (a loud intro, then a minute of silence: the middle is analysed), a cut
    file and a short one are rejected with the library's words, as ``musim library add`` rejects them."""
    root = tmp_path / "music"
    (root / "Muse").mkdir(parents=True)
    t = np.arange(8000 * 10) / 8000
    with sf.SoundFile(str(root / "Muse" / "quiet.wav"), "w", 8000, channels=1, format="WAV") as out:
        out.write((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
        out.write(np.zeros(8000 * 60, dtype=np.float32))
    (root / "Muse" / "short.wav").write_bytes(tone_bytes("wav", 2.0))
    whole = tone_bytes("flac", 40.0)
    (root / "Muse" / "cut.flac").write_bytes(whole[: len(whole) // 2])
    provider = LocalFolderProvider(AcquireSettings(local_dir=root))
    tracks = provider.top_tracks(provider.match_artist("Muse"), limit=5)
    outcomes = {t.title: get_preview(provider, t) for t in tracks}
    assert not any(isinstance(o, Preview) for o in outcomes.values())
    reasons = {title: o.reason.split(":")[0] for title, o in outcomes.items()}
    assert reasons == {"quiet": "silent", "short": "too_short", "cut": "truncated"}


def _wav_at(rate: int, seconds: float = 8.0) -> bytes:
    import io

    t = np.arange(int(rate * seconds)) / rate
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), rate, format="WAV")
    return buf.getvalue()


def test_a_file_at_a_rate_outside_the_range_is_rejected_in_the_library_s_words(tmp_path):
    """A local file at 4 kHz was rejected ``implausible sample rate 4000 Hz``, a reason neither ``musim library add``
    (``sample_rate_out_of_range``, naming the range) nor the list of reasons knows; a download at that rate too."""
    root = tmp_path / "music"
    (root / "Muse").mkdir(parents=True)
    (root / "Muse" / "phone.wav").write_bytes(_wav_at(4000))
    provider = LocalFolderProvider(AcquireSettings(local_dir=root))
    got = get_preview(provider, _only_track(provider))
    assert got.reason == "sample_rate_out_of_range: sample rate 4,000 Hz is outside the 8,000-768,000 Hz musim accepts"
    with pytest.raises(AudioError, match="^sample_rate_out_of_range: sample rate 4,000 Hz is outside"):
        check_preview(_wav_at(4000), fmt="wav")


def test_a_file_written_while_it_is_stored_fails_and_leaves_no_object_under_a_wrong_key(tmp_path):
    """Stored by streaming, a file still being written (a rip in progress) could land under the sha256 of its older
    content: it fails (tried again next run) and what was copied is removed."""
    root = tmp_path / "music"
    (root / "Muse").mkdir(parents=True)
    path = root / "Muse" / "Uprising.wav"
    path.write_bytes(tone_bytes("wav", 8.0))
    provider = LocalFolderProvider(AcquireSettings(local_dir=root))
    track = _only_track(provider)

    class Growing(LocalStore):
        def put_file(self, key, src, **kw):
            info = super().put_file(key, src, **kw)
            with open(src, "ab") as fh:  # the ripper writes on
                fh.write(b"\0" * 4096)
            return info

    store = Growing(tmp_path / "store")
    outcome, network = _download(provider, track, 1, store)
    assert (outcome.status, network) == ("failed", False)
    assert "Uprising.wav changed while it was stored" in outcome.error
    assert list(store.list(PREVIEW_PREFIX)) == []


def test_a_file_gone_when_it_is_fetched_fails_and_is_tried_again_not_rejected(tmp_path):
    """A file listed, then gone or not readable when its turn came (a drive unmounted mid-run, a file being moved):
    the whole-file path failed it (tried again next run), the window path rejected it 'unreadable', given up for good
    (until --retry) although nothing is wrong with its audio."""
    root = tmp_path / "music"
    (root / "Muse").mkdir(parents=True)
    path = root / "Muse" / "Uprising.wav"
    path.write_bytes(tone_bytes("wav", 8.0))
    provider = LocalFolderProvider(AcquireSettings(local_dir=root))
    track = _only_track(provider)
    path.unlink()
    outcome, network = _download(provider, track, 1, LocalStore(tmp_path / "store"))
    assert (outcome.status, network) == ("failed", False)
    assert outcome.error.startswith(f"cannot read {path}")
    path.write_bytes(tone_bytes("wav", 8.0))  # back: the next run stores it
    assert _download(provider, track, 1, LocalStore(tmp_path / "store"))[0].status == "downloaded"


def test_a_silent_local_file_shifted_off_zero_is_rejected_as_a_download_is(tmp_path):
    """A silent recording with a DC offset (a constant 0.2 and faint hiss): check_preview (load_audio) measures the
    level without the offset and rejects it 'silent', as the feature build would; the local window check counted the
    offset as sound and stored it."""
    root = tmp_path / "music"
    (root / "Muse").mkdir(parents=True)
    sr = 22050
    offset = 0.2 + 1e-4 * np.random.default_rng(0).standard_normal(sr * 40)
    sf.write(str(root / "Muse" / "offset.wav"), offset.astype(np.float32), sr)
    sf.write(str(root / "Muse" / "music.wav"),
             (0.2 + 0.3 * np.sin(2 * np.pi * 440 * np.arange(sr * 40) / sr)).astype(np.float32), sr)
    provider = LocalFolderProvider(AcquireSettings(local_dir=root))
    got = {t.title: get_preview(provider, t) for t in provider.top_tracks(provider.match_artist("Muse"), limit=5)}
    assert not isinstance(got["offset"], Preview) and got["offset"].reason.startswith("silent: RMS level")
    with pytest.raises(AudioError, match="^silent"):
        check_preview((root / "Muse" / "offset.wav").read_bytes(), fmt="wav", max_s=None)
    assert isinstance(got["music"], Preview)  # music on an offset is still music


def test_an_old_stored_copy_of_a_local_file_is_touched_when_reused(tmp_path):
    """Garbage collection keeps what changed within its grace period: a local file whose content is already stored
    (an old copy no row names) makes that object changed now, instead of leaving it old until its row is written."""
    store = LocalStore(tmp_path / "objects")
    path = tmp_path / "a.wav"
    path.write_bytes(tone_bytes("wav", seconds=1.0))
    first = store_file(store, path, ext="wav")
    old = time.time() - 3 * 24 * 3600
    os.utime(store.root / first.key, (old, old))
    again = store_file(store, path, ext="wav")
    assert again.key == first.key and time.time() - (store.root / first.key).stat().st_mtime < 300
    assert again.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
