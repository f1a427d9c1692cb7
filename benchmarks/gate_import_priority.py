"""Where Great Expectations' import lands: the similarity build and its gate with the GX preload at several
CPU priorities (issue 19's gate <= 0.2x the build).

``musim similarity build`` imports GX in a background thread beside the build (:mod:`musim.quality.preloading`,
at the lowest priority). On two cores the build leaves little idle CPU, so part of the import is still running
when the gate starts. This script runs the build and the gate in one process, as the CLI does, with the preload
off, at nice 19 (the CLI's), 10 and 0, each setting in a fresh process, the settings interleaved over rounds,
and prints build, gate, their sum and the gate's ratio to the build. If the sum stays level while the ratio
moves, the gate's excess over 0.2x is GX's fixed import cost booked to one step or the other, not its checks.

Needs the warehouse of a full similarity benchmark run (``python -m benchmarks.run --only similarity`` first);
each run rebuilds that dump's similarity (idempotent). Usage::

    python -m benchmarks.gate_import_priority [--rounds 2] [--home benchmarks/data/similarity/full/home]
        [--min-listeners 50]
"""

from __future__ import annotations

import statistics
from pathlib import Path

from benchmarks._util import measure
from musim.terminal import Parser

SETTINGS = ("off", "19", "10", "0")

STEP = """
    import os
    from musim import warehouse
    from musim.quality import gate, preload, preloading
    from musim.similarity.build import SimilarityParams, build_similarity
    setting = {setting!r}
    T0 = time.perf_counter()
    if setting != "off":
        preloading.LOWEST = int(setting)
        preload()
    with warehouse.writer() as con:
        r = build_similarity(con, None, SimilarityParams(min_listeners={min_listeners}), force=True)
        T1 = time.perf_counter()
        gate(["similarity"], dump_id=r.dump_id, con=con)
        T2 = time.perf_counter()
    RESULT.update(_wall=T2 - T0, build=T1 - T0, gate=T2 - T1)
"""


def summarise(runs: dict[str, list[dict]]) -> str:
    """The Markdown table of ``runs`` (per setting, the runs' ``build`` and ``gate`` seconds): medians, their
    sum and the gate's ratio to the build."""
    lines = ["| GX preload | build | gate | build + gate | gate / build |", "|---|---|---|---|---|"]
    for setting, rs in runs.items():
        build = statistics.median(r["build"] for r in rs)
        gate = statistics.median(r["gate"] for r in rs)
        label = "off (GX imported by the gate)" if setting == "off" else f"nice {setting}"
        lines.append(f"| {label} | {build:.2f} s | {gate:.2f} s | {build + gate:.2f} s | {gate / build:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = Parser(prog=f"python -m {__spec__.name}" if __spec__ else None, description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--home", default="benchmarks/data/similarity/full/home")
    parser.add_argument("--min-listeners", type=int, default=50, help="as the benchmark's full run (10 at --quick)")
    args = parser.parse_args()
    home = Path(args.home)
    if not (home / "warehouse.duckdb").exists():
        raise SystemExit(f"no warehouse under {home}: run `python -m benchmarks.run --only similarity` first")
    runs: dict[str, list[dict]] = {s: [] for s in SETTINGS}
    for _ in range(args.rounds):
        for setting in SETTINGS:
            code = STEP.format(setting=setting, min_listeners=int(args.min_listeners))
            _, _, res = measure(code, env={"MUSIM_HOME": str(home)})
            runs[setting].append(res)
            print(f"preload {setting:>3}: build {res['build']:.2f} s, gate {res['gate']:.2f} s, "
                  f"sum {res['build'] + res['gate']:.2f} s", flush=True)
    print()
    print(summarise(runs))


if __name__ == "__main__":
    main()
