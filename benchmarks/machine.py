"""What the machine a benchmark run had: the numbers that explain why a ratio moves between machines.

A ratio against a baseline measured in the same run cancels most of a machine's speed, not all of it: a step that
runs interpreted Python (Great Expectations' import, 2-3 s on one 2-core machine and 7 s on another) slows down
more on a slow core than a baseline that runs compiled code (implicit, scipy, librosa's C and Fortran). So every
run prints these probes above its table and writes them beside its rows.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Imported before Great Expectations in the probe, as a musim process has them when its gate starts.
_GX_PROBE = ("import pandas, duckdb, time; t = time.perf_counter(); import great_expectations; "
             "print(time.perf_counter() - t)")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` knows."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def python_loop_ms(repeats: int = 5) -> float:
    """Best of ``repeats`` timings of ``sum(range(10**6))``: the interpreter's speed on one core."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def matmul_gflops(n: int = 1000, repeats: int = 3) -> float:
    """Best of ``repeats`` float64 ``n x n`` matrix products through numpy's BLAS (all its threads), in GFLOP/s."""
    a = np.random.default_rng(0).random((n, n))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def gx_import_s() -> float | None:
    """Seconds a fresh interpreter takes to import Great Expectations (None where it is not installed)."""
    done = subprocess.run([sys.executable, "-c", _GX_PROBE], capture_output=True, text=True, check=False)
    return float(done.stdout.strip()) if done.returncode == 0 else None


def disk_write_mb_s(directory: Path, mb: int = 64) -> float:
    """MB/s of writing ``mb`` MiB to a new file in ``directory`` and syncing it to the disk (``fdatasync`` where
    the OS has it), as a snapshot is written and closed; the file is removed. The data is random, so that no
    layer below can store it compressed."""
    data = memoryview(np.random.default_rng(0).integers(0, 256, mb * 2**20, dtype=np.uint8).tobytes())
    path = Path(directory) / f".musim-disk-probe-{os.getpid()}"
    try:
        t = time.perf_counter()
        with open(path, "wb") as f:
            for start in range(0, len(data), 2**20):
                f.write(data[start:start + 2**20])
            f.flush()
            getattr(os, "fdatasync", os.fsync)(f.fileno())
        return mb * 2**20 / (time.perf_counter() - t) / 1e6
    finally:
        path.unlink(missing_ok=True)


def probe(*, gx: bool = True, disk: Path | None = None) -> dict[str, Any]:
    """The machine's description and speed probes (``gx``: include Great Expectations' import, a few seconds;
    ``disk``: a folder on the disk the benchmarks write to, for :func:`disk_write_mb_s`)."""
    out: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count(), "cpu": cpu_model(),
                           "platform": platform.platform(), "python_loop_ms": round(python_loop_ms(), 1),
                           "matmul_gflops": round(matmul_gflops(), 1)}
    if gx:
        seconds = gx_import_s()
        out["gx_import_s"] = None if seconds is None else round(seconds, 2)
    if disk is not None:  # the median of three: single synced writes here ranged 0.24-1.9 GB/s a second apart
        out["disk_write_mb_s"] = round(float(np.median([disk_write_mb_s(disk) for _ in range(3)])))
    return out


def describe(machine: dict[str, Any]) -> str:
    """One line for the top of a benchmark run."""
    parts = [f"{machine['cpu']}, {machine['cpus']} CPUs", f"Python loop {machine['python_loop_ms']:.0f} ms",
             f"matmul {machine['matmul_gflops']:.0f} GFLOP/s"]
    if machine.get("gx_import_s") is not None:
        parts.append(f"Great Expectations import {machine['gx_import_s']:.1f} s")
    if machine.get("disk_write_mb_s") is not None:
        parts.append(f"synced disk writes {machine['disk_write_mb_s']:,.0f} MB/s")
    return "machine: " + "; ".join(parts)
