"""musim.progress: a bar on a terminal's stderr, nothing elsewhere."""

from __future__ import annotations

import io
import sys

from musim.progress import progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_only_unless_told(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(3, unit="file", desc="scan") as bar:
        bar.update(3)
    assert "scan: 100%" in terminal.getvalue() and "3/3" in terminal.getvalue()
    terminal.truncate(0)
    with progress_bar(3, unit="file", desc="scan", enabled=False) as bar:  # --no-progress
        bar.update(3)
    assert terminal.getvalue() == ""
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with progress_bar(3, unit="file", desc="scan") as bar:
        bar.update(3)
    assert pipe.getvalue() == ""
    pipe.close()  # a closed stderr is no terminal either
    with progress_bar(None, unit="file", desc="scan") as bar:
        bar.update(1)
