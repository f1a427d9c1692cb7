"""From dump to served similarity: ``musim similarity build`` (build + quality gate + publish) vs implicit.

Same synthetic 360K-style dump as ``bench_lastfm`` (360K users, 290K artists, ~18.7M lines), ingested once.
On the same user x artist matrix (artists with >= 50 listeners; 10 at --quick), each in a fresh process:

1. the baseline: implicit's ``CosineRecommender(K=100).fit`` (item-item neighbours from implicit feedback);
2. the default ``musim similarity build``, step by step as the CLI runs them: the build (co-listened pairs
   counted and stored once, with the listeners and catalogue pairs), the similarity quality gate, the
   publish (compressed tables copied into a new snapshot, pairs laid out by artist, views);
3. ``musim similar`` top-10 latency on the published snapshot (p50, p99) with an open connection.

Targets (issue 19): whole build <= 2.0x implicit, peak RSS <= 4 GiB, gate <= 0.2x the build, similar p50
<= 5 ms and p99 <= 20 ms. This machine is shared (2 cores, other jobs): wall times drift by +-20% or more.
``MUSIM_BENCH_SIMILARITY_FRACTION`` (e.g. 0.25) scales the full dump's users and artists down. Each side is timed
``MUSIM_BENCH_SIMILARITY_REPEATS`` times (3; once at --quick) in fresh processes, every musim run from the same
ingested warehouse; the rows give the medians (the gate's ratio: the median of each run's gate / build), the notes
every run.

What was tried (at 1/4 scale, load average 11-14 on the 2 cores: absolute times are 4-7x a quiet run's):
- an ART index on artist_pairs(artist_a) and (artist_b) in the snapshot: DuckDB uses an ART index only when
  it is the scan's sole filter (adding the dump id made it a full scan) and fetches each matching row
  separately (6-9 ms for a few hundred rows), and builds it at ~1 s per million rows: dropped;
- one list of (neighbour, co-listeners, listeners) per artist: a probe reads its row group's whole lists
  (~30 ms): dropped;
- the pairs in both directions sorted by (artist, dump id) with the neighbours' listeners joined in: the
  publish took 85.6 s; sorted on the integer artist alone and joined per question instead: 24.4 s;
- where `similar` spends its time (DuckDB's profiler): binding and rewriting the metric expressions
  (~40 + 20 ms under load) dwarf the execution (~6 ms); a SQL PREPARE/EXECUTE did not help (EXECUTE
  rebinds); scored in Python instead (musim/similarity/metrics.py, the same arithmetic) with the dump's
  artists (listeners, names) read once per connection: one probe per question, ~2 ms p50. The gate's
  time was mostly importing Great Expectations (10-20 s of CPU): the CLI now imports it in a background
  thread while the build runs (musim.quality.preload).

Since (full scale, 19.7M pairs among 45K artists; the machine shared, so single times drift):
- the pairs counted by a C sparse accumulator (musim/_cooccurrence.c: edges laid out by user and by artist,
  one dense counter array per artist range, GIL released) instead of DuckDB's self-join: the counting itself
  about 4 s on one core where implicit's fit takes 8-9 s on two; the self-join stays as the fallback
  (MUSIM_SIMILARITY_ENGINE=duckdb) and as the differential reference. The catalogue's pairs too (0.9 s ->
  0.1 s at 1/4 scale). Two threads gained nothing while another job held a core;
- the counted pairs handed to DuckDB as an Arrow table rather than numpy columns: insert 1.5 s -> 1.1 s
  for 19.7M rows; the Arrow columns built from the arrays' buffers, because pa.table/pa.array import pandas
  on their first call (0.9 s: the C engine was slower than the self-join on bench_lastfm's quick dump);
- the publish's pair lookup sorted dump by dump on three integers, the dump id added after the sort: the
  sort of all dumps with the 64-character id took 3x as long;
- the lookup laid out in both directions by a counting sort in C and inserted from numpy: slower than
  DuckDB's integer sort (6.9 s against 4.1 s for 39.5M rows): dropped;
- the gate's duplicate-pair check as a parallel GROUP BY ... HAVING instead of count(DISTINCT): 2.1 s ->
  1.4 s; the catalogue cross-check joins the catalogue's pairs only, not every pair with its listeners.
Stop 23 (full scale; numbers of the quiet run in benchmarks/RESULTS.md):
- every process imported its modules from source: PYTHONDONTWRITEBYTECODE is set here and in CI, and the
  venv had no bytecode. `make install` now compiles it: importing Great Expectations 9.4 s -> 4-5 s, which
  the build pays (the CLI imports it beside the build) or the gate pays;
- the C counter marks counted artists in a bitmap and walks its set bits, with the users' rows prefetched:
  2.6 s -> 1.7 s on one thread, and the pairs come sorted by (a, b), so both engines store them in pair
  order; the build's record (pairs, seed scale, neighbour rows) is summarised from the arrays in numpy
  instead of a pass of SQL over the stored pairs (0.8 s);
- the gate proves "each pair once" by one streaming lag() OVER () pass in storage order (0.1-0.2 s where
  the GROUP BY over the packed pair took 1.2-2.8 s), joins listeners by inner joins (3x faster than left
  joins; a pair whose artist has no listeners drops out and is counted as ineligible), and cross-checks the
  catalogue against the pairs among its own ~1000 artists only: invariants SQL 2.6 s -> 0.6-0.8 s;
  the first part's SQL now runs while the GX suite is built;
- publish lays the pair lookup out in both directions by one counting pass in C (0.8 s for 39.5M rows)
  and inserts it in that order, keyed by the dump's integer seq: DuckDB's sort took 4 s and the 64-character
  dump id as a column doubled the time to write 40M rows (views add the id back);
- tried and dropped: the users' row ends precomputed per column entry (+0.25 s layout for -0.1 s count);
  Parquet for the lookup, read through a view (3.5-5 ms a probe: Parquet metadata per query; smaller row
  groups made it worse), a list lookup of listeners instead of joins (2x slower), fetching the edges without
  the sim_edges temp table (-0.2 s), aggregating plays before joining artists (same).
- the cost of pair order to the DuckDB fallback: each slice of its self-join is inserted sorted and its
  stored pairs are read back for the summary; bench_lastfm --quick: self-join 0.89 s -> 2.2 s (the C
  counter 0.32 -> 0.52 s there, under the bench's own start-up noise; scipy 1.1 s).
Stop 24 (full scale; five runs in benchmarks/RESULTS.md, 1.82-2.28x, median 1.98x):
- the pairs keyed by the dump's integer seq (migration 012, artist_pair_counts; the view artist_pairs adds
  the id): the 64-character id took 40% of the time to write 19.7M pairs, and every scan of one dump's pairs
  compared it; the listeners lost their primary key (its index over the id took 90% of the time to store
  them; one row per artist is now a gate check);
- the layout of the C counter: rows by a counting sort on the user, then sorted in place; columns filled
  from the rows (each artist's users ascending) with the work per artist counted on the way: layout
  0.65-0.87 -> 0.3-0.4 s, and the threads' ranges no longer a numpy pass over all column entries (0.4-0.6 s);
  the build's record summarised in one C pass (0.42 -> ~0.05 s);
- GX: each part's suite stored once with its expectations (GX saved the whole suite again per expectation,
  0.5 s); int32 columns widened to int64 (GX's bounds check is vectorised only for int64/float64, else a
  Python call per value); the catalogue's row-level part dropped (it re-checked on a sample what the
  invariants check on every catalogue row); parts validated as their frames arrive, each prefetched on a
  cursor of its own; sampled row ids semi-joined as a registered array (a 100,000-element list parameter
  took 0.1 s to bind); Data Docs without the suite pages (0.28 -> 0.14 s);
- GX's import beside the build at the lowest CPU priority: at normal priority it took a core from the
  build's threads (build 5.3 -> 7.7 s, for 3.6 s of import); now it takes what the build leaves idle, and the
  gate starts its SQL, raises the import back to normal priority and waits for the rest beside that SQL
  (musim.quality.preloading). The gate's wall time includes most of the import (2.2-3.7 s; its own checks
  take ~1.2-1.3 s, ~0.25x the build) and the whole run is 1-2 s shorter;
- publish: listeners and catalogue pairs copied in storage order instead of sorted by the dump id; each
  dump's pairs read and laid out on their own cursor and thread while the small tables are copied;
  symmetric() lays the rows above each artist out on a second thread;
- tried and dropped: the gate run beside the publish's writing (the gate's own time doubled under the
  contention, the whole gained 0.4 s), or after it (no gain: the machine is busy either way); a GX warm-up
  (a one-row validation and Data Docs) beside the build (no measurable gain); uncompressed lookup columns
  (insert 1.8 -> 1.1 s, but a 3x larger snapshot); Arrow instead of numpy to fetch the stored pairs (slower).
Stop 25 (full scale):
- the C counter labels the pairs with artist ids as it emits them and leaves them in chunks, one per range of
  artists: DuckDB inserts them as chunked Arrow columns and the build's record is summarised chunk by chunk,
  without concatenating 20M pairs (0.3 s) or gathering their ids afterwards (0.1-0.3 s): store_pairs
  3.0 -> 2.2-2.5 s. Single-core time of the build, which GX's import at the lowest priority used to fill:
  the import's remainder moved into the gate, so the whole run gained less than the build did;
- the snapshot's pair lookup without the dump column: each dump's rows are a rowid range
  (pair_lookup_dumps), which a question reads with its artist's zone map (rowid ranges prune row groups)
  and the view joins back (a range join on a handful of rows: a full scan 0.1 s, one artist 2 ms, as with the
  column); its insert 1.4 -> 1.2 s. The lookup without the artist column too (each artist's rows a range)
  would have saved 0.6 s, but every SQL query of the view then paid a range join over 45K ranges (1-13 s);
- tried: the publish's writing before the gate, with GX's import raised to normal priority after the build
  (a gate of its own checks then, ~1.1-1.5 s): 9.4-11.5 s against 8.8-10.6 s for the CLI's order, inside
  the noise of this machine: the run is bound by CPU (14-15 s of CPU in 9-10 s on 2 cores), so reordering
  moves the import's 3 s of CPU rather than hiding it.
Stop 31 (full scale; runs in benchmarks/RESULTS.md):
- GX's import without scipy.stats (with scipy.spatial) and altair, which it loads for the KL-divergence
  expectation alone and uses only inside its functions: stand-in modules import them on first read
  (musim.quality.gx.import_gx), and a whole gate with Data Docs reads neither. 0.5-0.9 s less CPU; in three
  interleaved pairs the whole run went from 1.95-2.00x to 1.64-1.79x, the gate from 0.44-0.58x to 0.28-0.42x.
  sqlalchemy, boto3 and pyathena cannot wait the same way: GX reads their attributes while it imports.
Stop 33: build and gate with GX's preload off and at nice 19, 10 and 0 (benchmarks/gate_import_priority.py):
build + gate level (5.1-5.4 s) with any preload, the priority only moving the import between the two steps
(gate 1.57 -> 0.85 s as the build goes 3.6 -> 4.5 s); nice 19 kept. At twice the dump
(MUSIM_BENCH_SIMILARITY_FRACTION=2) every target is met (1.48-1.55x, gate 0.165-0.168x): the gate stays ~1.3 s.
What is left: Great Expectations' import (2.6-2.9 s of CPU, which no idle core hides on two cores busy with
the build) and its fixed cost per expectation (~15-20 ms, 24 expectations); writing rows (19.7M pairs, 39.5M
lookup rows, ~25M rows/s here on two threads).
The gate's fixed cost (1/4 scale, 4.7M pairs, GX imported first; CPU by time.thread_time/process_time, since the
machine was shared, load 8-11 on 2 cores; five interleaved pairs of fresh processes, before -> after):
- where the main thread's ~0.7 s of CPU went: GX validating the 15 one-row facts 0.17-0.25 s (~15 ms a fact: a
  row-by-row expectation builds ~10 metrics, counts, lists, value counts, indexes, for one value), the 100,000-row
  sample's 9 expectations 0.13-0.18 s (~0.1 s of it fixed: the same on one row), Data Docs 0.15-0.2 s (of which
  Jinja compiling GX's ~34 page templates again in each build, a new environment per build, 0.1-0.15 s), the
  parts' suites and definitions 0.04-0.05 s, the suites' import 0.05 s, context, upload and record ~0.05 s;
- the facts checked by their value (registry.fact_between: GX's column maximum on the one-row frame, one
  aggregate): 0.17-0.25 -> 0.05-0.06 s. Same expectations by name and description, same failure lines and
  examples; a NULL or NaN fact now fails (it passed as "missing");
- Data Docs views with Jinja's bytecode cache (musim.quality.gx_views; Jinja's per-user folder in the temp dir,
  so it outlives the benchmark's fresh MUSIM_HOME): the templates compiled once per user, 0.15-0.2 -> 0.06-0.07 s;
- together (GX imported before the gate): main-thread CPU 0.56-0.88 s -> 0.31-0.53 s (medians of nine pairs
  0.70 -> 0.45); the gate's process CPU 1.18-1.69 s -> 0.92-1.38 s (1.50 -> 1.17); at load ~5, four pairs:
  wall 1.22-2.11 s -> 0.91-2.35 s (medians 1.74 -> 1.33), Data Docs 0.20-0.35 -> 0.07-0.18 s.
- measured and left: GX's BASIC result format for the row-level parts (-0.05 s: no value counts, so Data Docs
  would list sampled bad values without their counts); GX rebuilds each expectation's pydantic configuration
  ~170 times per validation (4,056 calls for 24 expectations; its code, not musim's); a process-wide GX context
  (0.01-0.015 s: not worth sharing state between runs); the suites imported ahead (0.03-0.05 s, moved not cut);
  mistune and jsonschema deferred as scipy.stats is (a gate with Data Docs reads neither): no change in six
  interleaved imports (1.7-2.3 s of CPU either way).
- build + gate as the CLI runs them (GX preloaded at nice 19), three interleaved pairs at load ~5: gate CPU
  2.8-3.3 s before, 2.7-3.7 s after, walls 4-8.5 s: GX's import remainder (the most of it) swamps the 0.3 s.
What is left: GX's import (2.6-2.9 s of CPU, the gate pays what the build's idle cores did not), the invariants'
SQL and the sample's fetch (both grow with the pairs), GX's fixed ~10 ms per row-level expectation.
Stop 50 (full scale; CPU by resource.getrusage around each statement and step, a shared 2-core AMD EPYC):
- the C engine's edges read from the plays straight into its arrays (sql/similarity/edges.sql), without the
  temporary table sim_edges, which only DuckDB's self-join reads now (sql/similarity/edges_table.sql); the
  catalogue's edges picked out of them by index in numpy instead of a second join, in pieces of 1M edges by
  np.flatnonzero and take() (a boolean index of the 12.3M edges took 0.115 s warm; all at once, the ~150 MiB of
  temporaries took 0.31-0.33 s in three of four fresh processes, in pieces 0.085-0.098 s in all four);
- artist_pair_counts names its columns' compression (migration 034: RLE, RLE, bit-packing, bit-packing, what
  DuckDB picks anyway, without its trial of every method per segment): inserting the 19.7M pairs 1.30-1.34 ->
  0.99-1.01 s of CPU in isolation (three alternating runs), the same file size;
- tried and left: the edges fetched without the join and mapped to indexes in numpy (0.19-0.20 s against
  0.21 s: noise); the snapshot's artist and catalogue-pair tables with declared compression (0.31-0.38 ->
  0.31-0.33 s, 0.11-0.14 -> 0.10-0.13 s: noise); the listeners grouped before joining the artists (0.15-0.21
  against 0.22-0.34 s, but the rows of sim_listeners, and so of the snapshot's artist_listeners, would come in
  a join's order rather than the perfect hash table's).
Stop 51 (full scale, the gate alone on a built warehouse, GX imported first, queries warm; CPU by getrusage):
- the invariants' SQL (0.88 -> 0.71 s of CPU, medians of eight alternating runs, identical facts): the pairs joined
  with the eligible artists only, so a pair of any other artist drops out and is counted ineligible by the
  difference in rows (no per-pair threshold test; it also counts a pair whose artist's listeners are NULL, which
  least() let through), co-listeners above listeners as two integer comparisons; where its CPU went before
  (DuckDB's profiler): the pairs-with-listeners pass 0.4-0.45 s (0.25 s of it the three per-pair expressions,
  each ~0.05-0.15 s over 19.7M rows, the two probes and the count 0.15 s), the catalogue cross-check 0.25 s, the
  streaming order pass 0.09 s on one thread;
- the row-level sample checks the five metrics only (artist_a < artist_b and the thresholds are facts over every
  pair already): GX's validation of the 100,000 rows 0.10 -> 0.055 s; each part's GX suite built while the
  parts' SQL runs (0.015-0.07 s off the critical path);
- tried and left: the listeners as DOUBLE or INTEGER columns of the join table (within noise), the thresholds as
  maxima checked first (no cheaper than the counts), per-artist maxima instead of the per-pair join (a GROUP BY
  over the pairs costs what the join does), a packed BIGINT key in the catalogue check (-2%, noise), the
  catalogue's pairs picked by a semi-join on the pair or read without the artist filter (+40-60%), DuckDB's
  perfect hash join threshold (never chosen for a CTE's keys), the order pass as a part of its own beside the rest
  (-10% under load: not worth a third part), the sample's semi-join as a join (the same); the whole sample part
  left out would save ~0.1 s of the gate's wall time, so it stays.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path

from benchmarks._util import SIMILAR_LATENCY, env_float, env_int, measure, row, synthetic_dump, warm
from benchmarks.bench_lastfm import FULL, QUICK

K = 100
#: Each side timed this many times (``MUSIM_BENCH_SIMILARITY_REPEATS``; 1 at --quick), in fresh processes, musim's
#: from the same ingested warehouse each time: the medians are reported, every run in the notes (single runs on
#: this shared 2-core machine drift by 20% or more, and the gate's ratio sat on its line by that much).
REPEATS = 3


def _spec(quick: bool) -> dict:
    if quick:
        return QUICK
    fraction = env_float("MUSIM_BENCH_SIMILARITY_FRACTION", 1.0)
    return FULL | {"users": max(100, round(FULL["users"] * fraction)),
                   "artists": max(100, round(FULL["artists"] * fraction))}


def _repeats(quick: bool) -> int:
    return 1 if quick else env_int("MUSIM_BENCH_SIMILARITY_REPEATS", REPEATS)


def check_env(quick: bool) -> None:
    """Stop with one line on a bad ``MUSIM_BENCH_SIMILARITY_FRACTION`` or ``..._REPEATS`` (before any benchmark
    runs)."""
    _spec(quick)
    _repeats(quick)


def run(*, quick: bool, workdir: Path) -> list[dict]:
    spec = _spec(quick)
    repeats = _repeats(quick)
    min_listeners = 10 if quick else 50
    plays = synthetic_dump(workdir, spec)
    home, ingested = workdir / "home", workdir / "home-ingested"
    for folder in (home, ingested):
        shutil.rmtree(folder, ignore_errors=True)
    env = {"MUSIM_HOME": str(home)}
    warm(plays)
    measure(f"""
        from musim.ingest.lastfm import ingest_lastfm
        ingest_lastfm({str(plays)!r})
    """, env=env)
    if repeats > 1:  # each build starts from this warehouse, not from the build before it (a rebuild clears one)
        shutil.copytree(home, ingested)
    edges = workdir / "edges.parquet"
    measure(f"""
        from musim import warehouse
        con = warehouse.connect()
        con.execute('''COPY (
            WITH l AS (SELECT p.artist_id FROM lastfm_plays p JOIN artist a USING (artist_id)
                       WHERE p.plays > 0 AND NOT a.is_placeholder GROUP BY 1 HAVING count(*) >= {min_listeners})
            SELECT p.user_id, p.artist_id FROM lastfm_plays p JOIN l USING (artist_id) WHERE p.plays > 0)
            TO '{edges}' (FORMAT parquet)''')
    """, env=env)

    implicit = [measure(f"""
        import duckdb, numpy as np, scipy.sparse as sp
        from implicit.nearest_neighbours import CosineRecommender
        e = duckdb.sql("SELECT user_id, artist_id FROM '{edges}'").fetchnumpy()
        users, rows = np.unique(e['user_id'], return_inverse=True)
        items, cols = np.unique(e['artist_id'], return_inverse=True)
        m = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(users.size, items.size))
        model = CosineRecommender(K={K})
        T0 = time.perf_counter()
        model.fit(m, show_progress=False)
        RESULT['_wall'] = time.perf_counter() - T0
        RESULT.update(users=int(users.size), artists=int(items.size), nnz=int(model.similarity.nnz))
    """) for _ in range(repeats)]
    edges.unlink(missing_ok=True)
    imp = implicit[0][2]

    runs = []
    for i in range(repeats):
        if i:
            shutil.rmtree(home)
            shutil.copytree(ingested, home)
        wall, rss, res = measure(f"""
            from musim import serving, warehouse
            from musim.quality import gate, preload
            from musim.similarity.build import SimilarityParams, build_similarity
            params = SimilarityParams(min_listeners={min_listeners})
            T0 = time.perf_counter()
            preload()  # as the CLI: Great Expectations' import overlaps the build
            with warehouse.writer() as con:  # as `musim similarity build` runs them (musim/cli/lastfm.py)
                r = build_similarity(con, None, params, force=True)  # a build, also when timed again
                T1 = time.perf_counter()
                gate(["similarity"], dump_id=r.dump_id, con=con)
                T2 = time.perf_counter()
                serving.publish(con)
            T3 = time.perf_counter()
            RESULT.update(_wall=T3 - T0, build=T1 - T0, gate=T2 - T1, publish=T3 - T2, artists=r.artists,
                          pairs=r.pairs, users=r.users, seconds=r.seconds)
        """, env=env)
        runs.append(res | {"wall": wall, "rss": rss, "gate_ratio": res["gate"] / res["build"]})
    shutil.rmtree(ingested, ignore_errors=True)

    _, _, lat = measure(SIMILAR_LATENCY, env=env)
    size = sum(p.stat().st_size for p in (home / "serving" / "snapshots").glob("snapshot-*.duckdb"))

    implicit_wall = statistics.median(w for w, _, _ in implicit)
    implicit_rss = max(r for _, r, _ in implicit)
    res = {k: statistics.median(r[k] for r in runs) for k in ("wall", "build", "gate", "publish", "gate_ratio")}
    musim_rss = max(r["rss"] for r in runs)
    ratio = res["wall"] / implicit_wall
    gate_ratio = res["gate_ratio"]  # each run's gate over the build before it, under the same load
    first = runs[0]
    shape = (f"{first['users']:,} users x {first['artists']:,} artists with >= {min_listeners} listeners "
             f"(implicit: {imp['users']:,} x {imp['artists']:,}); {first['pairs']:,} co-listened pairs")
    times = "median of " + (f"{repeats} runs" if repeats > 1 else "1 run")
    each = "; ".join(f"{r['wall']:.2f} s (build {r['build']:.2f}, gate {r['gate']:.2f}, publish {r['publish']:.2f})"
                     for r in runs)
    return [
        row("similarity", "similarity build + gate + publish wall", res["wall"], "s",
            baseline="implicit CosineRecommender(K=100).fit", baseline_value=implicit_wall, ratio=ratio,
            target="<= 2.0x", met=ratio <= 2.0,
            notes=f"{shape}; {times}: musim {each}; implicit "
                  + ", ".join(f"{w:.2f}" for w, _, _ in implicit) + " s"),
        row("similarity", "similarity build + gate + publish peak RSS", musim_rss, "MiB",
            baseline="implicit CosineRecommender(K=100).fit", baseline_value=implicit_rss,
            target="<= 4096 MiB", met=musim_rss <= 4096, notes="the largest of the runs"),
        row("similarity", "step: build (pairs, listeners, catalogue)", res["build"], "s", notes=times),
        row("similarity", "step: quality gate", res["gate"], "s", baseline="the build", baseline_value=res["build"],
            ratio=gate_ratio, target="<= 0.2x", met=gate_ratio <= 0.2,
            notes=f"{times}; the ratio is the median of each run's gate / build: "
                  + ", ".join(f"{r['gate_ratio']:.3f}" for r in runs)),
        row("similarity", "step: publish", res["publish"], "s", notes=f"{times}; snapshot files {size / 2**20:,.0f} MiB"),
        row("similarity", "similar top-10 p50", lat["p50"], "ms", target="<= 5 ms", met=lat["p50"] <= 5,
            notes=f"{lat['n']} random artists, open read-only snapshot connection"),
        row("similarity", "similar top-10 p99", lat["p99"], "ms", target="<= 20 ms", met=lat["p99"] <= 20),
    ]


if __name__ == "__main__":
    import sys

    from benchmarks._util import run_alone

    sys.exit(run_alone(__spec__.name, workdir="benchmarks/data/similarity"))
