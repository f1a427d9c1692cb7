"""The import contract (pyproject's [tool.importlinter]): layers point down, quality imports no model code; and
ruff's lint (`make lint`), so that CI, which runs only the test suite, catches both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _lint_imports(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe), "--no-cache", *args], cwd=REPO, capture_output=True, text=True, check=False)


def test_every_import_contract_is_kept():
    run = _lint_imports()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in run.stdout


CAPABILITIES = ('"models",\n  "quality",\n  "features : acquire",\n  "ingest : similarity : synth",\n'
                '  "library",')


def _broken_by(tmp_path: Path, old: str, new: str) -> subprocess.CompletedProcess:
    """lint-imports on pyproject's contract with ``old`` replaced by ``new``."""
    text = (REPO / "pyproject.toml").read_text()
    assert old in text, old
    config = tmp_path / "contract.toml"
    config.write_text(text.replace(old, new))
    return _lint_imports(str(config))


def test_an_arrow_back_up_breaks_the_contract(tmp_path):
    run = _broken_by(tmp_path, CAPABILITIES + '\n  "serving",', '"serving",\n  ' + CAPABILITIES)
    # serving above the capabilities: their imports of it point up
    assert run.returncode != 0 and "BROKEN" in run.stdout and "is not allowed to import musim.serving" in run.stdout


def test_the_capabilities_are_ordered_models_over_quality_over_features(tmp_path):
    """models -> quality -> features -> library is one direction: features placed above models breaks it."""
    run = _broken_by(tmp_path, CAPABILITIES, '"features : acquire",\n  "models",\n  "quality",\n'
                                             '  "ingest : similarity : synth",\n  "library",')
    assert run.returncode != 0 and "musim.models is not allowed to import musim.features" in run.stdout


def test_a_module_left_out_of_the_layers_breaks_the_contract(tmp_path):
    """The contract is exhaustive: a new module of musim must be given its layer (here `names` is left out)."""
    run = _broken_by(tmp_path, ' : progress : names"', ' : progress"')
    assert run.returncode != 0 and "musim.names" in run.stdout + run.stderr


def test_ruff_finds_nothing():
    """`make lint`'s ruff, in the test suite so that CI runs it."""
    exe = Path(sys.executable).with_name("ruff")
    run = subprocess.run([str(exe), "check", "--no-cache", "musim", "dags", "plugins", "tests", "benchmarks"],
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_ruff_reports_an_unused_import(tmp_path):
    """The ruff run above fails on lint: a module with an unused import is reported with its rule."""
    (tmp_path / "bad.py").write_text("import os\n")
    exe = Path(sys.executable).with_name("ruff")
    run = subprocess.run([str(exe), "check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "F401" in run.stdout
