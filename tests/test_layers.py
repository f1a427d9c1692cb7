"""The import contract (pyproject's [tool.importlinter]): layers point down, quality imports no model code."""

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


def test_an_arrow_back_up_breaks_the_contract(tmp_path):
    config = tmp_path / "contract.toml"
    capabilities = '"ingest : similarity : library : acquire : features : quality : models : synth",'
    text = (REPO / "pyproject.toml").read_text()
    assert capabilities + '\n  "serving",' in text
    config.write_text(text.replace(capabilities + '\n  "serving",', '"serving",\n  ' + capabilities))
    run = _lint_imports(str(config))  # serving above the capabilities: their imports of it point up
    assert run.returncode != 0 and "BROKEN" in run.stdout and "is not allowed to import musim.serving" in run.stdout
