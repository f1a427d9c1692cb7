"""The 1K listening-events ingest at full scale (992 users, ~19M events with quirks).

musim's ingest of a synthetic Last.FM 1K dump (``musim.synth.lastfm.write_lastfm_1k_dump``: sessions over
years, ISO timestamps, MBIDs sometimes empty, Unicode names, every 1K quirk at a small rate) — pre-scan,
DuckDB staging with every line check (ISO-8601 timestamp, 1K user id, artist), rejects with their raw line,
events summed to user-artist plays in one transaction — vs a bare DuckDB ``read_csv`` -> ``CREATE TABLE`` of
the same file (six VARCHAR columns) into a DuckDB file. The ingest must load and reject exactly the lines the
generator says it should.

Every measured step runs in a fresh process (wall time of the step itself, peak RSS of the process), with
the file read into the page cache just before it; the ingest and the baseline alternate, medians are reported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks._util import measure, median_run, row, warm

FULL = {"users": 992, "events": 19_150_000, "quirks": 0.0005, "seed": 7}
QUICK = {"users": 100, "events": 1_000_000, "quirks": 0.001, "seed": 7}
REPEATS = 5
#: CPU seconds of the step, all threads (beside wall time: on a shared machine, less moved by other load);
#: indented as the steps' code below, which it starts
CPU = """
        def _cpu():
            r = resource.getrusage(resource.RUSAGE_SELF)
            return r.ru_utime + r.ru_stime
"""


def synthetic_1k_dump(workdir: Path, spec: dict) -> tuple[Path, dict]:
    """The events file of a synthetic 1K dump for ``spec`` (write_lastfm_1k_dump kwargs), generated once, and
    its summary (what a correct ingest loads and rejects)."""
    from musim.synth.lastfm import EVENTS_FILE, TRUTH_FILE, write_lastfm_1k_dump

    folder = workdir / f"dump1k-{spec['users']}-{spec['events']}-{spec['quirks']}-{spec['seed']}"
    if not (folder / TRUTH_FILE).exists():
        write_lastfm_1k_dump(folder, **spec)
    return folder / EVENTS_FILE, json.loads((folder / TRUTH_FILE).read_text())["summary"]


def run(*, quick: bool, workdir: Path) -> list[dict]:
    spec = QUICK if quick else FULL
    events, truth = synthetic_1k_dump(workdir, spec)
    home = workdir / "home"
    bare_db = workdir / "bare.duckdb"
    ingest_code = CPU + f"""
        from musim.ingest import lastfm
        staging = []
        def timed(*args, _stage=lastfm.scan_and_stage, **kwargs):  # the pre-scan and DuckDB's read with every check
            t = time.perf_counter()
            try:
                return _stage(*args, **kwargs)
            finally:
                staging.append(time.perf_counter() - t)
        lastfm.scan_and_stage = timed
        CPU0, T0 = _cpu(), time.perf_counter()
        r = lastfm.ingest_lastfm({str(events)!r})
        RESULT['_wall'], RESULT['cpu'] = time.perf_counter() - T0, _cpu() - CPU0
        RESULT.update(format=r.format, lines=r.lines, loaded=r.loaded, rejected=r.rejected, users=r.users,
                      artists=r.artists, plays_rows=r.plays_rows, staging=sum(staging))
    """
    bare_code = CPU + f"""
        import duckdb
        con = duckdb.connect({str(bare_db)!r})
        con.execute("SET enable_progress_bar = false")
        CPU0, T0 = _cpu(), time.perf_counter()
        con.execute('''CREATE OR REPLACE TABLE events AS SELECT * FROM read_csv({str(events)!r}, delim = '\\t',
            quote = '', escape = '', header = false, strict_mode = false, ignore_errors = true,
            columns = {{'u': 'VARCHAR', 't': 'VARCHAR', 'am': 'VARCHAR', 'a': 'VARCHAR', 'tm': 'VARCHAR',
                        'tn': 'VARCHAR'}})''')
        con.execute("CHECKPOINT")
        RESULT['_wall'], RESULT['cpu'] = time.perf_counter() - T0, _cpu() - CPU0
        RESULT['rows'] = con.execute("SELECT count(*) FROM events").fetchone()[0]
    """
    # Interleaved repeats, medians (this machine's speed drifts over minutes; each pair sees the same drift).
    ingests, bares = [], []
    for _ in range(1 if quick else REPEATS):
        shutil.rmtree(home, ignore_errors=True)
        warm(events)
        ingests.append(measure(ingest_code, env={"MUSIM_HOME": str(home)}))
        warm(events)
        bares.append(measure(bare_code))
        bare_db.unlink(missing_ok=True)
    shutil.rmtree(home, ignore_errors=True)
    ingest_wall, ingest_rss, res = median_run(ingests)
    bare_wall, bare_rss, bare_res = median_run(bares)
    expected = (truth["lines"], truth["expected_loaded"], truth["expected_rejected"], truth["users"])
    got = (res["lines"], res["loaded"], res["rejected"], res["users"])
    assert res["format"] == "1k" and got == expected, f"1K ingest: (lines, loaded, rejected, users) {got}, " \
                                                      f"the generator expects {expected}"
    ratio = ingest_wall / bare_wall
    runs = f"ingest {', '.join(f'{w:.1f}' for w, _, _ in ingests)} s; bare {', '.join(f'{w:.1f}' for w, _, _ in bares)} s"
    return [
        row("lastfm_1k", "1K ingest wall", ingest_wall, "s", baseline="duckdb read_csv->CREATE TABLE",
            baseline_value=bare_wall, ratio=ratio,
            notes=f"{res['lines']:,} lines of {res['users']} users = {res['loaded']:,} loaded + {res['rejected']:,} "
                  f"rejected (as generated); {res['plays_rows']:,} user-artist plays of {res['artists']:,} artists; "
                  f"pre-scan + staging with the line checks {res['staging']:.1f} s of it; CPU {res['cpu']:.1f} s "
                  f"against the baseline's {bare_res['cpu']:.1f} s; median of "
                  f"{len(ingests)} interleaved runs each ({runs}); baseline rows {bare_res['rows']:,}"),
        row("lastfm_1k", "1K ingest events/s", res["lines"] / ingest_wall, "lines/s",
            baseline="duckdb read_csv->CREATE TABLE", baseline_value=res["lines"] / bare_wall, ratio=bare_wall / ingest_wall,
            notes="lines of the file per second of wall time (ratio: the ingest's rate over the baseline's)"),
        row("lastfm_1k", "1K ingest peak RSS", ingest_rss, "MiB", baseline="duckdb read_csv->CREATE TABLE",
            baseline_value=bare_rss, ratio=ingest_rss / bare_rss),
    ]


if __name__ == "__main__":
    import sys

    from benchmarks._util import run_alone

    sys.exit(run_alone(__spec__.name, workdir="benchmarks/data/lastfm_1k"))
