"""Data quality: validating a dump's plays (the ``lastfm_plays`` suite) against ingesting the same dump.

Full scale: ``write_lastfm_dump(users=360000, artists=290000, quirks=0.0005)`` (~17M lines); quick: a small
dump. In one run, each in a fresh process (wall time of the step itself), five interleaved pairs at full
scale, medians reported:

1. **ingest**: :func:`musim.ingest.lastfm.ingest_lastfm` of the plays file (the baseline);
2. **plays suite**: :func:`musim.quality.check` of ``lastfm_plays`` for that dump, as the DAG gate runs it:
   SQL invariants over *every* row (bad user ids, negative plays, missing artist keys, duplicate
   user-artist rows, user ids and keys unique, counts against the dump record and ``ingest_rejects``,
   reject share), GX row by row on a seeded reservoir sample of 100,000 rows (every row below 250,000),
   results recorded, Data Docs built and published. Measured after Great Expectations' import as a check
   imports it (:func:`musim.quality.gx.import_gx`; a per-process constant, reported on its own row);
   target: at most 20% of the ingest.

Also reported: the parts (SQL invariants, GX on the sample, Data Docs) and what GX row by row over *all*
rows would cost, extrapolated from its measured time per row on the sample — why only a sample goes
through GX.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from benchmarks._util import measure, median_run, row, synthetic_dump, warm
from benchmarks.bench_lastfm import FULL, REPEATS  # the same dump and repeats as the data-spine benchmark

QUICK = {"users": 4_000, "artists": 3_000, "quirks": 0.0005, "seed": 7}


def run(*, quick: bool, workdir: Path) -> list[dict]:
    spec = QUICK if quick else FULL
    plays = synthetic_dump(workdir, spec)
    home = workdir / "home"
    shutil.rmtree(home, ignore_errors=True)
    env = {"MUSIM_HOME": str(home)}

    ingest_code = f"""
        from musim.ingest.lastfm import ingest_lastfm
        T0 = time.perf_counter()
        r = ingest_lastfm({str(plays)!r})
        RESULT['_wall'] = time.perf_counter() - T0
        RESULT.update(dump_id=r.dump_id, lines=r.lines, loaded=r.loaded, rejected=r.rejected)
    """
    check_code = """
        T0 = time.perf_counter()
        from musim.quality.gx import import_gx
        import_gx()  # as a check imports it
        RESULT['import_s'] = time.perf_counter() - T0
        from musim.quality import check
        T0 = time.perf_counter()
        run = check(['lastfm_plays'], dump_id=DUMP_ID)
        RESULT['_wall'] = time.perf_counter() - T0
        r = run.results[0]
        RESULT.update(success=run.success, status=r.status, parts=r.parts, rows_total=r.rows_total,
                      rows_validated=r.rows_validated, docs_s=run.docs_seconds, docs_url=run.docs_url,
                      failures=[f.line() for f in r.failures])
    """
    # Interleaved pairs, medians (as in bench_lastfm): this machine's speed drifts by +-20% over minutes.
    ingests, checks = [], []
    for _ in range(1 if quick else REPEATS):
        shutil.rmtree(home, ignore_errors=True)
        warm(plays)
        ingests.append(measure(ingest_code, env=env))
        dump_id = ingests[-1][2]["dump_id"]
        checks.append(measure(f"DUMP_ID = {dump_id!r}\n" + textwrap.dedent(check_code), env=env))
        if not checks[-1][2]["success"]:
            raise RuntimeError(f"the plays suite failed on the benchmark dump: {checks[-1][2]['failures']}")
    ingest_wall, ingest_rss, ing = median_run(ingests)
    check_wall, check_rss, res = median_run(checks)
    parts = {p["part"]: p for p in res["parts"]}
    inv, rows_part = parts["invariants"], parts["rows"]
    total, sampled = res["rows_total"], res["rows_validated"]
    gx_per_row = rows_part["seconds"] / max(sampled, 1)
    ratio = check_wall / ingest_wall
    with_import = check_wall + res["import_s"]
    scale = f"{ing['lines']:,} lines, {total:,} plays rows"
    return [
        row("quality", "plays suite wall", round(check_wall, 2), "s", baseline="ingest_lastfm wall",
            baseline_value=round(ingest_wall, 2), ratio=round(ratio, 3), target=None if quick else "<= 0.2",
            met=None if quick else ratio <= 0.2,
            notes=("quick: fixed costs (GX per expectation, Data Docs) dominate a small dump; the target is for "
                   "the full scale. " if quick else "") + f"{scale}; all rows in SQL, GX on {sampled:,} rows ({rows_part['coverage']}); "
                  f"peak RSS {check_rss:,.0f} MiB (ingest {ingest_rss:,.0f} MiB); median of {len(checks)} interleaved "
                  f"pairs (suite {', '.join(f'{w:.2f}' for w, _, _ in checks)} s; "
                  f"ingest {', '.join(f'{w:.1f}' for w, _, _ in ingests)} s)"),
        row("quality", "plays suite wall incl. GX import", round(with_import, 2), "s",
            baseline="ingest_lastfm wall", baseline_value=round(ingest_wall, 2),
            ratio=round(with_import / ingest_wall, 3),
            notes=f"Great Expectations' import {res['import_s']:.1f} s, once per process"),
        row("quality", "SQL invariants (every row)", round(inv["seconds"], 2), "s",
            notes="13 facts: counts vs dump record and rejects, reject share, bad plays/lines, duplicate "
                  "user-artist rows, user id format, unique user ids and keys, artist keys"),
        row("quality", "GX row-level expectations (sample)", round(rows_part["seconds"], 2), "s",
            notes=f"{rows_part['expectations']} expectations on {sampled:,} rows in {rows_part['batches']} batches"),
        row("quality", "Data Docs build + publish", round(res["docs_s"], 2), "s", notes=res["docs_url"] or ""),
        row("quality", "GX on every row (extrapolated)", round(gx_per_row * total, 1), "s",
            baseline="ingest_lastfm wall", baseline_value=round(ingest_wall, 2),
            ratio=round(gx_per_row * total / ingest_wall, 3),
            notes=f"{gx_per_row * 1e6:.1f} us per row measured on the sample x {total:,} rows: not run"),
    ]
