"""Helpers shared by the benchmarks: run a measured step in a fresh process, format rows."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from musim.terminal import Parser

REPO = Path(__file__).resolve().parent.parent


def run_alone(module: str, argv: list[str] | None = None, *, workdir: str | None = None) -> int:
    """``python -m benchmarks.bench_X [--quick] [--workdir DIR]``: one benchmark alone, its rows printed as
    JSON (``make bench`` runs them all through ``benchmarks.run``). Its environment is checked first
    (``check_env``); ``workdir`` is the default folder for generated inputs (None: a temporary one)."""
    import importlib
    import tempfile

    bench = importlib.import_module(module)
    parser = Parser(prog=f"python -m {module}", description=(bench.__doc__ or module).splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs: checks the benchmark in seconds")
    parser.add_argument("--workdir", default=workdir, help="where generated inputs are kept "
                        f"(default: {workdir or 'a temporary folder'})")
    args = parser.parse_args(argv)
    if hasattr(bench, "check_env"):
        try:
            bench.check_env(args.quick)
        except SystemExit as exc:
            parser.error(str(exc))
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        rows = bench.run(quick=args.quick, workdir=Path(args.workdir or tmp))
    print(json.dumps(rows, indent=2, default=str))
    return 0


def env_int(name: str, default: int) -> int:
    """The positive integer in ``$name`` (default when unset or blank); a bad value stops the run with one line
    naming the variable (checked by ``benchmarks.run`` before any benchmark starts)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name}={raw!r}: must be a whole number >= 1, e.g. {name}={default}")
    return int(raw)


def env_float(name: str, default: float) -> float:
    """The positive finite number in ``$name`` (default when unset or blank); a bad value stops the run with one
    line naming the variable (checked by ``benchmarks.run`` before any benchmark starts)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: not a number; set e.g. {name}={default:g}") from None
    if not (math.isfinite(value) and value > 0):
        raise SystemExit(f"{name}={raw!r}: must be a finite number > 0, e.g. {name}={default:g}")
    return value


def measure(code: str, *, env: dict[str, str] | None = None, timeout: float = 3600) -> tuple[float, float, dict]:
    """Run ``code`` in a fresh Python; return (wall seconds, peak RSS MiB, the JSON it printed last).

    Wall time is measured around the step inside the child (the code sets ``RESULT['_wall']``), so
    interpreter start-up and imports do not count; peak RSS is the child's own high-water mark (VmHWM;
    ``ru_maxrss`` would carry the parent's over ``exec``).
    """
    script = textwrap.dedent(code)
    wrapper = (
        "import json, resource, time\n"
        "RESULT = {}\n"
        + script
        + "\nRESULT['_peak_rss_mib'] = [int(x.split()[1]) for x in open('/proc/self/status')"
        " if x.startswith('VmHWM')][0] / 1024\n"
        "print('@@RESULT@@' + json.dumps(RESULT))\n"
    )
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper], env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{proc.stderr[-4000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("@@RESULT@@")][-1]
    result = json.loads(line[len("@@RESULT@@"):])
    wall = float(result.pop("_wall", elapsed))
    return wall, float(result.pop("_peak_rss_mib")), result


#: ``musim similar`` top-10 latency on the published snapshot, one open connection (code for :func:`measure`):
#: 300 random artists with pairs after 20 warm-up questions; ``RESULT`` gets p50 and p99 (ms) and n.
SIMILAR_LATENCY = """
    import random
    from musim import serving
    from musim.similarity.query import ArtistSimilarity
    con = serving.open_snapshot()
    service = ArtistSimilarity(con)
    names = [r[0] for r in con.execute('''SELECT a.name FROM artist a JOIN artist_listeners l USING (artist_id)
        WHERE l.artist_id IN (SELECT artist_id FROM artist_pair_lookup) ORDER BY a.artist_id''').fetchall()]
    random.seed(1)
    sample = random.sample(names, min(300, len(names)))
    for name in sample[:20]:
        service.similar(name, k=10)
    times = []
    for name in sample:
        t = time.perf_counter(); service.similar(name, k=10); times.append((time.perf_counter() - t) * 1000)
    times.sort()
    RESULT.update(p50=times[len(times) // 2], p99=times[max(0, int(len(times) * 0.99) - 1)], n=len(times))
"""


def median_run(runs: list[tuple[float, float, dict]]) -> tuple[float, float, dict]:
    """The :func:`measure` result with the median wall time (its peak RSS and result with it)."""
    return sorted(runs, key=lambda r: r[0])[len(runs) // 2]


def warm(path: Path) -> int:
    """Read ``path`` once so the step that follows finds it in the page cache, as the steps it is compared
    with do (this machine's kernel reclaims idle page cache, so a file read minutes ago may be on disk again).
    Returns the bytes read.
    """
    read = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(64 * 1024 * 1024):
            read += len(chunk)
    return read


def synthetic_dump(workdir: Path, spec: dict) -> Path:
    """The plays file of a synthetic Last.FM dump for ``spec`` (write_lastfm_dump kwargs), generated once."""
    from musim.synth.lastfm import PLAYS_FILE, write_lastfm_dump

    folder = workdir / f"dump-{spec['users']}-{spec['artists']}-{spec['seed']}"
    if not (folder / "synth-truth.json").exists():
        write_lastfm_dump(folder, **spec)
    return folder / PLAYS_FILE


def row(benchmark: str, metric: str, value: float, unit: str, *, baseline: str | None = None,
        baseline_value: float | None = None, ratio: float | None = None, target: str | None = None,
        met: bool | None = None, notes: str = "") -> dict:
    return {"benchmark": benchmark, "metric": metric, "value": value, "unit": unit, "baseline": baseline,
            "baseline_value": baseline_value, "ratio": ratio, "target": target, "met": met, "notes": notes}
