"""A real S3-protocol server on loopback for tests: moto's ``ThreadedMotoServer``, made stoppable for real.

moto's own ``stop()`` leaves the listening socket open (new connections then hang in the kernel's
backlog instead of being refused) and keep-alive connections keep being served by their handler
threads. :class:`S3TestServer` closes both, so "the server went away" looks like it does in
production (connection refused / reset), and the same port can be bound again by :meth:`restart`.
moto keeps its data in module-level backends, so buckets and objects survive a restart in this process.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

ACCESS_KEY = "musim-test-key"
SECRET_KEY = "musim-test-secret"  # moto accepts any credentials
REGION = "us-east-1"

logging.getLogger("werkzeug").setLevel(logging.ERROR)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3TestServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` on 127.0.0.1 whose :meth:`stop` closes the port and every open connection."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(ip_address="127.0.0.1", port=port or free_port(), verbose=False)
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.running = False
        #: Every request served, as ``(method, path)`` (``("HEAD", "/bucket/key")``), in the order they came: what a
        #: test counts to show which requests an operation sends. Clear it before the operation.
        self.requests: list[tuple[str, str]] = []

    @property
    def port(self) -> int:
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def _server_entry(self) -> None:
        moto_app = DomainDispatcherApplication(create_backend_app)

        def logged(environ: dict, start_response: Any) -> Any:
            with self._lock:
                self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
            return moto_app(environ, start_response)

        server = make_server(self._ip_address, self._port, logged, True, request_handler=MotoRequestHandler)
        accept = server.get_request

        def get_request() -> tuple[socket.socket, object]:
            sock, addr = accept()
            with self._lock:
                self._conns.append(sock)
            return sock, addr

        server.get_request = get_request  # type: ignore[method-assign]
        self._server = server
        self._server_ready_event.set()
        server.serve_forever(poll_interval=0.05)

    def start(self) -> None:
        super().start()
        self.running = True

    def stop(self) -> None:
        """Stop accepting, close the listening socket and cut every open connection."""
        if not self.running:
            return
        super().stop()
        assert self._server is not None
        self._server.server_close()
        with self._lock:
            conns, self._conns = self._conns, []
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.running = False

    def restart(self) -> None:
        """Stop if running, then serve again on the same port (moto's stored data is kept)."""
        self.stop()
        self._server_ready_event.clear()
        self.start()

    def client(self) -> object:
        """A plain boto3 client for this server (for setup and independent checks)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2),
        )


@contextmanager
def s3_server(port: int | None = None) -> Iterator[S3TestServer]:
    """Start an :class:`S3TestServer` on 127.0.0.1 (a free port unless given), stop it on exit."""
    server = S3TestServer(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
