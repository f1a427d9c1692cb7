"""The ObjectStore contract, run against both backends (local folder and S3 on moto)."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ConnectionClosedError

from musim.errors import NotFoundError, StorageError
from musim.storage import (
    ByteRange,
    InvalidKey,
    ObjectNotFound,
    RangeNotSatisfiable,
    TransferOptions,
    open_store,
)
from musim.storage.base import TMP_PREFIX
from tests.storage.conftest import PART, Backend

BIG = 12 * 1024 * 1024  # three 5 MiB parts on S3 (threshold and part size are 5 MiB in these tests)


def blob(n: int, seed: int = 0) -> bytes:
    """``n`` deterministic, incompressible-looking bytes."""
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def test_put_get_exists_stat(backend: Backend) -> None:
    store = backend.store
    assert not store.exists("a/b.txt")
    before = datetime.now(UTC) - timedelta(seconds=5)
    info = store.put_bytes("a/b.txt", b"hello", content_type="text/plain")
    assert (info.key, info.size, info.content_type) == ("a/b.txt", 5, "text/plain")
    assert info.modified is not None and info.modified >= before
    assert store.exists("a/b.txt")
    assert store.get_bytes("a/b.txt") == b"hello"
    stat = store.stat("a/b.txt")
    assert (stat.key, stat.size) == ("a/b.txt", 5)
    assert stat.etag and stat.modified is not None
    if backend.kind == "s3":
        assert stat.sha256 == hashlib.sha256(b"hello").hexdigest()
        assert stat.content_type == "text/plain"
    store.put_bytes("a/b.txt", b"replaced")
    assert store.get_bytes("a/b.txt") == b"replaced"
    assert store.put_bytes("empty", b"").size == 0 and store.get_bytes("empty") == b""


def test_list_by_prefix_sorted(backend: Backend) -> None:
    store = backend.store
    keys = ["b/2.bin", "a/b/x.bin", "a-c.bin", "a/bc/y.bin", "a/c.bin", "b/10.bin", "a/b/a.bin"]
    for i, key in enumerate(keys):
        store.put_bytes(key, bytes([i]) * (i + 1))
    assert [o.key for o in store.list()] == sorted(keys)
    assert [o.key for o in store.list("a/b")] == ["a/b/a.bin", "a/b/x.bin", "a/bc/y.bin"]
    assert [o.key for o in store.list("a/b/")] == ["a/b/a.bin", "a/b/x.bin"]
    assert [o.key for o in store.list("zzz/")] == []
    sizes = {o.key: o.size for o in store.list("b/")}
    assert sizes == {"b/10.bin": 6, "b/2.bin": 1}


@pytest.mark.server
def test_an_s3_listing_of_several_pages_is_listed_whole(s3_env) -> None:
    """``list_page_size`` keys a request; every page is read (a store of millions of keys lists whole)."""
    store = open_store(s3_env.url)
    store.list_page_size = 2
    keys = [f"p/{i}.bin" for i in range(5)]
    for key in keys:
        store.put_bytes(key, b"x")
    asked = []
    store.client.meta.events.register("before-parameter-build.s3.ListObjectsV2",
                                      lambda **kw: asked.append(kw["params"].get("MaxKeys")))
    assert [o.key for o in store.list("p/")] == keys
    assert asked == [2, 2, 2]


def test_delete_many(backend: Backend) -> None:
    """Several keys at once (one DeleteObjects request on S3); a missing key is fine."""
    store = backend.store
    for key in ("d/1.bin", "d/2.bin", "d/3.bin"):
        store.put_bytes(key, b"x")
    requests = []
    if backend.s3 is not None:
        store.client.meta.events.register("before-parameter-build.s3.DeleteObjects",
                                          lambda **kw: requests.append(len(kw["params"]["Delete"]["Objects"])))
    store.delete_many(["d/1.bin", "d/3.bin", "d/missing.bin"])
    assert [o.key for o in store.list("d/")] == ["d/2.bin"]
    assert requests == ([3] if backend.s3 is not None else [])
    store.delete_many([])


def test_an_s3_delete_many_the_server_refuses_in_part_names_a_refused_key() -> None:
    import boto3
    from botocore.stub import Stubber

    from musim.storage.s3 import S3Store

    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    store = S3Store("bucket", "musim", client=client)
    with Stubber(client) as stub:
        stub.add_response("delete_objects", {"Errors": [
            {"Key": "musim/a/y", "Code": "NoSuchKey", "Message": "gone"},
            {"Key": "musim/a/x", "Code": "AccessDenied", "Message": "Access Denied"}]})
        with pytest.raises(StorageError, match=r"^cannot delete 'a/x' in s3://bucket/musim: AccessDenied Access "
                                               r"Denied \(1 of the 2 keys of one request refused\)$"):
            store.delete_many(["a/x", "a/y"])


def test_delete(backend: Backend) -> None:
    store = backend.store
    store.put_bytes("d/x", b"1")
    store.delete("d/x")
    assert not store.exists("d/x")
    store.delete("d/x")  # idempotent
    with pytest.raises(ObjectNotFound, match="d/x"):
        store.delete("d/x", missing_ok=False)
    assert list(store.list("d/")) == []


def test_put_file_open_download(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    data = blob(300_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    info = store.put_file("files/src.bin", src)
    assert info.size == len(data)
    with store.open("files/src.bin") as fh:
        assert fh.read(10) == data[:10]
        assert fh.read() == data[10:]
    target = tmp_path / "out" / "copy.bin"
    got = store.download("files/src.bin", target)
    assert target.read_bytes() == data and got.size == len(data)
    assert [p.name for p in target.parent.iterdir()] == ["copy.bin"]  # no temp file left behind
    with pytest.raises(StorageError, match="not a file"):
        store.put_file("files/none", tmp_path / "missing.bin")


def test_iter_bytes_yields_the_object_in_chunks(backend: Backend) -> None:
    store = backend.store
    data = blob(300_000, seed=9)
    store.put_bytes("files/chunked.bin", data)
    chunks = store.iter_bytes("files/chunked.bin", chunk_size=128 * 1024)
    assert chunks.info.size == len(data)
    got = list(chunks)
    assert [len(c) for c in got] == [131072, 131072, 37856] and b"".join(got) == data
    with pytest.raises(ObjectNotFound, match="files/none.bin"):  # raised when asked, before any chunk
        store.iter_bytes("files/none.bin")


DIGITS = b"0123456789abcdefghij"  # 20 bytes: offset n holds DIGITS[n], so each part below is read off by hand


@pytest.mark.parametrize(("first", "last", "part", "span"), [
    (2, 5, b"2345", (2, 5)),           # bytes=2-5
    (0, 0, b"0", (0, 0)),              # bytes=0-0
    (18, 1000, b"ij", (18, 19)),       # bytes=18-1000: cut to the end
    (15, None, b"fghij", (15, 19)),    # bytes=15-
    (19, None, b"j", (19, 19)),        # bytes=19-
    (None, 3, b"hij", (17, 19)),       # bytes=-3
    (None, 50, DIGITS, (0, 19)),       # bytes=-50: the whole object
])
def test_iter_bytes_reads_one_byte_range(backend: Backend, first, last, part, span) -> None:
    store = backend.store
    whole = store.put_bytes("files/digits.txt", DIGITS)
    sent: list[str] = []
    if backend.kind == "s3":  # the server is asked for the part alone (GetObject's Range)
        get_object = store.client.get_object
        store.client.get_object = lambda **kw: sent.append(kw.get("Range")) or get_object(**kw)
    chunks = store.iter_bytes("files/digits.txt", chunk_size=3, byte_range=ByteRange(first, last))
    assert (chunks.span, chunks.info.size, chunks.info.etag) == (span, 20, whole.etag)
    got = list(chunks)
    assert b"".join(got) == part and all(1 <= len(c) <= 3 for c in got)
    assert sent == ([str(ByteRange(first, last))] if backend.kind == "s3" else [])


def test_iter_bytes_refuses_a_range_no_byte_of_the_object_is_in(backend: Backend) -> None:
    store = backend.store
    store.put_bytes("files/digits.txt", DIGITS)
    store.put_bytes("files/empty.txt", b"")
    for key, first, last, size in (("files/digits.txt", 20, None, 20), ("files/digits.txt", 25, 30, 20),
                                   ("files/digits.txt", None, 0, 20), ("files/empty.txt", 0, None, 0),
                                   ("files/empty.txt", None, 5, 0)):
        with pytest.raises(RangeNotSatisfiable, match=re.escape(f"({size} bytes)")) as caught:
            store.iter_bytes(key, byte_range=ByteRange(first, last))
        assert caught.value.size == size and key in str(caught.value)
    with pytest.raises(ObjectNotFound, match="files/none.txt"):
        store.iter_bytes("files/none.txt", byte_range=ByteRange(0, 1))
    for bad in ((None, None), (5, 3), (-1, 2), (None, -3)):
        with pytest.raises(ValueError, match="not a byte range"):
            ByteRange(*bad)


@pytest.mark.server
def test_a_range_from_a_server_that_sends_the_whole_object_is_cut_from_it(s3_env) -> None:
    """A server that ignores GetObject's Range answers 200 with all of the object: the part is read from it."""
    store = open_store(s3_env.url)
    store.put_bytes("files/digits.txt", DIGITS)
    get_object = store.client.get_object
    store.client.get_object = lambda **kw: get_object(**{k: v for k, v in kw.items() if k != "Range"})
    chunks = store.iter_bytes("files/digits.txt", chunk_size=3, byte_range=ByteRange(None, 4))
    assert chunks.span == (16, 19) and b"".join(chunks) == b"ghij"
    with pytest.raises(RangeNotSatisfiable):
        store.iter_bytes("files/digits.txt", byte_range=ByteRange(20, None))


def test_multipart_sized_object(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    data = blob(BIG, seed=1)
    info = store.put_bytes("big/one.bin", data)
    assert info.size == BIG
    assert store.get_bytes("big/one.bin") == data
    src = tmp_path / "big.bin"
    src.write_bytes(data[::-1])
    store.put_file("big/two.bin", src)
    with store.open("big/two.bin") as fh:
        assert hashlib.sha256(fh.read()).digest() == hashlib.sha256(data[::-1]).digest()
    if backend.kind == "s3":
        assert backend.s3 is not None
        assert store.stat("big/one.bin").etag.endswith("-3")  # type: ignore[union-attr]  # 3 parts
        assert store.stat("big/two.bin").sha256 == hashlib.sha256(data[::-1]).hexdigest()
        assert backend.s3.client.list_multipart_uploads(Bucket=backend.s3.bucket).get("Uploads", []) == []


def test_content_addressed(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    store = backend.store
    data = blob(1000, seed=2)
    digest = hashlib.sha256(data).hexdigest()
    first = store.put_content_addressed(data, prefix="audio/previews/", ext="mp3")
    assert first.key == f"audio/previews/{digest}.mp3" and first.sha256 == digest
    etag = store.stat(first.key).etag

    calls: list[str] = []
    monkeypatch.setattr(store, "put_bytes", lambda key, *a, **k: calls.append(key))
    again = store.put_content_addressed(data, prefix="audio/previews", ext="mp3")
    assert calls == [] and again.key == first.key and again.sha256 == digest
    assert store.stat(first.key).etag == etag  # not rewritten
    monkeypatch.undo()

    other = store.put_content_addressed(data + b"!", prefix="audio/previews", ext="mp3")
    assert other.key != first.key
    # A damaged object under a content-addressed key (wrong size) is repaired, not trusted.
    store.put_bytes(first.key, b"truncated")
    store.put_content_addressed(data, prefix="audio/previews", ext="mp3")
    assert store.get_bytes(first.key) == data
    with pytest.raises(InvalidKey, match="extension"):
        store.put_content_addressed(data, prefix="x", ext="../mp3")
    with pytest.raises(InvalidKey):
        store.put_content_addressed(data, prefix="../x", ext="mp3")


def test_touch_makes_an_object_changed_now_and_keeps_it_whole(backend: Backend) -> None:
    store = backend.store
    data = blob(1000, seed=5)
    store.put_bytes("audio/previews/t.mp3", data, content_type="audio/mpeg")
    if backend.kind == "local":  # S3 cannot be told an object is old; the local store's is made old
        old = time.time() - 3 * 24 * 3600
        os.utime(store.root / "audio/previews/t.mp3", (old, old))  # type: ignore[attr-defined]
    before = store.stat("audio/previews/t.mp3")
    touched = store.touch("audio/previews/t.mp3")
    after = store.stat("audio/previews/t.mp3")
    assert touched.modified == after.modified and after.modified >= before.modified
    assert datetime.now(UTC) - after.modified < timedelta(minutes=5)
    assert (after.size, after.sha256, after.content_type) == (before.size, before.sha256, before.content_type)
    assert store.get_bytes("audio/previews/t.mp3") == data
    with pytest.raises(ObjectNotFound):
        store.touch("audio/previews/none.mp3")


def test_a_reused_object_is_touched_only_when_old(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Garbage collection keeps objects changed within its grace period: one about to be named by a new row in place
    of a copy not stored is made changed now, where its last change is older than an hour."""
    store = backend.store
    info = store.put_content_addressed(blob(100, seed=6), prefix="audio/previews", ext="mp3")
    touched: list[str] = []
    real = store.touch
    monkeypatch.setattr(store, "touch", lambda key: touched.append(key) or real(key))
    assert store.reused(info, now=info.modified + timedelta(minutes=59)) is info and touched == []
    store.reused(info, now=info.modified + timedelta(hours=2))
    assert touched == [info.key]
    monkeypatch.setattr("musim.storage.base.REUSE_REFRESH_AFTER", timedelta(seconds=-60))  # every object is old
    again = store.put_content_addressed(blob(100, seed=6), prefix="audio/previews", ext="mp3")
    assert touched == [info.key, info.key] and again.key == info.key and again.sha256 == info.sha256
    store.delete(info.key)  # gone between its stat and its touch: stored anew
    monkeypatch.setattr(store, "stat", lambda key: info)
    assert store.put_content_addressed(blob(100, seed=6), prefix="audio/previews", ext="mp3").key == info.key
    monkeypatch.undo()
    assert store.get_bytes(info.key) == blob(100, seed=6)


def _fail_midway(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next large write fail after part of the data went out (backend-specific injection)."""
    if backend.kind == "local":
        import musim.storage.local as local

        real = local.write_all

        def write_all(fd: int, data: bytes) -> None:
            real(fd, data[: len(data) // 2])
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(local, "write_all", write_all)
    else:
        client = backend.store.client  # type: ignore[attr-defined]
        real_part = client.upload_part

        def upload_part(**kw: object) -> object:
            if kw["PartNumber"] == 2:
                raise ConnectionClosedError(endpoint_url=backend.s3.server.endpoint_url)  # type: ignore[union-attr]
            return real_part(**kw)

        monkeypatch.setattr(client, "upload_part", upload_part)


def test_failed_write_leaves_old_object_and_no_partial(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    store = backend.store
    old, new = blob(BIG, seed=3), blob(BIG, seed=4)
    store.put_bytes("atomic/obj.bin", old)
    _fail_midway(backend, monkeypatch)
    with pytest.raises(StorageError, match="atomic/obj.bin"):
        store.put_bytes("atomic/obj.bin", new)
    with pytest.raises(StorageError, match="atomic/fresh.bin"):
        store.put_bytes("atomic/fresh.bin", new)
    monkeypatch.undo()
    assert store.get_bytes("atomic/obj.bin") == old
    assert not store.exists("atomic/fresh.bin")
    assert [o.key for o in store.list("atomic/")] == ["atomic/obj.bin"]
    if backend.kind == "local":
        assert not [p for p in store.root.rglob("*") if p.name.startswith(TMP_PREFIX)]  # type: ignore[attr-defined]
    else:
        assert backend.s3 is not None  # the failed multipart uploads were aborted
        assert backend.s3.client.list_multipart_uploads(Bucket=backend.s3.bucket).get("Uploads", []) == []


def test_readers_never_see_partial_objects(backend: Backend) -> None:
    store = backend.store
    size = PART + 1 if backend.kind == "s3" else 2 * 1024 * 1024
    versions = {blob(size, seed=s) for s in (5, 6)}
    a, b = sorted(versions)
    store.put_bytes("race/obj", a)
    # moto is not thread-safe and now and then answers a GET racing a completing upload with a 500;
    # the reader retries such transient errors as a deployed reader would (MinIO does not do this).
    reader_store = open_store(store.root_url, options=TransferOptions(part_size=PART, max_attempts=4))
    stop = threading.Event()
    seen: list[bool] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                seen.append(reader_store.get_bytes("race/obj") in versions)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(4 if backend.kind == "s3" else 20):
            store.put_bytes("race/obj", b if i % 2 == 0 else a)
    finally:
        stop.set()
        reader.join()
    assert not errors, errors
    assert seen and all(seen)


BAD_KEYS = ["", "/abs", "a/../b", "..", "a\\b", "a//b", "a/", "./a", f"x/{TMP_PREFIX}1", "a\x00b", "k" * 1025]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_rejected(backend: Backend, key: str) -> None:
    store = backend.store
    for call in (
        lambda: store.put_bytes(key, b"x"),
        lambda: store.get_bytes(key),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.url(key),
    ):
        with pytest.raises(InvalidKey) as err:
            call()
        assert repr(key)[:40].rstrip("'") in str(err.value)
        assert isinstance(err.value, StorageError)
    with pytest.raises(InvalidKey):
        store.list("../up")  # raised at the call, not on iteration


def test_missing_key_error_names_store_and_key(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    for call in (
        lambda: store.get_bytes("nope/missing.bin"),
        lambda: store.open("nope/missing.bin"),
        lambda: store.stat("nope/missing.bin"),
        lambda: store.download("nope/missing.bin", tmp_path / "x"),
    ):
        with pytest.raises(ObjectNotFound) as err:
            call()
        assert "nope/missing.bin" in str(err.value) and store.root_url in str(err.value)
        assert isinstance(err.value, StorageError) and isinstance(err.value, NotFoundError)
    assert not (tmp_path / "x").exists()


def test_a_json_document_cut_short_is_named_as_damaged(backend: Backend) -> None:
    """It was a bare JSONDecodeError ("Expecting property name ...") with no object named."""
    from musim.storage import DamagedObject

    store = backend.store
    store.put_bytes("docs/good.json", b'{"a": [1, 2]}')
    assert store.get_json("docs/good.json") == {"a": [1, 2]}
    for content in (b'{"a": [1,', b"\xff\xfe not text"):
        store.put_bytes("docs/cut.json", content)
        with pytest.raises(DamagedObject, match=rf"^object docs/cut.json in {re.escape(store.root_url)} is damaged: "
                                                r"not JSON \("):
            store.get_json("docs/cut.json")
    with pytest.raises(ObjectNotFound):
        store.get_json("docs/missing.json")


def test_url_and_presigned_url_fetchable(backend: Backend) -> None:
    store = backend.store
    store.put_bytes("p/q.bin", b"presigned!")
    url = store.url("p/q.bin")
    if backend.kind == "s3":
        assert backend.s3 is not None
        assert url == f"s3://{backend.s3.bucket}/musim/p/q.bin"
    else:
        assert url.startswith("file:///") and url.endswith("/objects/p/q.bin")
    signed = store.presigned_url("p/q.bin", timedelta(minutes=5))
    with urllib.request.urlopen(signed, timeout=5) as resp:
        assert resp.read() == b"presigned!"
    with pytest.raises(StorageError, match="expiry"):
        store.presigned_url("p/q.bin", expires=timedelta(days=8))


def test_cleanup_incomplete(backend: Backend) -> None:
    store = backend.store
    store.put_bytes("c/keep.bin", b"keep")
    if backend.kind == "local":
        stray = store.root / "c" / f"{TMP_PREFIX}deadbeef"  # type: ignore[attr-defined]
        stray.write_bytes(b"half")
        assert store.cleanup_incomplete() == 0  # too recent: may belong to a live writer
        old = time.time() - 7200
        os.utime(stray, (old, old))
    else:
        assert backend.s3 is not None
        backend.s3.client.create_multipart_upload(Bucket=backend.s3.bucket, Key="musim/c/half.bin")
        backend.s3.client.create_multipart_upload(Bucket=backend.s3.bucket, Key="elsewhere/half.bin")
        # (moto reports every upload as initiated in 2010, so "too recent to remove" is untestable here)
    assert store.cleanup_incomplete("other", older_than=timedelta(0)) == 0  # a writer cleans its own prefix
    assert store.cleanup_incomplete("c", older_than=timedelta(0)) == 1
    assert [o.key for o in store.list("c/")] == ["c/keep.bin"]


def test_open_store_default_is_local_under_musim_home(musim_home: Path) -> None:
    store = open_store()
    assert store.root_url == (musim_home / "objects").as_uri()
    store.put_bytes("k", b"v")
    assert (musim_home / "objects" / "k").read_bytes() == b"v"
    assert open_store(str(musim_home / "objects")).get_bytes("k") == b"v"


def test_local_key_and_prefix_collision_is_a_clear_error() -> None:
    store = open_store()
    store.put_bytes("a", b"file")
    with pytest.raises(StorageError, match="collide"):
        store.put_bytes("a/b", b"x")


def test_a_file_where_the_local_store_folder_should_be_is_named(tmp_path: Path) -> None:
    """It was reported as "a key and a key prefix collide", which sent people looking at their keys."""
    (tmp_path / "afile").write_bytes(b"not a folder")
    for root in (tmp_path / "afile", tmp_path / "afile" / "objects"):
        with pytest.raises(StorageError, match=f"the store's folder cannot be made, {tmp_path / 'afile'} is a file"):
            open_store(str(root)).put_bytes("audio/x.flac", b"x")
    assert (tmp_path / "afile").read_bytes() == b"not a folder"


def test_a_local_store_set_to_a_file_is_a_store_error_when_read_not_a_missing_object(tmp_path):
    """`features build` with MUSIM_OBJECT_STORE naming a file recorded every preview as a "missing object" reject
    (exit 0); acquire, which writes, said what was wrong."""
    from musim.errors import StorageError
    from musim.storage import ObjectNotFound, open_store

    afile = tmp_path / "afile"
    afile.write_text("")
    store = open_store(afile.as_uri())
    for read in (lambda: store.get_bytes("audio/x.mp3"), lambda: store.stat("audio/x.mp3")):
        with pytest.raises(StorageError, match=f"the store's folder is not a folder, {afile} is a file") as raised:
            read()
        assert not isinstance(raised.value, ObjectNotFound)
    with pytest.raises(ObjectNotFound):  # a store folder not made yet: its objects are missing, as before
        open_store((tmp_path / "fresh").as_uri()).get_bytes("audio/x.mp3")


def test_a_local_store_set_to_a_file_is_no_empty_listing(tmp_path):
    """A store (or the folder above it) that is a file listed no objects, without a word: a scan of it found nothing
    to do, every run."""
    afile = tmp_path / "afile"
    afile.write_text("")
    for root in (afile, afile / "objects"):
        for prefix in ("", "audio/", "audio/previews/x"):
            with pytest.raises(StorageError, match=f"the store's folder is not a folder, {afile} is a file"):
                list(open_store(root.as_uri()).list(prefix))
    assert list(open_store((tmp_path / "fresh").as_uri()).list("audio/")) == []  # not made yet: nothing stored


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's /sys, a folder nobody may write")
def test_a_local_store_folder_musim_may_not_write_says_what_to_do() -> None:
    """`cannot write 'a/b' in file:///sys/kernel/objs: Operation not permitted` named the folder but not the setting
    that chose it nor what to do."""
    store = open_store("/sys/kernel/musim-objects")
    with pytest.raises(StorageError) as raised:
        store.put_bytes("audio/x.mp3", b"x")
    message = str(raised.value)
    assert message.startswith("cannot write 'audio/x.mp3' in file:///sys/kernel/musim-objects: ")
    assert "point MUSIM_OBJECT_STORE (or MUSIM_HOME) at a folder musim may write" in message and "\n" not in message
