"""Every download is checked: empty, truncated, corrupt, silent, too short or too long audio is rejected."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from musim.acquire import Preview, RejectedPreview, check_preview, get_preview
from musim.acquire.providers import DeezerProvider, ItunesProvider
from musim.errors import AudioError
from tests.fakes.audio import tone_bytes
from tests.fakes.provider_server import FakeArtist, FakeProviderServer, FakeTrack, Fault


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "flac", "ogg", "wav"])
def test_good_audio_passes(fmt):
    info = check_preview(tone_bytes(fmt, 8.0), fmt=fmt)
    assert info.sample_rate == 22050 and info.duration_s == pytest.approx(8.0, abs=0.1)


@pytest.mark.parametrize(
    ("data", "fmt", "reason"),
    [
        (b"", "mp3", "^empty"),
        (tone_bytes("mp3", 8.0)[:4000], "mp3", "truncated"),
        (tone_bytes("mp3", 30.0)[: len(tone_bytes("mp3", 30.0)) // 2], "mp3", "truncated"),  # 15 s left
        (tone_bytes("m4a", 8.0)[:20000], "m4a", "undecodable"),
        (np.random.default_rng(0).bytes(20000), "mp3", "^not_audio"),
        (b"<html><body>403 Forbidden</body></html>", "m4a", "^not_audio"),
        (tone_bytes("mp3", 3.0), "mp3", "^too_short"),
            (tone_bytes("ogg", 20.0)[: len(tone_bytes("ogg", 20.0)) // 2], "ogg", "^truncated"),
        (tone_bytes("m4a", 40.0), "m4a", "too long"),
    ],
    ids=["empty", "truncated-mp3", "half-mp3", "truncated-m4a", "noise", "html", "short", "half-ogg", "long"],
)
def test_bad_audio_is_rejected_with_a_reason(data, fmt, reason):
    with pytest.raises(AudioError, match=reason):
        check_preview(data, fmt=fmt)


def test_silence_is_rejected():
    buf = io.BytesIO()
    sf.write(buf, np.zeros(22050 * 6, dtype=np.float32), 22050, format="WAV")
    with pytest.raises(AudioError, match="silent"):
        check_preview(buf.getvalue(), fmt="wav")


def test_bounds_are_parameters():
    data = tone_bytes("mp3", 8.0)
    with pytest.raises(AudioError, match="too_short"):
        check_preview(data, fmt="mp3", min_s=10)
    assert check_preview(tone_bytes("m4a", 40.0), fmt="m4a", max_s=None).duration_s > 39


@pytest.mark.server
@pytest.mark.parametrize(
    ("cls", "fault", "reason"),
    [
        (DeezerProvider, Fault("truncate", keep_bytes=3000, times=1), "truncated"),
        (DeezerProvider, Fault("corrupt", times=1), "not_audio"),
        (ItunesProvider, Fault("truncate", keep_bytes=20000, times=1), "undecodable"),
        (ItunesProvider, Fault("empty", times=1), "empty"),
    ],
)
def test_bad_download_is_a_rejected_preview_and_the_batch_goes_on(provider_server, cls, fault, reason):
    provider_server.add_fault(r"^/audio/", fault)
    with cls(provider_server.settings()) as provider:
        tracks = provider.top_tracks(provider.match_artist("Muse"))
        outcomes = [get_preview(provider, t) for t in tracks]
    assert isinstance(outcomes[0], RejectedPreview) and reason in outcomes[0].reason
    assert outcomes[0].track == tracks[0]
    assert all(isinstance(o, Preview) for o in outcomes[1:]) and len(outcomes) == 3
    assert outcomes[1].data and outcomes[1].sample_rate == 22050


@pytest.mark.server
def test_short_preview_from_the_provider_is_rejected():
    artist = FakeArtist("Muse", [FakeTrack("Tiny", audio_s=2.0), FakeTrack("Fine", audio_s=6.0)])
    with FakeProviderServer([artist]) as server, DeezerProvider(server.settings()) as deezer:
        short, fine = (get_preview(deezer, t) for t in deezer.top_tracks(deezer.match_artist("Muse")))
    assert isinstance(short, RejectedPreview) and "too_short" in short.reason
    assert isinstance(fine, Preview) and fine.duration_s == pytest.approx(6.0, abs=0.1)


def test_an_hour_of_flac_is_refused_without_being_decoded_whole():
    """A 'preview' of an hour of quiet FLAC (a few MiB, under the download cap: a wrong URL, a hostile host) was decoded
    whole (an hour at 16 kHz: over 200 MB of samples; a night of it, the worker's memory) before its length was
    checked. Now the length said by the file is checked first, and no more than a preview's length is decoded."""
    import tracemalloc

    rate, noise = 16_000, np.zeros(16_000 * 60, dtype="float32")
    noise[::100] = 0.5  # a click every 100 samples: no silence, and it packs small
    buf = io.BytesIO()
    with sf.SoundFile(buf, mode="w", samplerate=rate, channels=1, format="FLAC") as f:
        for _ in range(60):
            f.write(noise)
    data = buf.getvalue()
    assert len(data) < 32 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(AudioError, match=r"^too long for a preview: 3600\.00 s > 35 s$"):
            check_preview(data, fmt="flac")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MiB traced"
