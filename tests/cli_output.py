"""Running the ``musim`` CLI in a test process: the exit code and what it printed."""

from __future__ import annotations

from musim.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``musim ARGV...`` through :func:`musim.cli.main`: ``(exit code, stdout, stderr)``."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
