"""Preview acquisition throughput: ``musim.acquire.pipeline.acquire`` with the default concurrency (4 artists
at once) against one artist at a time, on the same catalogue, each with a fresh warehouse and object store.

The providers are the fake Deezer of ``tests/fakes/provider_server.py`` on 127.0.0.1 with 8-second mp3
previews, every request delayed by ``LATENCY_S`` (a stand-in for the network round trip to a real
service) and rate limits high enough not to bind, so the comparison measures how well the pipeline overlaps
waiting. Throughput is previews stored per second of the whole run (plan + fetch + record), best of
``reps`` alternating runs. With the real services the configured rate limits (Deezer 50 calls / 5 s,
downloads 10 / s) cap it instead; the full run adds one informational row with those defaults.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LATENCY_S = 0.03
PER_ARTIST = 3


def _row(benchmark: str, value: float, baseline: str | None, baseline_value: float | None, target: str | None,
         notes: str) -> dict[str, Any]:
    ratio = value / baseline_value if baseline_value else None
    met = None if target is None or ratio is None else ratio >= float(target.split(">=")[1].rstrip("x "))
    return {"benchmark": benchmark, "metric": "throughput", "value": round(value, 2), "unit": "previews/s",
            "baseline": baseline, "baseline_value": None if baseline_value is None else round(baseline_value, 2),
            "ratio": None if ratio is None else round(ratio, 2), "target": target, "met": met, "notes": notes}


@contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _publish_catalogue(home: Path, names: list[str]) -> Path:
    """A published snapshot whose catalogue is ``names`` (most listeners first); returns the serving dir."""
    from musim import serving, warehouse
    from musim.config import get_settings

    env = {"MUSIM_HOME": str(home), "MUSIM_DUCKDB_MEMORY": "1GB", "MUSIM_DUCKDB_THREADS": "2"}
    settings = get_settings(env)
    if (settings.serving_dir / serving.CURRENT).exists():
        return settings.serving_dir
    shutil.rmtree(home, ignore_errors=True)  # whatever an earlier run stopped before publishing left
    settings = get_settings(env)  # its folders made again
    dump = "b" * 64
    with warehouse.writer(settings) as con:
        con.begin()  # all the rows or none: a run stopped half-way left a dump row the next run's insert refused
        con.execute("""INSERT INTO lastfm_dump (dump_id, seq, file_name, format, bytes, lines, loaded, rejected,
                       plays_rows, users, artists, started_at, finished_at)
                       VALUES (?, 1, 'bench.tsv', '360k', 1, 1, 1, 0, 1, 1, ?, now(), now())""", [dump, len(names)])
        for i, name in enumerate(names, start=1):
            con.execute("""INSERT INTO artist (artist_id, artist_key, name, name_norm, first_dump_id)
                           VALUES (?, ?, ?, ?, ?)""", [i, f"name:{name.lower()}", name, name.lower(), dump])
            con.execute("INSERT INTO artist_listeners VALUES (?, ?, ?, ?)", [dump, i, 10_000 - i, 10_000])
        con.execute("""INSERT INTO similarity_build (dump_id, min_listeners, min_co_listeners, k, users, artists, pairs,
                       seed_raw_max, catalogue_size, built_at, seconds) VALUES (?, 1, 1, 5, 1, ?, 0, 1.0, ?, now(), 0.1)""",
                    [dump, len(names), len(names)])
        con.commit()
        serving.publish(con, settings)
    return settings.serving_dir


def _one_run(workdir: Path, serving_dir: Path, top_n: int, concurrency: int, acquire_settings: Any,
             tag: str) -> tuple[float, int]:
    from musim.acquire.pipeline import acquire

    home = workdir / f"run-{tag}"
    shutil.rmtree(home, ignore_errors=True)
    with _env(MUSIM_HOME=str(home), MUSIM_SERVING_DIR=str(serving_dir), MUSIM_DUCKDB_THREADS="2",
              MUSIM_DUCKDB_MEMORY="1GB"):
        for var in ("MUSIM_WAREHOUSE", "MUSIM_OBJECT_STORE", "MUSIM_TMP"):
            os.environ.pop(var, None)
        summary = acquire(top_n, per_artist=PER_ARTIST, providers=["deezer"], concurrency=concurrency,
                          batch_size=top_n, acquire_settings=acquire_settings)
    shutil.rmtree(home, ignore_errors=True)
    if summary.downloaded != top_n * PER_ARTIST:
        raise RuntimeError(f"expected {top_n * PER_ARTIST} previews, got {summary.to_json()}")
    return summary.seconds, summary.downloaded


def run(*, quick: bool, workdir: Path) -> list[dict]:
    """Rows for ``benchmarks/run.py`` (see benchmarks/README.md)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from musim.acquire.fetch import DEFAULT_CONCURRENCY
    from tests.fakes.provider_server import FakeArtist, FakeProviderServer, FakeTrack, Fault

    logging.getLogger("musim").setLevel(logging.WARNING)
    top_n, reps = (8, 1) if quick else (40, 2)
    names = [f"Bench Artist {i:03d}" for i in range(top_n)]
    catalogue = [FakeArtist(n, [FakeTrack(f"Song {j}", 200, audio_s=8.0) for j in range(PER_ARTIST)]) for n in names]
    workdir.mkdir(parents=True, exist_ok=True)
    serving_dir = _publish_catalogue(workdir / "snapshot", names)
    rows: list[dict] = []
    with FakeProviderServer(catalogue) as server:
        server.add_fault(r"^/", Fault("slow", delay_s=LATENCY_S))
        fast = server.settings()
        for i, artist in enumerate(catalogue):  # the server's generated audio is cached: make it now
            for j in range(len(artist.tracks)):
                server.audio("deezer", server._track_id("deezer", i, j))
        _one_run(workdir, serving_dir, 2, 1, fast, "warmup")  # untimed: imports, DuckDB, decoders
        best = {DEFAULT_CONCURRENCY: float("inf"), 1: float("inf")}
        for rep in range(reps):
            order = [DEFAULT_CONCURRENCY, 1] if rep % 2 == 0 else [1, DEFAULT_CONCURRENCY]
            for c in order:
                seconds, _ = _one_run(workdir, serving_dir, top_n, c, fast, f"c{c}")
                best[c] = min(best[c], seconds)
        n = top_n * PER_ARTIST
        note = (f"{top_n} artists x {PER_ARTIST} mp3 previews (8 s), fake Deezer on loopback with "
                f"{LATENCY_S * 1000:.0f} ms per request, limits not binding; best of {reps}")
        rows.append(_row("acquire.previews", n / best[DEFAULT_CONCURRENCY], "concurrency 1", n / best[1],
                         ">= 2x", f"concurrency {DEFAULT_CONCURRENCY}; " + note))
        if not quick:
            from musim.config import RateLimits

            polite = fast.model_copy(update={"rate_limits": RateLimits()})
            started = time.perf_counter()
            seconds, _ = _one_run(workdir, serving_dir, top_n, DEFAULT_CONCURRENCY, polite, "polite")
            rows.append(_row("acquire.previews.default_limits", n / seconds, None, None, None,
                             "informational: the same run under the default rate limits (Deezer 50/5 s, "
                             f"downloads 10/s), {time.perf_counter() - started:.1f} s"))
    return rows


if __name__ == "__main__":
    import sys

    from benchmarks._util import run_alone

    sys.exit(run_alone(__spec__.name))
