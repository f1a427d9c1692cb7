"""Build a C extension of musim a second time with AddressSanitizer and UndefinedBehaviorSanitizer, and run a
module of checks against it in its own process with the sanitizer runtimes preloaded (the scanner's and the
co-occurrence kernels' sanitizer tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "asan"
FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1",
         "-Wall", "-shared", "-fPIC"]


def compiler() -> str:
    for name in ((sysconfig.get_config_var("CC") or "").split()[:1] + ["gcc", "cc"]):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("no C compiler: the sanitizer build of musim's C extensions needs gcc (they are not built either)")


def build_sanitized(cc: str, name: str, sources: list[Path]) -> Path:
    """The extension ``name`` from ``sources`` (the first is compiled, the rest are its headers) with the
    sanitizers, in build/asan/ (rebuilt when a source is newer)."""
    target = BUILD / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    if target.exists() and all(target.stat().st_mtime >= s.stat().st_mtime for s in sources):
        return target
    BUILD.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    cmd = [cc, *FLAGS, f"-I{sysconfig.get_paths()['include']}", str(sources[0]), "-o", str(partial)]
    built = subprocess.run(cmd, capture_output=True, text=True)
    assert built.returncode == 0, f"{' '.join(cmd)} failed:\n{built.stderr}"
    partial.replace(target)
    return target


def _runtime(cc: str, name: str) -> str:
    path = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    assert os.path.isabs(path), f"{cc} has no {name} (install its sanitizer runtimes, e.g. Debian's libasan8 and " \
                                "libubsan1)"
    return path


def run_sanitized(cc: str, module: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m module args...`` with the sanitizer runtimes preloaded; fails the test on any report."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), LD_PRELOAD=f"{_runtime(cc, 'libasan.so')}:{_runtime(cc, 'libubsan.so')}",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",  # Python leaks by design
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=98", PYTHONMALLOC="malloc")
    run = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0 and "Sanitizer" not in output and "runtime error" not in output, output[-6000:]
    return run


def load_extension(path: str, module: str) -> None:
    """Import the extension at ``path`` as ``module`` (e.g. ``musim._cooccurrence``), in place of the normal build."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(module, path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    sys.modules[module] = loaded
    parent, _, leaf = module.rpartition(".")
    setattr(importlib.import_module(parent), leaf, loaded)
