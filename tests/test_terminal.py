"""Every entry point's usage errors: one line, redacted, its control characters escaped (musim.terminal.Parser)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from musim.embedded import REPO
from musim.terminal import escaped

BAD = "--bogus=https://user:hunter2@host/x\x1b[2J\u202e"


@pytest.mark.parametrize(("module", "prog"), [
    (["musim.cli", "sql", "select 1"], "musim sql"),
    (["musim.demo"], "python -m musim.demo"),
    (["musim.demo", "--real"], "python -m musim.demo --real"),
    (["musim.ui.standalone", "env"], "python -m musim.ui.standalone env"),
    (["musim.ui.standalone", "app"], "python -m musim.ui.standalone app"),
    (["musim.config"], "python -m musim.config"),
    (["musim.ingest.prescan_rules"], "python -m musim.ingest.prescan_rules"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_bad_option_is_one_line_and_exit_2_at_every_entry_point(module, prog, tmp_path):
    """`python -m musim.ui.standalone`, `python -m musim.config` and `python -m musim.ingest.prescan_rules` printed
    argparse's usage block before the error, and the demo's own parser printed the refused argument as given: a
    password in a URL, and an escape sequence that cleared the terminal. Now each says one line, as `musim` does."""
    done = subprocess.run([sys.executable, "-m", *module, BAD], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and done.stdout == "" and len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith(f"{prog}: error: ") and line.endswith(f"; see `{prog} --help`"), line
    assert "--bogus" in line and "hunter2" not in line and escaped("\x1b[2J\u202e") in line and "\x1b" not in line


def test_escaped_shows_controls_and_keeps_the_rest():
    assert escaped("a\tb\nc\x1b[31m\u202ed\udcff é 椎名") == "a\\tb\\nc\\x1b[31m\\u202ed\\xff é 椎名"
    assert escaped(12) == "12"
