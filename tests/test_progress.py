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


def test_a_setting_reaches_the_bars_of_calls_below_unless_they_are_told(monkeypatch):
    """`models evaluate --no-progress` reaches the featurising bar of embed_files (pool_map's), two calls down."""
    from musim.audio.batch import pool_map
    from musim.progress import progress_setting

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_setting(False):
        assert pool_map(abs, [-1, -2], workers=1, desc="featurise") == [1, 2]
        with progress_bar(1, unit="file", desc="told", enabled=True) as bar:
            bar.update()
    assert "featurise" not in terminal.getvalue() and "told: 100%" in terminal.getvalue()
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with progress_setting(True):
        pool_map(abs, [-1], workers=1, desc="featurise")
    assert "featurise" in pipe.getvalue()
    pool_map(abs, [-1], workers=1, desc="after")  # outside: a pipe again
    assert "after" not in pipe.getvalue()
