"""Where a preview's audio comes from and what its header says: the URL as stored and shown (without what signs or
expires it), the stable source key a rerun recognises the audio by, and the channel count read off the bytes."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from musim.acquire.models import TrackCandidate
from musim.quiet import sound_file
from musim.redact import is_secret_name

__all__ = ["VOLATILE_PARAMS", "probe_channels", "public_url", "source_key"]

#: Query parameters that sign or expire a URL (Deezer ``hdnea``, S3/CloudFront signatures): dropped from
#: the source key, so a re-signed URL of the same preview is recognised.
VOLATILE_PARAMS = {"hdnea", "hmac", "exp", "expires", "signature", "policy", "key-pair-id", "token", "sig"}


def public_url(url: str) -> str:
    """``url`` as it is stored and shown (the journal, ``preview.source_url``, ``musim previews``): without what signs,
    expires or authorises it (Deezer's ``hdnea``, S3's ``X-Amz-*``, any secret-named parameter, user info), which
    is no address of the audio but a short-lived key to it. A URL that does not parse (``http://[::1``: an unbalanced
    bracket) keeps only what comes before its ``?`` or ``#``, without user info: its download fails on its own."""
    try:
        parts = urlsplit(url)
    except ValueError:
        head = re.split(r"[?#]", url, maxsplit=1)[0]
        scheme, sep, rest = head.partition("://")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else head
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in VOLATILE_PARAMS and not k.lower().startswith("x-amz-") and not is_secret_name(k)]
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query=urlencode(query), fragment=""))


def source_key(track: TrackCandidate) -> str | None:
    """Where ``track``'s audio comes from, stable across runs: ``<provider>:<url without what signs, expires or
    authorises it>`` (:func:`public_url`: it is stored, in the journal and the warehouse, so no credential either) or
    ``local:<absolute path>``; ``None`` without audio."""
    if track.local_path:
        return f"local:{Path(track.local_path).absolute().as_posix()}"
    if not track.preview_url:
        return None
    return f"{track.provider}:{public_url(track.preview_url)}"


def probe_channels(data: bytes) -> int | None:
    """Number of audio channels from the header (soundfile, else PyAV); ``None`` if unreadable."""
    with contextlib.suppress(Exception):  # not a format soundfile reads: PyAV next
        with sound_file(io.BytesIO(data)) as f:
            return int(f.channels)
    try:
        import av

        with av.open(io.BytesIO(data), mode="r") as container:
            return int(container.streams.audio[0].codec_context.channels)
    except Exception:
        return None
