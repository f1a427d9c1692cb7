"""Fixtures for the object-store tests: one moto S3 server per session, a fresh bucket per test.

``backend`` is parametrised over the local folder and S3-on-moto, so every test that takes it runs
against both implementations of :class:`musim.storage.ObjectStore`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from musim.storage import ObjectStore, open_store
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3TestServer, s3_server

PART = 5 * 1024 * 1024


@dataclass
class S3Env:
    """A running server, a bucket on it, and the store URL for that bucket."""

    server: S3TestServer
    bucket: str
    client: Any

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/musim"


@dataclass
class Backend:
    """A store under test plus what a test needs to look behind it (``s3`` is None for local)."""

    kind: str
    store: ObjectStore
    s3: S3Env | None = None


def s3_environment(monkeypatch: pytest.MonkeyPatch, server: S3TestServer) -> None:
    """Point musim's S3 settings at ``server`` and isolate them from the host's AWS configuration."""
    for var in ("AIRFLOW_CONN_MUSIM_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN",
                "AWS_PROFILE", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("MUSIM_S3_AIRFLOW_LOOKUP", "never")
    monkeypatch.setenv("MUSIM_S3_ENDPOINT_URL", server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)
    # Small parts and no retries keep the tests quick; the retry path has its own test.
    monkeypatch.setenv("MUSIM_S3_MULTIPART_THRESHOLD", str(PART))
    monkeypatch.setenv("MUSIM_S3_PART_SIZE", str(PART))
    monkeypatch.setenv("MUSIM_S3_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("MUSIM_S3_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("MUSIM_S3_READ_TIMEOUT", "10")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[S3TestServer]:
    """One S3 server on 127.0.0.1 for the whole session (tests that stop a server start their own)."""
    with s3_server() as server:
        yield server


@pytest.fixture
def s3_env(moto_server: S3TestServer, monkeypatch: pytest.MonkeyPatch) -> S3Env:
    """A fresh bucket on the session server, with the environment pointing musim at it."""
    s3_environment(monkeypatch, moto_server)
    client = moto_server.client()
    bucket = f"musim-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Env(moto_server, bucket, client)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.server)])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """The same tests against the local folder (``MUSIM_HOME/objects``) and S3 on moto."""
    monkeypatch.setenv("MUSIM_S3_MULTIPART_THRESHOLD", str(PART))
    monkeypatch.setenv("MUSIM_S3_PART_SIZE", str(PART))
    if request.param == "local":
        return Backend("local", open_store())
    env: S3Env = request.getfixturevalue("s3_env")
    return Backend("s3", open_store(env.url), env)
