"""Audio neighbours at catalogue scale: musim's Voyager index against exact brute force, and the library choice.

Full: 1,000,000 synthetic tracks (grouped by artist, ~10 each: :func:`benchmarks.ann_libraries.catalogue`) at
64-d (the siamese encoder, the default serving model's embedding) and 128-d (the CNN classifier's), cosine.
Quick (``make bench-quick``): 20,000 tracks. Per dimension, in a fresh process:

- build the index (:class:`musim.models.ann.AnnIndex`, M by dimension (16 at 64-d, 32 at 128-d),
  ef_construction=200, both cores; its search depth
  calibrated to recall@10 0.95 on a sample of its own vectors, not the sample below), its file size;
- recall@10 against exact search on 1,000 sampled queries (target >= 0.95);
- one-query top-10 search p50 (what ``similar-audio`` does for the tracks; target <= 2 ms) against the exact
  matrix-vector product over the catalogue (the baseline, same run);
- the track and artist neighbour tables (k=10) through the index (:func:`musim.models.neighbours.track_neighbors`,
  its search depth calibrated for the tables' own rows, :func:`musim.models.neighbours.calibrate_table_ef`)
  against exact brute force, timed on 512 tracks and scaled to the catalogue (a full exact table of 1M
  tracks would take hours); the rows of those 512 tracks compared with the exact ones (table recall).

Then the four libraries of the lock compared on 100,000 tracks (5,000 quick): build, size, the ef each needs
for recall@10 >= 0.95, one-query p50 (:mod:`benchmarks.ann_libraries`). Run alone with
``python -m benchmarks.run --only ann [--quick]``. On a shared 2-core machine the times are indicative.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks._util import measure, row

K = 10
SAMPLE_QUERIES = 1000
SAMPLE_TABLE_ROWS = 512


def _progress(out: dict[str, Any], what: str) -> None:
    """A line on stderr per stage (a 1M run takes many minutes on shared cores)."""
    print(f"bench_ann {out['n']} x {out['dim']}: {what}: {out}", file=sys.stderr, flush=True)


def step(n: int, dim: int, workdir: str) -> dict[str, Any]:
    """One catalogue size and dimension, measured (runs in the child process)."""
    import time

    import numpy as np
    from threadpoolctl import threadpool_limits

    from benchmarks.ann_libraries import catalogue, exact_top, recall, unit
    from musim.models import neighbours
    from musim.models.ann import AnnIndex
    from musim.models.neighbours import (
        _track_neighbors_exact,
        artist_neighbors,
        calibrate_table_ef,
        track_neighbors_ann,
    )

    emb, owner = catalogue(n, dim, seed=dim)
    x = unit(emb)
    out: dict[str, Any] = {"n": n, "dim": dim}
    t0 = time.perf_counter()
    index = AnnIndex.build(emb)
    out["build_s"] = time.perf_counter() - t0  # with the search depth's calibration (musim.models.ann.calibrate_ef)
    out["ef"], out["m"], out["recall_target"] = index.params.ef, index.params.m, index.params.recall_target
    _progress(out, "index built")
    path = Path(workdir) / f"index-{n}-{dim}.voy"
    index.save(path)
    out["index_mib"] = path.stat().st_size / 2**20
    # the queries go to the index as `similar-audio` serves it: saved, then loaded (musim.models.ann.load_index).
    # Stop 31, 1M x 128-d: a fresh process that only loaded the graph and this step answered alike (2.6 and
    # 2.4-2.7 ms), so stop 30's gap (3.2 ms in the step against 1.3 ms in a sweep) was not built against loaded
    served = AnnIndex.load(path, index.params)
    path.unlink()

    rng = np.random.default_rng(1)
    sample = rng.choice(n, size=min(SAMPLE_QUERIES, n), replace=False)
    found = np.stack([served.search(x[i], K, threads=1)[0][0] for i in sample])
    out["recall_at_10"] = recall(found, exact_top(x, x[sample]))
    ann_t, exact_t = [], []
    # one query, one thread on both sides (BLAS threads on shared cores only wait); each side's queries in a row,
    # as a server answers them, not interleaved (an exact scan reads 512 MB at 1M x 128 and evicts the caches)
    with threadpool_limits(1):
        for i in sample[:300]:
            t = time.perf_counter()
            served.search(x[i], K, threads=1)
            ann_t.append(time.perf_counter() - t)
        for i in sample[:300]:
            t = time.perf_counter()
            s = x @ x[i]
            top = np.argpartition(-s, K)[:K]
            top[np.argsort(-s[top])]
            exact_t.append(time.perf_counter() - t)
    out["search_p50_ms"] = float(np.median(ann_t)) * 1e3
    out["exact_search_p50_ms"] = float(np.median(exact_t)) * 1e3
    del served
    _progress(out, "searched")

    t0 = time.perf_counter()
    out["table_ef"] = calibrate_table_ef(index, emb, owner, k=K)  # what track_neighbors does inside, to report it
    out["table_calibration_s"] = time.perf_counter() - t0
    nb, _ = track_neighbors_ann(emb, owner, k=K, index=index, ef=out["table_ef"])
    out["track_table_s"] = time.perf_counter() - t0
    _progress(out, "track table through the index")
    rows = rng.choice(n, size=min(SAMPLE_TABLE_ROWS, n), replace=False)
    neighbours._BLOCK = 32  # same work per row as the default 256, an eighth of the memory at 1M tracks
    t0 = time.perf_counter()
    want, _ = _track_neighbors_exact(emb, owner, k=K, pair_similarity=None, rows=rows)
    out["exact_track_table_s"] = (time.perf_counter() - t0) * n / rows.size
    out["table_recall_at_10"] = recall(nb[rows], want)
    _progress(out, "exact sample")
    t0 = time.perf_counter()
    artists, _, _ = artist_neighbors(emb, owner, k=K, search="ann")
    out["artist_table_s"] = time.perf_counter() - t0
    out["artists"] = int(artists.size)
    return out


def _measure_step(n: int, dim: int, workdir: Path) -> tuple[float, float, dict]:
    code = f"""
import time
from benchmarks.bench_ann import step
t = time.perf_counter()
RESULT.update(step({n}, {dim}, {str(workdir)!r}))
RESULT['_wall'] = time.perf_counter() - t
"""
    return measure(code, timeout=4 * 3600)


def run(*, quick: bool = False, workdir: Path) -> list[dict]:
    from benchmarks.ann_libraries import compare

    n = 20_000 if quick else 1_000_000
    rows: list[dict] = []
    for dim in (64, 128):
        _, rss, r = _measure_step(n, dim, workdir)
        (workdir / f"step-{n}-{dim}.json").write_text(json.dumps(dict(r, peak_rss_mib=rss), indent=1))
        name = f"ann {n // 1000}K x {dim}-d"
        rows += [
            row(name, "index build", round(r["build_s"], 1), "s", notes=f"voyager M={r['m']} ef_construction=200; peak "
                f"RSS {rss:,.0f} MiB for the whole step"),
            row(name, "index size", round(r["index_mib"], 1), "MiB"),
            row(name, "recall@10 vs exact", round(r["recall_at_10"], 4), "", target=">= 0.95",
                met=r["recall_at_10"] >= 0.95, notes=f"{SAMPLE_QUERIES} sampled queries; ef {r['ef']}, calibrated to recall "
                      f"{r['recall_target']} on the index's own sample (MUSIM_ANN_RECALL)"),
            row(name, "top-10 search p50", round(r["search_p50_ms"], 3), "ms", baseline="exact (numpy matvec, 1 thread)",
                baseline_value=round(r["exact_search_p50_ms"], 3),
                ratio=round(r["search_p50_ms"] / r["exact_search_p50_ms"], 4), target="<= 2 ms",
                met=r["search_p50_ms"] <= 2.0, notes="one query, one thread"),
            row(name, "track neighbour table (k=10)", round(r["track_table_s"], 1), "s",
                baseline="exact brute force (extrapolated)", baseline_value=round(r["exact_track_table_s"], 1),
                ratio=round(r["track_table_s"] / r["exact_track_table_s"], 4),
                notes=f"exact timed on {SAMPLE_TABLE_ROWS} tracks; table recall@10 vs exact "
                      f"{r['table_recall_at_10']:.4f}; ef {r['table_ef']} calibrated for the tables in "
                      f"{r['table_calibration_s']:.1f} s (included)"),
            row(name, "artist neighbour table (k=10)", round(r["artist_table_s"], 1), "s",
                notes=f"{r['artists']:,} artists: index of their means built and queried"),
        ]
    lib_n = 5_000 if quick else 100_000
    for dim in (64, 128):
        results = compare(lib_n, dim, queries=300)
        (workdir / f"libraries-{lib_n}-{dim}.json").write_text(json.dumps(results, indent=1))
        voyager = next(x for x in results if x["library"] == "voyager")
        for x in results:
            rows.append(row(f"ann library {lib_n // 1000}K x {dim}-d", f"{x['library']} build", x["build_s"], "s",
                            baseline="voyager", baseline_value=voyager["build_s"],
                            ratio=round(x["build_s"] / voyager["build_s"], 3),
                            notes=f"size {x['size_mib']} MiB; ef {x['ef']} for recall@10 {x['recall@10']}; "
                                  f"p50 {x['p50_ms']} ms"))
    return rows
