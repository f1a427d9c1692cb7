"""Progress bars for long work: one way to make them, on stderr, only where someone watches.

A bar is drawn when stderr is a terminal (``enabled=None``), never in a DAG task's log or a pipe, and always or
never when a command's ``--no-progress`` or a caller says so. :func:`progress_bar` gives a tqdm bar (``update``,
``set_postfix_str``, ``close``); disabled, the same calls do nothing. Within :func:`progress_setting`, the bars
whose caller leaves ``enabled`` unset (say, :func:`musim.audio.batch.pool_map`'s, several calls down) follow
the setting: a command's ``--no-progress`` reaches them without passing a flag through every call.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterator
from typing import Any

_SETTING: contextvars.ContextVar[bool | None] = contextvars.ContextVar("musim_progress", default=None)


def progress_bar(total: int | None, *, unit: str, desc: str, enabled: bool | None = None, leave: bool = True) -> Any:
    """A tqdm bar of ``total`` ``unit``s (``None``: unknown) labelled ``desc``, on stderr; see the module doc."""
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = _SETTING.get()
    disable = not _watched() if enabled is None else not enabled
    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, disable=disable, mininterval=0.5,
                dynamic_ncols=True, leave=leave)


@contextlib.contextmanager
def progress_setting(enabled: bool | None) -> Iterator[None]:
    """Within: the bars that are not told otherwise are drawn always (True), never (False) or on a terminal
    (None, as outside)."""
    token = _SETTING.set(enabled)
    try:
        yield
    finally:
        _SETTING.reset(token)


def _watched() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False
