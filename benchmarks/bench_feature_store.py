"""The feature store: online lookup latency, and batch extraction throughput through the whole pipeline.

**Online lookup** (target p50 <= 2 ms): ``N`` artists with a 128-d float vector (50,000; 2,000 with
``quick``) are written to the warehouse (:func:`musim.features.write_vectors`), published as an online
snapshot (:func:`musim.features.publish_online`) and looked up by random artist id with
:func:`musim.features.lookup` — the public call, including its settings read and the periodic check for a
newer snapshot — one call at a time; p50 and p99 of the per-call times. The time to load the snapshot into
memory (the first lookup) is reported too.

**Batch extraction** (informational): 30-second 44.1 kHz stereo mp3 previews (synthesised like Deezer's;
100, 8 with ``quick``, written once into ``workdir``) are put into a local object store with their
``track`` rows, then :func:`musim.features.build` runs: stream from the store, decode, log-mel + slices +
descriptors on every core, write the float16 ``.npy`` objects and the rows, materialise the artist means.
Reported: previews per second for all views and for the log-mel view alone, CPU seconds per preview, and
the cost of the second (nothing to do) build. The one-time warm-up of the parent (imports and numba
kernels, inherited by the forked workers) is timed separately and left out of the throughput. The
audio-only comparison with librosa is ``bench_features.py``.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

N_ARTISTS, N_ARTISTS_QUICK = 50_000, 2_000
DIM = 128
LOOKUPS, LOOKUPS_QUICK = 20_000, 2_000
N_PREVIEWS, N_PREVIEWS_QUICK = 100, 8
GEN_VERSION = 1


def _row(metric: str, value: float, unit: str, *, target: str | None = None, met: bool | None = None,
         notes: str = "") -> dict:
    return {"benchmark": "feature_store", "metric": metric, "value": value, "unit": unit, "baseline": None,
            "baseline_value": None, "ratio": None, "target": target, "met": met, "notes": notes}


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _online(quick: bool) -> list[dict]:
    from musim import warehouse
    from musim.features import ARTIST, clear_cache, embedding_view, lookup, publish_online, write_vectors

    n = N_ARTISTS_QUICK if quick else N_ARTISTS
    view = embedding_view("bench_artist_embedding", 1, entity=ARTIST, dim=DIM, model_version="bench",
                          description="benchmark vectors")
    rng = np.random.default_rng(0)
    with warehouse.writer() as con:
        # vectors are pushed for the warehouse's artists only: n bare catalogue rows first (not timed)
        con.execute("INSERT INTO artist (artist_id, artist_key, name, name_norm, first_dump_id) "
                    "SELECT i, 'bench-' || i, 'Artist ' || i, 'artist ' || i, 'bench' FROM range(?) t(i) "
                    "WHERE i NOT IN (SELECT artist_id FROM artist)", [n])
        t0 = time.perf_counter()
        write_vectors(con, view, list(range(n)), rng.normal(size=(n, DIM)).astype(np.float32))
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        publish_online(con, view)
        publish_s = time.perf_counter() - t0
    clear_cache()
    t0 = time.perf_counter()
    lookup(view.name, 0)
    load_ms = (time.perf_counter() - t0) * 1000
    ids = [random.Random(1).randrange(n) for _ in range(LOOKUPS_QUICK if quick else LOOKUPS)]
    times = []
    for i in ids:
        t = time.perf_counter()
        vec = lookup(view.name, i)
        times.append(time.perf_counter() - t)
        assert vec is not None
    times.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[int(0.99 * (len(times) - 1))] * 1000
    notes = (f"{n:,} artists x {DIM} float32 from a published snapshot; {len(ids):,} single lookups; "
             f"write_vectors {write_s:.2f} s, publish {publish_s:.2f} s, first lookup (load) {load_ms:.1f} ms")
    return [
        _row("online lookup p50", round(p50, 4), "ms", target="<= 2 ms", met=p50 <= 2.0, notes=notes),
        _row("online lookup p99", round(p99, 4), "ms", notes="same run"),
        _row("online snapshot load", round(load_ms, 2), "ms", notes="first lookup of a process: np.load + index"),
    ]


def _extraction(quick: bool, workdir: Path) -> list[dict]:
    from musim import warehouse
    from musim.audio.batch import default_workers
    from musim.features import BuildOptions, build
    from musim.features.extract import extractors_for, select_views
    from musim.features.pool import warm_up
    from musim.storage import open_store
    from musim.synth.folders import write_previews

    n = N_PREVIEWS_QUICK if quick else N_PREVIEWS
    workers = default_workers()
    folder = Path(workdir) / f"previews_mp3_v{GEN_VERSION}"
    paths = write_previews(folder, n, fmt="mp3", sr=44100, workers=workers)
    store = open_store()

    def fill(con, prefix: str) -> None:
        now = time.time()
        for i, p in enumerate(paths):
            info = store.put_content_addressed(p.read_bytes(), prefix="audio/previews", ext="mp3")
            con.execute("""INSERT INTO track (track_id, artist_id, title, provider, provider_track_id, object_key,
                                              sha256, format, duration_s, sample_rate, channels,
                                              excerpt_offset_s, excerpt_duration_s, added_at)
                           VALUES (?, ?, ?, 'bench', ?, ?, ?, 'mp3', 30.0, 44100, 2, 0, 30.0, to_timestamp(?))""",
                        [f"{prefix}{i}", i // 3, p.stem, p.name, info.key, info.sha256, now])

    t0 = time.perf_counter()
    warm_up(extractors_for(select_views(None)))
    warm_s = time.perf_counter() - t0
    opts = BuildOptions(progress=False)
    rows = []
    with warehouse.writer() as con:
        fill(con, "t")
        cpu0, t0 = _cpu(), time.perf_counter()
        full = build(con=con, store=store, options=opts, publish=False)
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        assert full.planned == n and full.rejected == 0, full
        t0 = time.perf_counter()
        again = build(con=con, store=store, options=opts, publish=False)
        noop_s = time.perf_counter() - t0
        assert again.planned == 0
    rows.append(_row("extraction throughput (all views)", round(n / wall, 2), "previews/s",
                     notes=f"{n} x 30 s mp3 44.1 kHz stereo, {workers} workers: log-mel 256x64 + slices + "
                           f"descriptors, objects + rows + artist means; {wall:.1f} s wall, "
                           f"{cpu / n:.2f} CPU s/preview; parent warm-up {warm_s:.1f} s excluded"))
    rows.append(_row("second build (nothing to do)", round(noop_s, 3), "s",
                     notes=f"plan over {n} tracks x 3 extractors, no computation"))
    # log-mel only, on a fresh warehouse + store (same audio)
    home = Path(os.environ["MUSIM_HOME"])
    shutil.rmtree(home / "objects" / "features", ignore_errors=True)
    (home / "warehouse.duckdb").unlink()
    with warehouse.writer() as con:
        fill(con, "m")
        cpu0, t0 = _cpu(), time.perf_counter()
        mel = build(["track_log_mel"], con=con, store=store, options=opts, publish=False)
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        assert mel.planned == n
    rows.append(_row("extraction throughput (log-mel only)", round(n / wall, 2), "previews/s",
                     notes=f"track_log_mel view alone through the pipeline; {wall:.1f} s wall, "
                           f"{cpu / n:.3f} CPU s/preview (compare bench_features: audio only)"))
    return rows


def run(*, quick: bool, workdir: Path) -> list[dict]:
    workdir = Path(workdir)
    home = workdir / f"home-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    saved = {k: os.environ.get(k) for k in ("MUSIM_HOME", "MUSIM_WAREHOUSE", "MUSIM_OBJECT_STORE",
                                            "MUSIM_SERVING_DIR", "MUSIM_TMP")}
    os.environ["MUSIM_HOME"] = str(home)
    for k in saved:
        if k != "MUSIM_HOME":
            os.environ.pop(k, None)
    try:
        rows = _online(quick)
        shutil.rmtree(home, ignore_errors=True)
        rows += _extraction(quick, workdir)
        return rows
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(home, ignore_errors=True)
