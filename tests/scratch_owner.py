"""A process that owns a scratch folder until killed: ``python -m tests.scratch_owner FOLDER PREFIX``.

It prints the owned path once the folder exists, then sleeps; tests kill it (``SIGKILL``) to leave a leftover
whose owner is gone, or keep it alive to show that a live owner's folder stays.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def scratch_owner(folder: Path, prefix: str) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Start an owner of ``folder/<prefix>...``; yield it and its path; kill it (-9) on exit."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.scratch_owner", str(folder), prefix], cwd=REPO,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line, "the scratch owner did not start"
        yield proc, Path(line)
    finally:
        kill(proc)


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL ``proc`` (no cleanup can run) and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


if __name__ == "__main__":
    from musim.scratch import owned_scratch

    with owned_scratch(Path(sys.argv[1]), sys.argv[2]) as base:
        base.mkdir()
        (base / "work.bin").write_bytes(b"x" * 1000)
        print(base, flush=True)
        time.sleep(600)
