"""``/objects/<key>`` and HTTP's byte ranges (RFC 9110 14): ``Range``, ``If-Range``, 206 and 416, on the local store
and on S3 (moto on 127.0.0.1). The route served every request whole, with no ``Accept-Ranges``: Chrome does not
seek in such audio, and a seek or a resumed download was sent the whole object."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from musim.storage import open_store
from musim.storage.base import ObjectChunks
from musim.storage.local import LocalStore
from musim.ui import objects as objects_http
from musim.ui.app import create_app
from tests.s3_server import S3TestServer, s3_server
from tests.storage.conftest import s3_environment

DIGITS = b"0123456789abcdefghij"  # 20 bytes: offset n holds DIGITS[n], so each part below is read off by hand
KEY = "quality/docs/r1/digits.bin"
URL = f"/objects/{KEY}"
WEEKDAYS = {d[:3]: d for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}


@pytest.fixture(scope="module")
def moto_server() -> Iterator[S3TestServer]:
    with s3_server() as server:
        yield server


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.server)])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The app's object store (``MUSIM_OBJECT_STORE``) with ``DIGITS`` under ``KEY`` and a model card."""
    if request.param == "local":
        url = (tmp_path / "store").as_uri()
    else:
        server = request.getfixturevalue("moto_server")
        s3_environment(monkeypatch, server)
        bucket = f"musim-{uuid.uuid4().hex[:12]}"
        server.client().create_bucket(Bucket=bucket)
        url = f"s3://{bucket}/musim"
    monkeypatch.setenv("MUSIM_OBJECT_STORE", url)
    found = open_store(url)
    found.put_bytes(KEY, DIGITS)
    found.put_bytes("models/m/v1/card.md", b"# Model card: v1\n")
    return found


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def _object_headers_kept(r) -> None:
    assert r.headers["content-security-policy"].startswith("sandbox allow-scripts")
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "SAMEORIGIN"


def test_the_whole_object_says_it_accepts_ranges_and_gives_its_validators(store, client) -> None:
    r = client.get(URL)
    info = store.stat(KEY)
    assert r.status_code == 200 and r.content == DIGITS and "content-range" not in r.headers
    assert r.headers["accept-ranges"] == "bytes" and r.headers["content-length"] == "20"
    assert r.headers["etag"] == f'"{info.etag}"' and r.headers["last-modified"] == format_datetime(info.modified,
                                                                                                  usegmt=True)
    _object_headers_kept(r)


@pytest.mark.parametrize(("header", "part", "content_range"), [
    ("bytes=2-5", b"2345", "bytes 2-5/20"),
    ("bytes=0-0", b"0", "bytes 0-0/20"),
    ("bytes=18-1000", b"ij", "bytes 18-19/20"),
    ("bytes=15-", b"fghij", "bytes 15-19/20"),
    ("bytes=-3", b"hij", "bytes 17-19/20"),
    ("bytes=-50", DIGITS, "bytes 0-19/20"),
    ("Bytes=2-5", b"2345", "bytes 2-5/20"),  # the unit is case-insensitive
    ("bytes=0-" + "9" * 5000, DIGITS, "bytes 0-19/20"),  # a last offset of 5000 digits: the end
])
def test_one_range_is_answered_206_with_its_bytes_only(store, client, header, part, content_range) -> None:
    r = client.get(URL, headers={"Range": header})
    assert r.status_code == 206 and r.content == part
    assert r.headers["content-range"] == content_range and r.headers["content-length"] == str(len(part))
    assert r.headers["accept-ranges"] == "bytes" and r.headers["etag"] == f'"{store.stat(KEY).etag}"'
    _object_headers_kept(r)
    head = client.head(URL, headers={"Range": header})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-range"] == content_range and head.headers["content-length"] == str(len(part))


@pytest.mark.parametrize("header", ["bytes=20-", "bytes=25-30", "bytes=-0", "bytes=" + "9" * 5000 + "-"])
def test_a_range_past_the_end_is_416_naming_the_size(store, client, header) -> None:
    for r in (client.get(URL, headers={"Range": header}), client.head(URL, headers={"Range": header})):
        assert r.status_code == 416 and r.content == b""
        assert r.headers["content-range"] == "bytes */20" and r.headers["accept-ranges"] == "bytes"
        _object_headers_kept(r)


@pytest.mark.parametrize("header", ["bytes=0-1,4-5", "bytes=5-3", "bytes=-", "bytes=", "items=0-1", "bytes=a-b",
                                    "bytes=\u00b2-5", "bytes 0-1", "bytes=0-1;x"])
def test_several_ranges_or_a_malformed_one_serve_the_whole_object(store, client, header) -> None:
    """RFC 9110 14.2: a server may ignore Range; several ranges, and one that is no range, are (``²`` is a digit to
    Python's ``\\d`` and ``str.isdigit``, but not to HTTP, and not to ``int``)."""
    r = client.get(URL, headers={"Range": header.encode("latin-1")})  # as a browser may send it: not ASCII
    assert r.status_code == 200 and r.content == DIGITS and "content-range" not in r.headers
    assert r.headers["content-length"] == "20" and r.headers["accept-ranges"] == "bytes"


def test_if_range_with_the_object_s_etag_gets_the_part_and_another_validator_the_whole(store, client) -> None:
    etag = client.get(URL).headers["etag"]
    part = client.get(URL, headers={"Range": "bytes=2-5", "If-Range": etag})
    assert part.status_code == 206 and part.content == b"2345"
    for stale in ('"not-the-etag"', f"W/{etag}", "Mon, 01 Jan 2001 00:00:00 GMT", "garbage"):
        r = client.get(URL, headers={"Range": "bytes=2-5", "If-Range": stale})
        assert r.status_code == 200 and r.content == DIGITS, stale
        past = client.get(URL, headers={"Range": "bytes=30-", "If-Range": stale})  # no 416 for a replaced object
        assert past.status_code == 200 and past.content == DIGITS, stale
    assert client.get(URL, headers={"Range": "bytes=30-", "If-Range": etag}).status_code == 416


def test_if_range_with_the_last_modified_date_gets_the_part_only_when_it_is_a_strong_validator(tmp_path, monkeypatch,
                                                                                               client) -> None:
    """A date is a strong validator only a second or more after the change (RFC 9110 8.8.2.2): a file changed twice
    within the same second has one Last-Modified."""
    store = open_store((tmp_path / "store").as_uri())
    monkeypatch.setenv("MUSIM_OBJECT_STORE", store.root_url)
    store.put_bytes(KEY, DIGITS)
    date = client.get(URL).headers["last-modified"]
    assert client.get(URL, headers={"Range": "bytes=2-5", "If-Range": date}).status_code == 200  # changed just now
    an_hour_ago = store.stat(KEY).modified.timestamp() - 3600
    os.utime(store.root / KEY, (an_hour_ago, an_hour_ago))
    date = client.get(URL).headers["last-modified"]
    r = client.get(URL, headers={"Range": "bytes=2-5", "If-Range": date})
    assert r.status_code == 206 and r.content == b"2345"


def test_a_range_of_a_large_local_object_reads_that_range_only(tmp_path, monkeypatch, client) -> None:
    """The part is read after a seek: 100 bytes of a 3 MiB object read 100 bytes from the store, and a HEAD none."""
    store = open_store((tmp_path / "store").as_uri())
    monkeypatch.setenv("MUSIM_OBJECT_STORE", store.root_url)
    data = bytes(range(256)) * (3 * 4096)
    store.put_bytes("quality/docs/big/data.bin", data)
    read: list[int] = []
    real_open = LocalStore._open

    class Counted:
        def __init__(self, fh) -> None:
            self.fh = fh

        def read(self, size: int = -1) -> bytes:
            chunk = self.fh.read(size)
            read.append(len(chunk))
            return chunk

        def __getattr__(self, name: str):
            return getattr(self.fh, name)

    monkeypatch.setattr(LocalStore, "_open", lambda self, key: (lambda fh, info: (Counted(fh), info))(
        *real_open(self, key)))
    r = client.get("/objects/quality/docs/big/data.bin", headers={"Range": "bytes=2000000-2000099"})
    assert r.status_code == 206 and r.content == data[2000000:2000100]
    assert sum(read) == 100
    read.clear()
    head = client.head("/objects/quality/docs/big/data.bin", headers={"Range": "bytes=0-"})
    assert head.status_code == 206 and head.headers["content-length"] == str(len(data)) and sum(read) == 0


def test_a_head_of_a_whole_object_reads_none_of_it(store, monkeypatch, client) -> None:
    """HEAD was answered as GET with the body dropped: every chunk of the object was read from the store, unsent."""
    read: list[int] = []
    real_next = ObjectChunks.__next__
    monkeypatch.setattr(ObjectChunks, "__next__", lambda self: (lambda c: read.append(len(c)) or c)(real_next(self)))
    head = client.head(URL)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "20"
    assert head.headers["accept-ranges"] == "bytes" and read == []
    assert client.get(URL).content == DIGITS and read == [20]


@pytest.mark.server
def test_a_head_on_s3_sends_head_object_requests_only(moto_server, tmp_path, monkeypatch, client) -> None:
    """A HEAD opened the object as a GET would: on S3 a GetObject (the server starting to send the whole object, left
    unread) where a HeadObject tells all a HEAD answers. Its headers are the GET's, parts and 416 included."""
    s3_environment(monkeypatch, moto_server)
    bucket = f"musim-{uuid.uuid4().hex[:12]}"
    moto_server.client().create_bucket(Bucket=bucket)
    monkeypatch.setenv("MUSIM_OBJECT_STORE", f"s3://{bucket}/musim")
    open_store().put_bytes(KEY, DIGITS)
    etag = client.get(URL).headers["etag"]
    cases = ({}, {"Range": "bytes=2-5"}, {"Range": "bytes=-3"}, {"Range": "bytes=30-"},
             {"Range": "bytes=2-5", "If-Range": etag}, {"Range": "bytes=2-5", "If-Range": '"other"'},
             {"Range": "bytes=30-", "If-Range": '"other"'}, {"If-None-Match": '"other"'})
    moto_server.requests.clear()
    heads = [client.head(URL, headers=headers) for headers in cases]
    object_requests = [method for method, path in moto_server.requests if path.endswith(KEY)]
    assert object_requests == ["HEAD"] * len(cases)  # one HeadObject each, no GetObject
    for headers, head in zip(cases, heads, strict=True):
        get = client.get(URL, headers=headers)
        assert head.status_code == get.status_code and head.content == b"", headers
        assert {k: v for k, v in head.headers.items() if k != "date"} == {
            k: v for k, v in get.headers.items() if k != "date"}, headers
    assert [h.status_code for h in heads] == [200, 206, 206, 416, 206, 200, 200, 200]


def test_a_cached_copy_whose_etag_is_current_is_answered_304_with_nothing_read(store, monkeypatch, client) -> None:
    """Objects had no validator and no Cache-Control; a browser's copy was sent again whole (or, once Last-Modified
    was sent, could be shown stale for a while without asking: hence no-cache)."""
    first = client.get(URL)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    read: list[int] = []
    real_next = ObjectChunks.__next__
    monkeypatch.setattr(ObjectChunks, "__next__", lambda self: (lambda c: read.append(len(c)) or c)(real_next(self)))
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        for r in (client.get(URL, headers={"If-None-Match": header, "Range": "bytes=0-3"}),
                  client.head(URL, headers={"If-None-Match": header})):
            assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag, header
            _object_headers_kept(r)
    assert read == []
    other = client.get(URL, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == DIGITS
    store.put_bytes(KEY, DIGITS * 2)  # replaced under its key: the old copy's etag no longer holds
    replaced = client.get(URL, headers={"If-None-Match": etag})
    assert replaced.status_code == 200 and replaced.content == DIGITS * 2 and replaced.headers["etag"] != etag


def test_a_copy_not_older_than_the_object_by_if_modified_since_is_answered_304_with_nothing_read(store, monkeypatch,
                                                                                                 client) -> None:
    """If-Modified-Since (a cache that kept only Last-Modified) was ignored: the object was sent again whole. It is
    judged to the second, before any range; If-None-Match overrides it, and a date that is no HTTP-date is ignored."""
    first = client.get(URL)
    stamp = first.headers["last-modified"]
    modified = parsedate_to_datetime(stamp)
    read: list[int] = []
    real_next = ObjectChunks.__next__
    monkeypatch.setattr(ObjectChunks, "__next__", lambda self: (lambda c: read.append(len(c)) or c)(real_next(self)))
    later = modified + timedelta(days=1)
    fixdate = format_datetime(later, usegmt=True)  # English names whatever the locale: "Wed, 09 Dec 2026 ..."
    weekday, month = fixdate[:3], fixdate[8:11]
    rfc850 = f"{WEEKDAYS[weekday]}, {later.day:02d}-{month}-{later.year % 100:02d} {later:%H:%M:%S} GMT"
    asctime = f"{weekday} {month} {later.day:2d} {later:%H:%M:%S} {later.year}"
    for date in (stamp, fixdate, rfc850, asctime):  # IMF-fixdate, and the obsolete rfc850 and asctime forms
        for r in (client.get(URL, headers={"If-Modified-Since": date}),
                  client.get(URL, headers={"If-Modified-Since": date, "Range": "bytes=0-3"}),
                  client.head(URL, headers={"If-Modified-Since": date})):
            assert r.status_code == 304 and r.content == b"", date
            assert r.headers["etag"] == first.headers["etag"] and r.headers["last-modified"] == stamp
            _object_headers_kept(r)
    assert read == []
    earlier = format_datetime(modified - timedelta(seconds=1), usegmt=True)
    for headers in ({"If-Modified-Since": earlier},  # changed since that copy
                    {"If-Modified-Since": stamp, "If-None-Match": '"other"'},  # the etag decides: not the one kept
                    {"If-Modified-Since": f"{stamp}, {stamp}"},  # two dates are no HTTP-date
                    {"If-Modified-Since": later.strftime("%a, %d %b %Y %H:%M:%S +0000")},  # no GMT: no HTTP-date
                    {"If-Modified-Since": "tomorrow"}):
        r = client.get(URL, headers=headers)
        assert r.status_code == 200 and r.content == DIGITS, headers
    r = client.get(URL, headers=[("If-Modified-Since", stamp), ("If-Modified-Since", stamp)])
    assert r.status_code == 200 and r.content == DIGITS  # two header lines: ignored
    part = client.get(URL, headers={"If-Modified-Since": earlier, "Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == b"2345"
    assert client.post(URL, headers={"If-Modified-Since": stamp}).status_code == 405  # GET and HEAD only


def test_if_modified_since_compares_to_the_second_that_last_modified_gives(tmp_path, monkeypatch, client) -> None:
    """A file's time has a fraction of a second that its Last-Modified header drops: the copy stamped with that header
    is current, not one 0.7 s older than the object."""
    store = open_store((tmp_path / "store").as_uri())
    monkeypatch.setenv("MUSIM_OBJECT_STORE", store.root_url)
    store.put_bytes(KEY, DIGITS)
    os.utime(store.root / KEY, (1_700_000_000.7, 1_700_000_000.7))
    stamp = client.get(URL).headers["last-modified"]
    assert stamp == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert client.get(URL, headers={"If-Modified-Since": stamp}).status_code == 304
    assert client.get(URL, headers={"If-Modified-Since": "Tue, 14 Nov 2023 22:13:19 GMT"}).status_code == 200


@pytest.mark.parametrize(("text", "when"), [
    ("Sun, 06 Nov 1994 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
    ("Sunday, 06-Nov-94 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
    ("Sun Nov  6 08:49:37 1994", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
    ("Sun Nov 16 08:49:37 1994", datetime(1994, 11, 16, 8, 49, 37, tzinfo=UTC)),
    (" Sun, 06 Nov 1994 08:49:37 GMT ", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),  # a field's spaces around
    ("Sun, 06 Nov 1994 08:49:37 gmt", None), ("Sun, 6 Nov 1994 08:49:37 GMT", None),
    ("Sun, 30 Feb 1994 08:49:37 GMT", None), ("Sun, 06 Nov 1994 24:00:00 GMT", None),
    ("Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT", None), ("1994-11-06T08:49:37Z", None),
    ("Sun, 06 Nov 1994 08:49 GMT", None), ("", None), ("Sun, 06 Nov 1994 08:49:37 GMT\x00", None),
])
def test_http_date_reads_the_three_forms_of_rfc_9110_and_nothing_else(text, when) -> None:
    assert objects_http.http_date(text) == when


def test_an_rfc850_date_s_two_digit_year_is_at_most_50_years_ahead() -> None:
    now = datetime.now(UTC).year
    ahead, behind = (now + 50) % 100, (now + 51) % 100
    assert objects_http.http_date(f"Monday, 01-Jan-{ahead:02d} 00:00:00 GMT").year == now + 50
    assert objects_http.http_date(f"Monday, 01-Jan-{behind:02d} 00:00:00 GMT").year == now + 51 - 100


def test_a_model_card_is_rendered_whole_whatever_range_is_asked(store, client) -> None:
    """A card is served as a page made from the stored markdown, not the stored bytes: no part of it is served."""
    r = client.get("/objects/models/m/v1/card.md", headers={"Range": "bytes=0-3"})
    assert r.status_code == 200 and "<h1>Model card: v1</h1>" in r.text and r.headers["accept-ranges"] == "none"
    _object_headers_kept(r)


def test_a_range_of_a_link_out_of_the_store_is_still_refused(tmp_path, monkeypatch, client) -> None:
    root = tmp_path / "store"
    store = open_store(root.as_uri())
    monkeypatch.setenv("MUSIM_OBJECT_STORE", store.root_url)
    store.put_bytes(KEY, DIGITS)
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "quality" / "docs" / "r1" / "leak.txt").symlink_to(secret)
    for header in ("bytes=0-3", "bytes=-4", "bytes=100-"):
        r = client.get("/objects/quality/docs/r1/leak.txt", headers={"Range": header})
        assert r.status_code == 404 and "root" not in r.text and "content-range" not in r.headers, header


def test_an_object_url_no_file_can_have_is_404_not_503(tmp_path, monkeypatch, client) -> None:
    """A key with a part longer than a file name may be was answered 503, "cannot read … File name too long"."""
    monkeypatch.setenv("MUSIM_OBJECT_STORE", open_store((tmp_path / "store").as_uri()).root_url)
    open_store().put_bytes(KEY, DIGITS)
    for headers in ({}, {"Range": "bytes=0-1"}):
        r = client.get("/objects/quality/docs/" + "x" * 300, headers=headers)
        assert r.status_code == 404 and "in the object store" in r.json()["detail"]
