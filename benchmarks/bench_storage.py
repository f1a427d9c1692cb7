"""Object-store throughput: ``musim.storage`` against raw boto3 calls on the same objects.

S3: a moto server on 127.0.0.1 (in this process), preview-sized objects (300 KB; 200 of them, 20 with
``quick``). Each pass puts or gets every object once, musim and raw boto3 taking turns object by object (on a
shared machine, load changes then hit both alike); throughput is bytes over the summed call times. musim does more per put than the raw call (sha256 of the content,
recorded as metadata; key validation), so the target is that this costs under 10%.
Local: the folder backend against a plain ``open(...).write`` / ``read_bytes`` of the same files
(informational: musim writes to a temp file and renames it into place, so writes are atomic).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OBJECT_SIZE = 300_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _paired(methods: dict[str, Callable[[str, bytes], Any]], objects: list[tuple[str, bytes]],
            reps: int) -> dict[str, float]:
    """Total seconds per method; the methods take turns object by object (alternating who goes first),
    so a change in machine load (shared cores) hits both alike."""
    totals = dict.fromkeys(methods, 0.0)
    names = list(methods)
    for rep in range(reps):
        for i, (key, data) in enumerate(objects):
            for name in names if (i + rep) % 2 == 0 else names[::-1]:
                start = time.perf_counter()
                methods[name](key, data)
                totals[name] += time.perf_counter() - start
    return totals


def _row(benchmark: str, value: float, baseline: str | None, baseline_value: float | None,
         target: str | None, notes: str) -> dict[str, Any]:
    ratio = value / baseline_value if baseline_value else None
    met = None
    if target and ratio is not None:
        met = ratio >= float(target.split(">=")[1])
    return {
        "benchmark": benchmark, "metric": "throughput", "value": round(value, 1), "unit": "MB/s",
        "baseline": baseline, "baseline_value": None if baseline_value is None else round(baseline_value, 1),
        "ratio": None if ratio is None else round(ratio, 3), "target": target, "met": met, "notes": notes,
    }


def _bench_s3(objects: list[tuple[str, bytes]], reps: int) -> list[dict[str, Any]]:
    import boto3
    from botocore.config import Config
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from musim.storage import S3Config, TransferOptions, open_store

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        cfg = S3Config(endpoint_url=endpoint, access_key_id="bench", secret_access_key="bench", source="bench")
        store = open_store("s3://musim-bench/m", s3_config=cfg, options=TransferOptions())
        raw = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench",
            region_name="us-east-1", config=Config(s3={"addressing_style": "path"}),
        )
        raw.create_bucket(Bucket="musim-bench")

        def raw_put(key: str, data: bytes) -> None:
            raw.put_object(Bucket="musim-bench", Key=f"r/{key}", Body=data)

        def raw_get(key: str, _: bytes) -> None:
            raw.get_object(Bucket="musim-bench", Key=f"r/{key}")["Body"].read()

        def musim_get(key: str, _: bytes) -> None:
            store.get_bytes(key)

        for key, data in objects[:5]:  # warm up: connections, moto's first requests
            store.put_bytes(key, data), raw_put(key, data), musim_get(key, data), raw_get(key, data)
        put = _paired({"musim": store.put_bytes, "raw": raw_put}, objects, reps)
        get = _paired({"musim": musim_get, "raw": raw_get}, objects, reps)
    finally:
        server.stop()
        if server._server is not None:  # moto's stop() leaves the listening socket open
            server._server.server_close()
    mb = reps * len(objects) * OBJECT_SIZE / 1e6
    note = f"{len(objects)} x {OBJECT_SIZE // 1000} KB x {reps} passes, moto on loopback, calls interleaved"
    return [
        _row("storage.s3.put", mb / put["musim"], "boto3 put_object", mb / put["raw"], ">= 0.9", note),
        _row("storage.s3.get", mb / get["musim"], "boto3 get_object", mb / get["raw"], ">= 0.9", note),
    ]


def _bench_local(objects: list[tuple[str, bytes]], reps: int, workdir: Path) -> list[dict[str, Any]]:
    from musim.storage import open_store

    store = open_store((workdir / "objects").as_uri())
    plain = workdir / "plain"

    def plain_put(key: str, data: bytes) -> None:
        path = plain / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)

    def plain_get(key: str, _: bytes) -> None:
        (plain / key).read_bytes()

    def musim_get(key: str, _: bytes) -> None:
        store.get_bytes(key)

    put = _paired({"musim": store.put_bytes, "raw": plain_put}, objects, reps)
    get = _paired({"musim": musim_get, "raw": plain_get}, objects, reps)
    mb = reps * len(objects) * OBJECT_SIZE / 1e6
    note = f"{len(objects)} x {OBJECT_SIZE // 1000} KB x {reps} passes under {workdir}; informational (musim writes temp + rename)"
    return [
        _row("storage.local.put", mb / put["musim"], "open().write", mb / put["raw"], None, note),
        _row("storage.local.get", mb / get["musim"], "read_bytes", mb / get["raw"], None, note),
    ]


def run(*, quick: bool, workdir: Path) -> list[dict]:
    """Rows for ``benchmarks/run.py`` (see benchmarks/README.md)."""
    count, reps = (20, 3) if quick else (200, 5)
    objects = [(f"previews/obj-{i:04d}.mp3", os.urandom(OBJECT_SIZE)) for i in range(count)]
    workdir.mkdir(parents=True, exist_ok=True)
    return _bench_s3(objects, reps) + _bench_local(objects, reps, workdir)


if __name__ == "__main__":
    import sys

    from benchmarks._util import run_alone

    sys.exit(run_alone(__spec__.name))
