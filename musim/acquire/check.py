"""Checks on downloaded audio before it counts as a preview; a failure is a :class:`RejectedPreview`."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from musim.acquire.models import Preview, RejectedPreview, TrackCandidate
from musim.audio.formats import rate_outside
from musim.errors import AudioError

if TYPE_CHECKING:
    from musim.acquire.providers.base import Provider

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioInfo:
    """What decoding measured: decoded length (s), the length the header declares (s, ``None`` if it
    does not say), native sample rate (Hz)."""

    duration_s: float
    declared_s: float | None
    sample_rate: int


def declared_duration(data: bytes) -> float | None:
    """The length the container/header declares (Xing/Info for mp3, moov for m4a), without decoding.

    A truncated download still declares the full length while decoding only what is there, so the two
    disagree; ``None`` when the header says nothing or cannot be read.
    """
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.audio[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            return container.duration / 1e6 if container.duration else None
    except Exception:  # anything unreadable: decoding below gives the real reason
        return None


def check_preview(
    data: bytes,
    *,
    fmt: str | None,
    min_s: float = 5.0,
    max_s: float | None = 35.0,
    key: str | None = None,
) -> AudioInfo:
    """Check downloaded audio: non-empty, decodes whole, not truncated, sane rate, not silent, and
    ``min_s <= length <= max_s``.

    Decoding is :func:`musim.audio.load_audio` (soundfile for mp3/ogg/flac/wav, PyAV for m4a) at the
    native rate; the declared length comes from the header (:func:`declared_duration`).

    Parameters
    ----------
    data : bytes
        The file as downloaded.
    fmt : str or None
        Container hint: ``"mp3"``, ``"m4a"``, ``"flac"``, ``"ogg"``, ``"wav"`` (used in messages; the
        decoder recognises the container by its bytes).
    min_s, max_s : float
        Accepted length in seconds; ``max_s=None`` for whole local tracks.
    key : str or None
        Name of the audio in error messages.

    Returns
    -------
    AudioInfo

    Raises
    ------
    AudioError
        Starting with the reason the file is unusable: the library's words (``empty``, ``not_audio``,
        ``undecodable``, ``truncated``, ``too_short``, ``silent``, ``sample_rate_out_of_range``), or ``too long``.
    """
    from musim.audio import BadAudioError, load_audio
    from musim.library.formats import FileSkipped, canonical_reason, probe

    if not data:
        raise AudioError("empty: 0 bytes downloaded")
    try:  # the library's checks, by content: not_audio, undecodable, truncated (an Ogg stream without its end)
        probed = probe(data, min_seconds=0.0, key=key)
    except FileSkipped as err:
        raise AudioError(f"{err.reason}: {err.detail[:200]}" if err.detail else err.reason) from None
    if max_s is not None and probed.duration_s > max_s:  # said before decoding: hours of FLAC fit in a few MiB
        raise AudioError(f"too long for a preview: {probed.duration_s:.2f} s > {max_s:g} s")
    try:  # never more than a preview's length decoded (a header may say less than the stream holds)
        y, sr = load_audio(data, sr=None, mono=True, key=key or f"<{fmt or 'audio'} bytes>", min_duration=0.0,
                           duration=None if max_s is None else max_s + 1.0)
    except BadAudioError as err:
        reason = canonical_reason(err.reason)
        raise AudioError(f"{reason}: {err.detail[:200]}" if err.detail else reason) from None
    info = AudioInfo(y.shape[-1] / sr, declared_duration(data), int(sr))
    if (outside := rate_outside(info.sample_rate)) is not None:  # the library's reason and words
        raise AudioError(f"sample_rate_out_of_range: {outside}")
    if info.declared_s and info.duration_s < 0.9 * info.declared_s - 0.5:
        raise AudioError(f"truncated: decodes to {info.duration_s:.2f} s of {info.declared_s:.2f} s declared")
    if info.duration_s < min_s:
        raise AudioError(f"too_short: {info.duration_s:.2f} s < {min_s:g} s")
    if max_s is not None and info.duration_s > max_s:
        raise AudioError(f"too long for a preview: {info.duration_s:.2f} s > {max_s:g} s")
    return info


def get_preview(provider: Provider, track: TrackCandidate) -> Preview | RejectedPreview:
    """Fetch ``track`` from ``provider`` and check it.

    Returns a :class:`Preview`, or a :class:`RejectedPreview` with the reason when the audio is unusable
    (so one bad file does not stop a batch). A local file is checked by its analysis window, never decoded whole
    (:meth:`~musim.acquire.providers.local.LocalFolderProvider.preview`). A failed download raises
    :class:`~musim.acquire.errors.ProviderError` (the caller records ``failed``).
    """
    from musim.acquire.providers.local import LocalFolderProvider

    if isinstance(provider, LocalFolderProvider):  # checked where it lies, by its window: never read whole
        got = provider.preview(track)
        if isinstance(got, RejectedPreview):
            log.info("%s: rejected track %s: %s", track.provider, track.provider_track_id, got.reason)
        return got
    data = provider.fetch(track)
    fmt = track.format or ""
    try:
        info = check_preview(
            data, fmt=fmt, min_s=provider.min_audio_s, max_s=provider.max_audio_s,
            key=f"{track.provider}:{track.provider_track_id}",
        )
    except AudioError as err:
        log.info("%s: rejected track %s: %s", track.provider, track.provider_track_id, err)
        return RejectedPreview(track, str(err))
    return Preview(track, data, fmt, round(info.duration_s, 3), info.sample_rate)
