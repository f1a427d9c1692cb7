"""The C scanner built a second time with AddressSanitizer and UndefinedBehaviorSanitizer, and run over the
quirk file and a fuzz corpus (tests/ingest/sanitized_scan.py): any sanitizer report fails the test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.ingest.test_fuzz import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "musim" / "ingest" / "_scan360k.c", ROOT / "musim" / "ingest" / "_prescan_rules.h"]
BUILD = ROOT / "build" / "asan"
FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1",
         "-Wall", "-shared", "-fPIC"]


def _compiler() -> str:
    for name in ((sysconfig.get_config_var("CC") or "").split()[:1] + ["gcc", "cc"]):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("no C compiler: the sanitizer build of the C scanner needs gcc (the C engine is not built either)")


def build_sanitized(cc: str) -> Path:
    """The extension with the sanitizers, in build/asan/ (rebuilt when its source is newer)."""
    target = BUILD / f"_scan360k{sysconfig.get_config_var('EXT_SUFFIX')}"
    if target.exists() and all(target.stat().st_mtime >= s.stat().st_mtime for s in SOURCES):
        return target
    BUILD.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    cmd = [cc, *FLAGS, f"-I{sysconfig.get_paths()['include']}", str(SOURCES[0]), "-o", str(partial)]
    built = subprocess.run(cmd, capture_output=True, text=True)
    assert built.returncode == 0, f"{' '.join(cmd)} failed:\n{built.stderr}"
    partial.replace(target)
    return target


def _runtime(cc: str, name: str) -> str:
    path = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    assert os.path.isabs(path), f"{cc} has no {name} (install its sanitizer runtimes, e.g. Debian's libasan8 and " \
                                "libubsan1)"
    return path


@pytest.mark.slow
def test_the_c_scanner_under_asan_and_ubsan_reports_nothing():
    cc = _compiler()
    extension = build_sanitized(cc)
    env = dict(os.environ, PYTHONPATH=str(ROOT), LD_PRELOAD=f"{_runtime(cc, 'libasan.so')}:{_runtime(cc, 'libubsan.so')}",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",  # Python leaks by design
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=98", PYTHONMALLOC="malloc")
    run = subprocess.run([sys.executable, "-m", "tests.ingest.sanitized_scan", str(extension), str(EXAMPLES * 5)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0 and "Sanitizer" not in output and "runtime error" not in output, output[-6000:]
    assert "under the sanitizers" in run.stdout
