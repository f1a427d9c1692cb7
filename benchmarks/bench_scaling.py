"""Where one machine stops: the Last.FM pipeline at 1/4, 1/2, 1, 2 and 4 x the 360K dump, as a curve.

The synthetic generator of ``bench_lastfm`` (``musim.synth.lastfm``) writes each size with users and
artists scaled together and the per-user profile held (up to 50 artists a user, log-normal around the cap;
the same plays distribution, quirk rate and taste communities). For each size, in a fresh ``MUSIM_HOME``,
every step runs as its own process of the real command line, as an operator would run them:

1. ``musim ingest lastfm PLAYS --profiles PROFILES``
2. ``musim similarity build --no-publish`` (the build alone)
3. ``musim quality check --dataset similarity`` (the gate the default ``similarity build`` runs)
4. ``musim publish``

(2-4 are what the default ``musim similarity build`` does in one process.) Each step's wall time (interpreter
start-up included: it is what the operator waits for), CPU time and peak RSS (``wait4`` of the step in a
small launcher process, so the benchmark's own memory cannot leak into the figure) and the on-disk size of
``MUSIM_HOME`` after it are recorded. A step that runs out of memory or past the time budget is recorded
with the wall time it ran (that is the answer at that size); larger sizes are then not run.

Per step the growth exponent of wall time and of peak RSS against the dump's lines is fitted (log-log least
squares, :mod:`benchmarks.scaling_fit`) and extrapolated to the dump size where the RAM (default 24 GiB) or
the time budget (default a nightly window of 2 h for all four steps on this machine's cores) is no longer
enough. The curve goes to ``benchmarks/results/scaling[-quick].json`` and ``.png``.

Environment: ``MUSIM_BENCH_SCALES`` (e.g. ``0.25,0.5,1``; default ``0.25,0.5,1,2,4``, quick
``0.01,0.02``), ``MUSIM_BENCH_RAM_GIB`` (24), ``MUSIM_BENCH_BUDGET_S`` (7200).
``MUSIM_DUCKDB_MEMORY``, ``MUSIM_DUCKDB_THREADS``, ``MUSIM_INGEST_ENGINE`` and ``MUSIM_SIMILARITY_ENGINE`` pass
through to the steps.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._util import REPO, env_float, measure, row, warm
from benchmarks.scaling_fit import PowerFit, crossing, fit_power, max_of, sum_of

BASE = {"users": 360_000, "artists": 290_000, "quirks": 0.0005, "seed": 7}  # bench_lastfm's full dump
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
QUICK_SCALES = (0.01, 0.02)
STEPS = ("ingest", "build", "quality", "publish")
PASS_THROUGH = ("MUSIM_DUCKDB_MEMORY", "MUSIM_DUCKDB_THREADS", "MUSIM_INGEST_ENGINE", "MUSIM_SIMILARITY_ENGINE")
CORES = os.cpu_count() or 1
RESULTS = Path(__file__).resolve().parent / "results"
OOM = re.compile(r"out of memory|outofmemory|memoryerror|cannot allocate memory|failed to allocate", re.I)

# Runs one command, waits for it with wait4 and writes its wall, CPU and peak RSS (ru_maxrss, KiB) as JSON.
# The launcher is a fresh, small interpreter: a child's ru_maxrss starts from its parent's high-water mark
# when it is spawned, so measuring from the benchmark process itself could report the benchmark's memory.
LAUNCHER = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(p.pid, 0)
p.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as fh:
    json.dump({"wall": time.perf_counter() - t0, "rc": p.returncode, "cpu": ru.ru_utime + ru.ru_stime,
               "rss_mib": ru.ru_maxrss / 1024}, fh)
"""


def scales(quick: bool) -> list[float]:
    raw = os.environ.get("MUSIM_BENCH_SCALES", "").strip()
    if not raw:
        return list(QUICK_SCALES if quick else SCALES)
    try:
        out = sorted({float(x) for x in raw.split(",") if x.strip()})
    except ValueError:
        raise SystemExit(f"MUSIM_BENCH_SCALES={raw!r}: give sizes as multiples of the 360K dump, "
                         "e.g. 0.25,0.5,1") from None
    if not out or out[0] <= 0:
        raise SystemExit(f"MUSIM_BENCH_SCALES={raw!r}: sizes must be > 0")
    return out


def spec_at(scale: float) -> dict:
    return BASE | {"users": max(100, round(BASE["users"] * scale)), "artists": max(100, round(BASE["artists"] * scale))}


def step_args(step: str, dump: dict) -> list[str]:
    return {"ingest": ["ingest", "lastfm", dump["plays"], "--profiles", dump["profiles"], "--json"],
            "build": ["similarity", "build", "--no-publish", "--json"],
            "quality": ["quality", "check", "--dataset", "similarity", "--json"],
            "publish": ["publish"]}[step]


def disk_mib(path: Path) -> float:
    """Bytes allocated on disk by the file ``path`` or the files under it (sparse-aware), in MiB."""
    if path.is_file():
        return path.stat().st_blocks * 512 / 2**20
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total / 2**20


def run_step(command: list[str], *, env: dict[str, str], timeout: float, logs: Path) -> dict:
    """One step (``command``) in its own process group: wall, CPU, peak RSS, status (ok, oom, timeout,
    failed). Out of memory is a kill by SIGKILL (the kernel's OOM killer) or an allocation error in stderr."""
    logs.mkdir(parents=True, exist_ok=True)
    stats = logs / "stats.json"
    stats.unlink(missing_ok=True)
    cmd = [sys.executable, "-c", LAUNCHER, str(stats), *command]
    started = time.perf_counter()
    with open(logs / "stdout", "w") as out, open(logs / "stderr", "w") as err:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=err, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            timed_out = True
    outside = time.perf_counter() - started
    res = json.loads(stats.read_text()) if stats.exists() else {"wall": outside, "rc": proc.returncode,
                                                                 "cpu": None, "rss_mib": None}
    stderr = (logs / "stderr").read_text(errors="replace")
    stdout = (logs / "stdout").read_text(errors="replace")
    if timed_out:
        status = "timeout"
    elif res["rc"] == 0:
        status = "ok"
    elif res["rc"] == -signal.SIGKILL or OOM.search(stderr):  # the kernel's OOM killer, or an allocator's error
        status = "oom"
    else:
        status = "failed"
    last = next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()), "")
    return {"status": status, "wall_s": res["wall"], "cpu_s": res["cpu"], "peak_rss_mib": res["rss_mib"],
            "rc": res["rc"], "error": "" if status == "ok" else last[:300], "output": _json_tail(stdout)}


def _json_tail(stdout: str) -> dict:
    start = stdout.find("{")
    try:
        return json.loads(stdout[start:]) if start >= 0 else {}
    except json.JSONDecodeError:
        return {}


def measure_size(scale: float, dump: dict, *, workdir: Path, timeout: float) -> dict:
    """The four steps at one size in a fresh MUSIM_HOME; stops at the first step that does not succeed."""
    home = workdir / f"home-{scale:g}"
    shutil.rmtree(home, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSIM_") or k in PASS_THROUGH}
    env |= {"MUSIM_HOME": str(home), "PYTHONPATH": str(REPO)}
    out = {"scale": scale, "lines": dump["lines"], "users": dump["users"], "artists": dump["artists"],
           "load_before": os.getloadavg()[0], "steps": {}}
    for step in STEPS:
        if step == "ingest":
            warm(Path(dump["plays"]))
        print(f"   {scale:g}x {step} ...", file=sys.stderr, flush=True)
        res = run_step([sys.executable, "-m", "musim.cli", *step_args(step, dump)], env=env, timeout=timeout,
                       logs=workdir / "logs" / f"{scale:g}-{step}")
        res["warehouse_mib"] = disk_mib(home / "warehouse.duckdb")
        res["home_mib"] = disk_mib(home)
        out["steps"][step] = res
        if res["status"] != "ok":
            break
    out["load_after"] = os.getloadavg()[0]
    shutil.rmtree(home, ignore_errors=True)
    return out


def make_dump(scale: float, workdir: Path) -> dict:
    """Generate (once; kept in ``workdir``) the dump at ``scale`` in a child process; its paths and counts."""
    spec = spec_at(scale)
    _, _, res = measure(f"""
        from pathlib import Path
        from benchmarks._util import synthetic_dump
        plays = synthetic_dump(Path({str(workdir)!r}), {spec!r})
        summary = json.loads((plays.parent / 'synth-truth.json').read_text())['summary']
        RESULT.update(plays=str(plays), profiles=summary['profiles_path'], lines=summary['lines'],
                      users=summary['users'], artists=summary['artists'])
    """, timeout=6 * 3600)
    return res


def fits_of(sizes: list[dict], key: str) -> dict[str, PowerFit]:
    """Per step, the power law of ``key`` against lines over the sizes where the step succeeded."""
    out = {}
    for step in STEPS:
        pts = [(s["lines"], s["steps"][step][key]) for s in sizes
               if s["steps"].get(step, {}).get("status") == "ok" and s["steps"][step][key]]
        if len({x for x, _ in pts}) >= 2:
            out[step] = fit_power([x for x, _ in pts], [y for _, y in pts])
    return out


def first_failure(sizes: list[dict], statuses: tuple[str, ...]) -> tuple[int, str] | None:
    """(lines, step) of the smallest size where a step ended with one of ``statuses``."""
    for s in sizes:
        for step, res in s["steps"].items():
            if res["status"] in statuses:
                return s["lines"], step
    return None


def limits(sizes: list[dict], ram_mib: float, budget_s: float, cores: int) -> dict:
    """Where the RAM and the time budget stop being enough: extrapolated, or measured where a step failed.

    Time is judged twice: on the wall times as measured (on a shared machine: pessimistic), and on the CPU
    time against ``budget_s * cores`` (every core busy all the time: optimistic).
    """
    wall, rss, cpu = fits_of(sizes, "wall_s"), fits_of(sizes, "peak_rss_mib"), fits_of(sizes, "cpu_s")
    out: dict = {"wall_fits": wall, "rss_fits": rss, "cpu_fits": cpu}
    out["time_lines"] = crossing(sum_of(list(wall.values())), budget_s) if len(wall) == len(STEPS) else None
    out["cpu_lines"] = crossing(sum_of(list(cpu.values())), budget_s * cores) if len(cpu) == len(STEPS) else None
    out["ram_lines"] = crossing(max_of(list(rss.values())), ram_mib) if len(rss) == len(STEPS) else None
    out["ram_step"] = (min(rss, key=lambda k: crossing(rss[k].at, ram_mib)) if out["ram_lines"] is not None
                       else None)
    for kind, statuses in (("ram", ("oom",)), ("time", ("timeout",)), ("cpu", ("timeout",))):
        failed = first_failure(sizes, statuses)
        out[f"{kind}_measured"] = failed
        if failed and (out[f"{kind}_lines"] is None or failed[0] < out[f"{kind}_lines"]):
            out[f"{kind}_lines"] = float(failed[0])
    return out


def plot(sizes: list[dict], lim: dict, ram_mib: float, budget_s: float, path: Path) -> None:
    """Wall time, CPU time and peak RSS against lines, per step: points, fitted lines, the limits."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 4.8))
    measured = [s["lines"] for s in sizes]
    stops = [lim[k] for k in ("time_lines", "cpu_lines", "ram_lines")]
    far = max([x for x in stops if x and math.isfinite(x) and x < 100 * max(measured)] + measured) * 1.5
    xs = [min(measured) * (far / min(measured)) ** (i / 60) for i in range(61)]
    panels = (("wall_s", "wall_fits", budget_s, "wall time (s)", "time_lines"),
              ("cpu_s", "cpu_fits", budget_s * CORES, f"CPU time (s; limit = window x {CORES} cores)", "cpu_lines"),
              ("peak_rss_mib", "rss_fits", ram_mib, "peak RSS (MiB)", "ram_lines"))
    for ax, (key, fits_key, limit, label, stop_key) in zip(fig.subplots(1, 3), panels, strict=True):
        fits = lim[fits_key]
        for step in STEPS:
            pts = [(s["lines"], s["steps"][step][key]) for s in sizes
                   if step in s["steps"] and s["steps"][step][key]]
            if not pts:
                continue
            line = ax.plot([x for x, _ in pts], [y for _, y in pts], "o", label=step)[0]
            if step in fits:
                ax.plot(xs, [fits[step].at(x) for x in xs], "-", color=line.get_color(), alpha=0.5,
                        label=f"  fit: lines^{fits[step].exponent:.2f}")
        ax.axhline(limit, color="red", ls="--", label=f"limit {limit:,.0f}")
        if key != "peak_rss_mib" and len(fits) == len(STEPS):
            ax.plot(xs, [sum_of(list(fits.values()))(x) for x in xs], "k-", label="all steps (sum of fits)")
        stop = lim[stop_key]
        if stop and math.isfinite(stop) and stop <= far:
            ax.axvline(stop, color="red", ls=":")
        ax.set(xscale="log", yscale="log", xlabel="lines in the dump", ylabel=label)
        ax.legend(fontsize=7)
    fig.suptitle(f"musim on one machine ({CORES} CPUs), {dt.date.today()}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _x360k(lines: float | None, per_unit: float) -> str:
    if lines is None:
        return "not enough sizes measured to fit"
    if not math.isfinite(lines):
        return "never within 10^15 lines (the fitted curve does not reach the limit)"
    return f"{lines / per_unit:.1f}x the 360K dump (~{lines / 1e6:,.0f}M lines)"


def save(sizes: list[dict], lim: dict, *, quick: bool, ram_gib: float, budget_s: float, final: bool) -> None:
    """The curve so far as JSON (after every size: a run stopped half-way keeps what it measured) and a PNG."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "scaling-quick" if quick else "scaling"
    doc = {"when": dt.datetime.now(dt.UTC).isoformat(), "quick": quick, "complete": final,
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                       "ram_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30},
           "ram_limit_gib": ram_gib, "time_budget_s": budget_s,
           "lines_per_1x": sum(s["lines"] / s["scale"] for s in sizes) / len(sizes), "sizes": sizes,
           "fits": {k: {s: vars(f) for s, f in lim[k].items()} for k in ("wall_fits", "rss_fits", "cpu_fits")},
           "limits": {k: _finite(lim[k]) if k.endswith("_lines") else lim[k]
                      for k in ("ram_lines", "ram_step", "ram_measured", "time_lines", "time_measured", "cpu_lines")}}
    (RESULTS / f"{stem}.json").write_text(json.dumps(doc, indent=2, default=str))
    plot(sizes, lim, ram_gib * 1024, budget_s, RESULTS / f"{stem}.png")


def check_env(quick: bool) -> None:
    """Stop with one line on a bad ``MUSIM_BENCH_*`` value (``benchmarks.run`` calls it before any benchmark)."""
    env_float("MUSIM_BENCH_RAM_GIB", 24.0)
    env_float("MUSIM_BENCH_BUDGET_S", 7200.0)
    scales(quick)


def run(*, quick: bool, workdir: Path) -> list[dict]:
    ram_gib = env_float("MUSIM_BENCH_RAM_GIB", 24.0)
    budget_s = env_float("MUSIM_BENCH_BUDGET_S", 7200.0)
    sizes: list[dict] = []
    chosen = scales(quick)
    for scale in chosen:
        print(f"== scaling: {scale:g}x the 360K dump", file=sys.stderr, flush=True)
        try:
            dump = make_dump(scale, workdir)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:  # e.g. the generator itself out of memory
            print(f"   could not generate the {scale:g}x dump, the curve stops before it: {exc}", file=sys.stderr)
            break
        sizes.append(measure_size(scale, dump, workdir=workdir, timeout=budget_s))
        stopped = any(r["status"] in ("oom", "timeout") for r in sizes[-1]["steps"].values())
        save(sizes, limits(sizes, ram_gib * 1024, budget_s, CORES), quick=quick, ram_gib=ram_gib, budget_s=budget_s,
             final=stopped or scale == chosen[-1])
        if stopped:
            break  # larger sizes fail too: the curve stops here
    if not sizes:
        return [row("scaling", "ERROR", None, "", notes="no size could be generated")]
    return rows_of(sizes, limits(sizes, ram_gib * 1024, budget_s, CORES), ram_gib=ram_gib, budget_s=budget_s)


def rows_of(sizes: list[dict], lim: dict, *, ram_gib: float, budget_s: float) -> list[dict]:
    per_unit = sum(s["lines"] / s["scale"] for s in sizes) / len(sizes)
    rows: list[dict] = []
    for s in sizes:
        tag = f"{s['scale']:g}x ({s['lines'] / 1e6:.2f}M lines)"
        for step, r in s["steps"].items():
            extra = "; ".join(f"{k}={v:,}" for k, v in r["output"].items()
                              if k in ("loaded", "rejected", "artists", "pairs", "neighbors") and isinstance(v, int))
            cpu = f"{r['cpu_s']:.1f}" if r["cpu_s"] is not None else "?"
            rss = f"{r['peak_rss_mib']:,.0f}" if r["peak_rss_mib"] is not None else "?"
            rows.append(row("scaling", f"{step} wall @ {tag}", r["wall_s"], "s",
                            notes=f"{r['status']}; CPU {cpu} s; peak RSS {rss} MiB; MUSIM_HOME {r['home_mib']:,.0f} MiB"
                                  + (f"; {extra}" if extra else "") + (f"; {r['error']}" if r["error"] else "")))
        done = [r["peak_rss_mib"] for r in s["steps"].values() if r["peak_rss_mib"] is not None]
        rows.append(row("scaling", f"peak RSS @ {tag}", max(done, default=None), "MiB",
                        notes=f"largest of the steps; load average {s['load_before']:.1f} -> {s['load_after']:.1f}"))
        rows.append(row("scaling", f"on-disk MUSIM_HOME @ {tag}", max(r["home_mib"] for r in s["steps"].values()),
                        "MiB", notes="after the last step: warehouse, serving snapshot, objects, Data Docs"))
    for kind, fits in (("wall", lim["wall_fits"]), ("CPU time", lim["cpu_fits"]), ("peak RSS", lim["rss_fits"])):
        for step, f in fits.items():
            rows.append(row("scaling", f"growth exponent, {step} {kind}", f.exponent, "",
                            notes=f"{kind} ~ lines^{f.exponent:.2f} (R^2 {f.r2:.3f}, {f.points} sizes)"))
    ram_how = (f"measured: {lim['ram_measured'][1]} ran out of memory" if lim["ram_measured"]
               else f"extrapolated; first to reach it: {lim['ram_step']}")
    rows.append(row("scaling", f"dump size where {ram_gib:g} GiB RAM is no longer enough", _finite(lim["ram_lines"]),
                    "lines", notes=f"{_x360k(lim['ram_lines'], per_unit)}; {ram_how}"))
    time_how = ("measured: a step ran past the budget" if lim["time_measured"]
                else "extrapolated from the sum of the per-step fits")
    rows.append(row("scaling", f"dump size where a {budget_s / 3600:g} h window on {os.cpu_count()} cores is no "
                               "longer enough", _finite(lim["time_lines"]), "lines",
                    notes=f"{_x360k(lim['time_lines'], per_unit)}; ingest + build + quality + publish, wall times as "
                          f"measured; {time_how}"))
    rows.append(row("scaling", f"dump size where {budget_s / 3600:g} h x {CORES} cores of CPU time is no longer enough",
                    _finite(lim["cpu_lines"]), "lines",
                    notes=f"{_x360k(lim['cpu_lines'], per_unit)}; the same steps' CPU time against {CORES} cores busy "
                          "the whole window (the idle-machine bound; the wall row above is the loaded-machine one)"))
    return rows


def refit(path: Path) -> list[dict]:
    """The fits, limits, rows and plot again from a saved curve (no measuring): ``--refit scaling.json``."""
    doc = json.loads(path.read_text())
    sizes, ram_gib, budget_s = doc["sizes"], doc["ram_limit_gib"], doc["time_budget_s"]
    lim = limits(sizes, ram_gib * 1024, budget_s, CORES)
    save(sizes, lim, quick=doc["quick"], ram_gib=ram_gib, budget_s=budget_s, final=doc.get("complete", True))
    return rows_of(sizes, lim, ram_gib=ram_gib, budget_s=budget_s)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.bench_scaling [--quick] [--workdir DIR] | --refit SCALING_JSON``."""
    from musim.terminal import Parser

    parser = Parser(prog="python -m benchmarks.bench_scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benchmark in minutes")
    parser.add_argument("--workdir", default="benchmarks/data/scaling", help="where the dumps are generated")
    parser.add_argument("--refit", metavar="SCALING_JSON", type=Path,
                        help="fit, plot and print the rows again from a saved curve, measuring nothing")
    args = parser.parse_args(argv)
    if args.refit is not None:
        if not args.refit.is_file():
            parser.error(f"--refit {args.refit}: no such file (benchmarks/results/scaling.json is written by a run)")
        try:
            rows = refit(args.refit)
        except (ValueError, KeyError, TypeError) as exc:
            parser.error(f"--refit {args.refit}: not a saved scaling curve ({type(exc).__name__}: {exc})")
    else:
        try:
            check_env(args.quick)
        except SystemExit as exc:
            parser.error(str(exc))
        rows = run(quick=args.quick, workdir=Path(args.workdir))
    print(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
