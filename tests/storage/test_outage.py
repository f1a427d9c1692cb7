"""The S3 server going away in the middle of a batch: clear errors, no half objects, a clean rerun.

Each test runs its own moto server (the session one must stay up), stops it for real (listening socket
closed, open connections cut) at a chosen point of a batch, restarts it on the same port, and reruns
the whole batch. moto keeps its data in this process, so the bucket survives the restart; the tests
re-create it if it did not, as an operator would, rather than rely on that.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from musim.storage import ObjectStore, StorageUnavailable, open_store
from tests.s3_server import S3TestServer, s3_server
from tests.storage.conftest import PART, s3_environment

pytestmark = pytest.mark.server



def batch() -> list[tuple[str, bytes]]:
    """Five preview-sized objects and one that needs a multipart upload (3 parts), in upload order."""
    items = [(f"batch/obj-{i}.bin", hashlib.sha256(bytes([i])).digest() * (300_000 // 32)) for i in range(5)]
    items.insert(3, ("batch/big.bin", hashlib.sha256(b"big").digest() * (2 * PART // 32 + 1000)))
    return items


def run_batch(store: ObjectStore, items: list[tuple[str, bytes]]) -> None:
    for key, data in items:
        store.put_bytes(key, data)


def ensure_bucket(server: S3TestServer, bucket: str) -> Any:
    client = server.client()
    if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket)
    return client


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3TestServer]:
    with s3_server() as srv:
        s3_environment(monkeypatch, srv)
        yield srv


@pytest.fixture
def bucket(server: S3TestServer) -> str:
    """A bucket of this test's own (moto's data outlives servers within the process)."""
    name = f"musim-outage-{uuid.uuid4().hex[:8]}"
    ensure_bucket(server, name)
    return name


def assert_rerun_completes(server: S3TestServer, store: ObjectStore, bucket: str, failed_key: str) -> None:
    """After a restart: the failed object is absent, leftovers are cleaned, a full rerun stores everything."""
    server.restart()
    client = ensure_bucket(server, bucket)
    assert not store.exists(failed_key)
    store.cleanup_incomplete(older_than=timedelta(0))
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    items = batch()
    run_batch(store, items)
    assert [o.key for o in store.list("batch/")] == sorted(key for key, _ in items)
    for key, data in items:
        assert store.get_bytes(key) == data
        assert store.stat(key).sha256 == hashlib.sha256(data).hexdigest()


def test_server_stops_between_objects(server: S3TestServer, bucket: str) -> None:
    store = open_store(f"s3://{bucket}/run")
    items = batch()
    run_batch(store, items[:2])
    server.stop()
    with pytest.raises(StorageUnavailable) as err:
        run_batch(store, items[2:])
    assert server.endpoint_url in str(err.value) and items[2][0] in str(err.value)
    assert_rerun_completes(server, store, bucket, items[2][0])


def test_server_stops_during_multipart_upload(
    server: S3TestServer, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"s3://{bucket}/run")
    sent: list[str] = []

    def stop_before_second_part(request: Any, **_: Any) -> None:
        sent.append(request.url)
        if "partNumber=2" in request.url:
            server.stop()  # the part-2 request goes out to a server that is gone

    store.client.meta.events.register("before-send.s3.UploadPart", stop_before_second_part)  # type: ignore[attr-defined]
    items = batch()
    with caplog.at_level(logging.WARNING, logger="musim.storage.s3"), pytest.raises(StorageUnavailable) as err:
        run_batch(store, items)
    assert "batch/big.bin" in str(err.value) and server.endpoint_url in str(err.value)
    assert sum("partNumber" in url for url in sent) >= 2  # parts go out concurrently (boto3's managed transfer)
    # the abort could not reach the server either: the parts stay invisible until cleanup_incomplete (below)
    store.client.meta.events.unregister("before-send.s3.UploadPart", stop_before_second_part)  # type: ignore[attr-defined]
    assert_rerun_completes(server, store, bucket, "batch/big.bin")
