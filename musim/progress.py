"""Progress bars for long work: one way to make them, on stderr, only where someone watches.

A bar is drawn when stderr is a terminal (``enabled=None``), never in a DAG task's log or a pipe, and always or
never when a command's ``--no-progress`` or a caller says so. :func:`progress_bar` gives a tqdm bar (``update``,
``set_postfix_str``, ``close``); disabled, the same calls do nothing.
"""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(total: int | None, *, unit: str, desc: str, enabled: bool | None = None, leave: bool = True) -> Any:
    """A tqdm bar of ``total`` ``unit``s (``None``: unknown) labelled ``desc``, on stderr; see the module doc."""
    from tqdm.auto import tqdm

    disable = not _watched() if enabled is None else not enabled
    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, disable=disable, mininterval=0.5,
                dynamic_ncols=True, leave=leave)


def _watched() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False
