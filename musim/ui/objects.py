"""HTTP's single byte ranges (RFC 9110 14) for ``/objects/<key>``: what a ``Range`` and an ``If-Range`` header ask for,
and the headers of the answer. A browser's ``<audio>`` and ``<video>`` seek with them, and a resumed download asks
for its rest; only the bytes asked for are read from the object store.

A ``Range`` this module cannot honour as one range (another unit, several ranges, a malformed one) is ignored, and
the whole object is served (RFC 9110 14.2 allows it); an ``If-Range`` whose validator is not the object's (the
object was replaced since) has the whole object served, as does an ``If-Range`` date that is no strong validator.
Each object is sent with ``Cache-Control: no-cache`` and its validators; a copy whose ``If-None-Match`` names the
current ETag is answered 304, with nothing read from the store. So is one whose ``If-Modified-Since`` (RFC 9110
13.1.3: a client or cache that kept only the ``Last-Modified`` date) is not earlier than the object's Last-Modified,
compared to the second as the header gives it; the date is ignored when ``If-None-Match`` is there too, or when it is
no HTTP-date (or several). The route answers GET and HEAD only, the two methods the header applies to. A HEAD is
answered from the object's metadata alone (:func:`head_part`: on S3 a HeadObject), nothing of it opened.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from musim.storage import ByteRange, ObjectInfo, ObjectStore, RangeNotSatisfiable
from musim.storage.base import ObjectChunks, unsatisfiable

#: ``bytes=first-last``, ``bytes=first-`` or ``bytes=-suffix`` (ASCII digits only; the unit is case-insensitive).
_ONE_RANGE = re.compile(r"bytes=[ \t]*([0-9]*)-([0-9]*)[ \t]*", re.IGNORECASE)
#: A longer number than any object's offset (digits past this are cut: a first offset past the end, a last one cut
#: to the end, a suffix longer than the object all mean the same for a shorter number).
_MAX_DIGITS = 18
#: What an entity-tag may hold between its quotes (RFC 9110 8.8.3's etagc); another ETag is not sent.
_ETAG_CHARS = re.compile(r"[\x21\x23-\x7e]+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = f"(?P<month>{'|'.join(_MONTHS)})"
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
#: RFC 9110 5.6.7's HTTP-date, in its three forms: IMF-fixdate, and the obsolete rfc850-date and asctime-date that a
#: recipient must still accept. Anything else (another zone, two dates, a date cut short) is no HTTP-date.
_HTTP_DATES = (
    re.compile(rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>[0-9]{{2}}) {_MONTH} (?P<year>[0-9]{{4}}) {_TIME} GMT"),
    re.compile(rf"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?P<day>[0-9]{{2}})-{_MONTH}-(?P<year>[0-9]{{2}}) "
               rf"{_TIME} GMT"),
    re.compile(rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MONTH} (?P<day>[0-9]{{2}}| [0-9]) {_TIME} (?P<year>[0-9]{{4}})"),
)


def requested_range(header: str | None) -> ByteRange | None:
    """The one range a ``Range`` header asks for, or ``None``: none asked, several, or the header is malformed."""
    found = _ONE_RANGE.fullmatch(header) if header else None
    if found is None:
        return None
    first, last = (_offset(n) for n in found.groups())
    try:
        return ByteRange(first, last)
    except ValueError:  # "bytes=-", "bytes=5-3": invalid, so ignored
        return None


def _offset(digits: str) -> int | None:
    return None if not digits else int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def etag_header(info: ObjectInfo) -> str | None:
    """The object's ``ETag`` header (quoted), or ``None`` when it has no etag HTTP can carry."""
    return f'"{info.etag}"' if info.etag and _ETAG_CHARS.fullmatch(info.etag) else None


def last_modified_header(info: ObjectInfo) -> str | None:
    """The object's ``Last-Modified`` header (an HTTP date), or ``None`` when its time is not known."""
    return format_datetime(info.modified.astimezone(UTC), usegmt=True) if info.modified else None


def if_range_holds(if_range: str, info: ObjectInfo) -> bool:
    """Whether ``If-Range``'s validator is the object's own: its strong ETag, or its Last-Modified date where that is
    a strong validator (a second or more before now, RFC 9110 8.8.2.2). A weak ETag never holds."""
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return etag_header(info) == value
    modified = last_modified_header(info)
    if modified is None or value != modified:
        return False
    return info.modified is not None and info.modified <= datetime.now(UTC) - timedelta(seconds=1)


def http_date(value: str) -> datetime | None:
    """``value`` as a time in UTC when it is one HTTP-date (RFC 9110 5.6.7, any of its three forms), else ``None``.
    An rfc850-date's two-digit year is the latest year with those digits that is not more than 50 years ahead."""
    found = next((m for pattern in _HTTP_DATES if (m := pattern.fullmatch(value.strip(" \t")))), None)
    if found is None:
        return None
    year = int(found["year"])
    if len(found["year"]) == 2:
        now = datetime.now(UTC).year
        year += now - now % 100
        year -= 100 if year > now + 50 else 0
    try:
        return datetime(year, _MONTHS.index(found["month"]) + 1, int(found["day"]), int(found["hour"]),
                        int(found["minute"]), int(found["second"]), tzinfo=UTC)
    except ValueError:  # 31 Feb, 25:00:00, a leap second: no date
        return None


def modified_since(since: datetime, info: ObjectInfo) -> bool:
    """Whether the object changed after ``since`` (an ``If-Modified-Since`` date), to the second: its Last-Modified
    header has no fraction of a second, so a copy stamped with it is not older than the object. An object whose time
    is not known counts as changed."""
    return info.modified is None or int(info.modified.timestamp()) > int(since.timestamp())


class NotModified(Exception):  # noqa: N818 - HTTP's name for the answer
    """The client's copy is the object's current one (``If-None-Match``, or else ``If-Modified-Since``): HTTP's 304,
    with the object's ``info``."""

    def __init__(self, info: ObjectInfo) -> None:
        super().__init__(info.key)
        self.info = info


def none_match_holds(if_none_match: str, info: ObjectInfo) -> bool:
    """Whether ``If-None-Match`` (``*`` or a list of entity tags, weakly compared) lets the request go on: none of its
    tags is the object's (RFC 9110 13.1.2)."""
    etag = etag_header(info)
    if etag is None:
        return True
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" not in tags and etag not in tags


def conditions(headers: Any) -> dict[str, str | None]:
    """The preconditions of a request's ``headers`` (Starlette's) that :func:`open_part` and :func:`head_part` judge:
    ``If-None-Match``, and ``If-Modified-Since`` (two such fields joined are no HTTP-date: ignored)."""
    return {"if_none_match": headers.get("if-none-match"),
            "if_modified_since": ", ".join(headers.getlist("if-modified-since")) or None}


def _not_modified(store: ObjectStore, key: str, if_none_match: str | None, if_modified_since: str | None
                  ) -> ObjectInfo | None:
    """:class:`NotModified` when ``if_none_match`` names the object's etag or, without an ``if_none_match``, the
    object did not change after the ``if_modified_since`` date (ignored when it is no HTTP-date); else the object's
    info when it was asked for (one metadata request), or None."""
    if if_none_match is not None:
        if not none_match_holds(if_none_match, info := store.stat(key)):
            raise NotModified(info)
        return info
    if if_modified_since is not None and (since := http_date(if_modified_since)) is not None:
        if not modified_since(since, info := store.stat(key)):
            raise NotModified(info)
        return info
    return None


def open_part(store: ObjectStore, key: str, wanted: ByteRange | None, if_range: str | None,
              if_none_match: str | None = None, if_modified_since: str | None = None) -> ObjectChunks:
    """The object's chunks: the part ``wanted`` asks for unless there is none, or ``if_range`` does not hold (then
    all of it); :class:`RangeNotSatisfiable` when no byte of the object is in a part that applies, and
    :class:`NotModified` (nothing read) when ``if_none_match`` names the object's etag or, without an
    ``if_none_match``, the object did not change after the ``if_modified_since`` date (ignored when it is no
    HTTP-date). The preconditions are judged in RFC 9110 13.2.2's order: these two before the range."""
    _not_modified(store, key, if_none_match, if_modified_since)
    if wanted is None:
        return store.iter_bytes(key)
    try:
        chunks = store.iter_bytes(key, byte_range=wanted)
    except RangeNotSatisfiable:
        if if_range is not None and not if_range_holds(if_range, store.stat(key)):
            return store.iter_bytes(key)
        raise
    if if_range is not None and not if_range_holds(if_range, chunks.info):
        chunks.close()
        return store.iter_bytes(key)
    return chunks


def head_part(store: ObjectStore, key: str, wanted: ByteRange | None, if_range: str | None,
              if_none_match: str | None = None, if_modified_since: str | None = None
              ) -> tuple[ObjectInfo, tuple[int, int] | None]:
    """What a HEAD answers: the object's info and the span of the part :func:`open_part` would send (None: all of
    it), with the same preconditions and errors, from the object's metadata alone (one ``stat``: S3's HeadObject,
    where opening the object sent a GetObject whose body was left unread)."""
    info = _not_modified(store, key, if_none_match, if_modified_since) or store.stat(key)
    if wanted is None or (if_range is not None and not if_range_holds(if_range, info)):
        return info, None
    span = wanted.within(info.size)
    if span is None:
        raise unsatisfiable(store, key, wanted, info.size)
    return info, span


def validator_headers(info: ObjectInfo) -> dict[str, str]:
    """``ETag`` and ``Last-Modified``, and ``Cache-Control: no-cache``: a copy is checked (``If-None-Match``, a 304)
    before each use, so an object replaced under its key is never shown stale from a browser's cache."""
    headers = {"Cache-Control": "no-cache"}
    if (etag := etag_header(info)) is not None:
        headers["ETag"] = etag
    if (modified := last_modified_header(info)) is not None:
        headers["Last-Modified"] = modified
    return headers


def part_headers(info: ObjectInfo, span: tuple[int, int] | None) -> dict[str, str]:
    """``Content-Length``, ``Content-Range`` (a part only: ``span``, its first and last offsets), ``Accept-Ranges``
    and :func:`validator_headers` of the object ``info`` describes."""
    first, last = span or (0, info.size - 1)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(last - first + 1), **validator_headers(info)}
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
    return headers


def unsatisfiable_headers(exc: RangeNotSatisfiable) -> dict[str, str]:
    """The headers of a 416: the object's size in ``Content-Range``."""
    return {"Accept-Ranges": "bytes", "Content-Range": f"bytes */{exc.size}"}
