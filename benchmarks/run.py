"""Run every ``benchmarks/bench_*.py``, print one table and write ``benchmarks/results/bench.json``.

Usage: ``python -m benchmarks.run [--quick] [--only NAME ...]``.

A run of some benchmarks (``--only``) writes ``bench-<names>.json`` beside it, so the whole suite's results are
never replaced by a part of them; a run in which every benchmark failed writes nothing. Names and each
benchmark's environment variables (a module's ``check_env(quick)``) are checked before the first one starts.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
import traceback
from pathlib import Path

from benchmarks.machine import describe, probe
from musim.terminal import Parser

HERE = Path(__file__).resolve().parent


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog=f"python -m {__spec__.name}" if __spec__ else None, description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs: checks the harness in seconds")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="benchmark module names (e.g. lastfm storage)")
    parser.add_argument("--workdir", default=str(HERE / "data"), help="where generated inputs are kept")
    args = parser.parse_args(argv)
    names = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    if args.only is not None:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"no benchmark {', '.join(unknown)}; the benchmarks are {', '.join(names)}")
        names = [n for n in names if n in args.only]
    for name in names:  # a bad environment value stops the run now, not after hours of the others
        check_env = getattr(importlib.import_module(f"benchmarks.bench_{name}"), "check_env", None)
        if check_env is not None:
            try:
                check_env(args.quick)
            except SystemExit as exc:
                parser.error(f"bench_{name}: {exc}")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    machine = probe(gx=not args.quick, disk=Path(args.workdir))
    print(describe(machine), file=sys.stderr, flush=True)
    rows: list[dict] = []
    failures = 0
    for name in names:
        workdir = Path(args.workdir) / name / ("quick" if args.quick else "full")
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"== bench_{name} ({'quick' if args.quick else 'full'}) ...", file=sys.stderr, flush=True)
        try:
            rows.extend(importlib.import_module(f"benchmarks.bench_{name}").run(quick=args.quick, workdir=workdir))
        except Exception:  # noqa: BLE001 - report and go on with the others
            failures += 1
            traceback.print_exc()
            rows.append({"benchmark": name, "metric": "ERROR", "value": None, "unit": "", "notes": "failed"})
    headers = ["benchmark", "metric", "value", "unit", "baseline", "baseline_value", "ratio", "target", "met"]
    table = [[_fmt(r.get(h)) for h in headers] for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)))
    if failures == len(names):
        print("\nevery benchmark failed: nothing written (the results of earlier runs are kept)", file=sys.stderr)
        return 1
    out = HERE / "results" / _results_name(args.quick, None if args.only is None else names)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": dt.datetime.now(dt.UTC).isoformat(), "quick": args.quick,
                               "machine": machine,
                               "rows": rows}, indent=2, default=str))
    print(describe(machine))
    print(f"\nwrote {out}", file=sys.stderr)
    return 1 if failures else 0


def _results_name(quick: bool, only: list[str] | None) -> str:
    """``bench.json`` / ``bench-quick.json`` for the whole suite; ``bench-<names>[-quick].json`` for a part."""
    part = "" if only is None else "-" + "+".join(only)
    return f"bench{part}{'-quick' if quick else ''}.json"


if __name__ == "__main__":
    sys.exit(main())
