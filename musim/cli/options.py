"""Argument types for numeric and version options: a bad value is argparse's one-line usage error (exit 2), not a
traceback from deep inside a command. :func:`refuse_empty_values` gives every argument that takes a value the same
rule: an empty or blank value (an unset shell variable, ``--dump "$DUMP"``) is refused, never read as the default."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from musim.names import MAX_QUERY_CHARS, lookup_problem
from musim.params import MAX_COUNT, SEED_MAX, SEED_MIN
from musim.sql import not_utf8


def count(minimum: int = 1, maximum: int = MAX_COUNT) -> Callable[[str], int]:
    """An integer option in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum:,} and {maximum:,}, got {text}")
        return value

    parse.__name__ = "count"  # argparse names the type in its messages
    return parse


def number(minimum: float = 0.0, maximum: float = math.inf, *, above: bool = False,
           below: bool = False) -> Callable[[str], float]:
    """A finite float option in ``[minimum, maximum]`` (``above``/``below``: the bound itself excluded)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        low_ok = value > minimum if above else value >= minimum
        high_ok = value < maximum if below else value <= maximum
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if not low_ok or not high_ok:
            lo, hi = "(" if above else "[", ")" if below else "]"
            raise argparse.ArgumentTypeError(f"must be in {lo}{minimum:g}, {maximum:g}{hi}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


positive = count(1)
non_negative = count(0)
#: Seeds of NumPy's and Keras's generators: 0 .. 2**32 - 1.
seed = count(SEED_MIN, SEED_MAX)
share = number(0.0, 1.0)
open_share = number(0.0, 1.0, above=True, below=True)


def version(text: str) -> str:
    """A model version (``--model``): not empty (an empty one was read as "no version" and served the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give a version such as siamese-1 (`musim models list`)")
    return text.strip()


version.refuses_empty = True  # type: ignore[attr-defined]  # in its own words (refuse_empty_values)


def may_be_empty(text: str) -> str:
    """The type of an option whose empty value means something (``--baselines ""``: none), left out of
    :func:`refuse_empty_values`."""
    return text


def _wanted(action: argparse.Action) -> str:
    """What to give instead of an empty value of ``action``, in its usage's words."""
    shown = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    if not action.option_strings:
        return shown
    option = max(action.option_strings, key=len)
    if action.nargs == "?":
        return f"{shown}, or {option} without a value"
    return shown if action.required else f"{shown}, or leave {option} out for its default"


def non_empty(action: argparse.Action) -> Callable[[str], Any]:
    """``action``'s type (or the text itself) behind a check that refuses an empty or blank value."""
    parse = action.type
    wanted = _wanted(action)

    def check(text: str) -> Any:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"is empty (an unset variable?): give {wanted}")
        return text if parse is None else parse(text)

    check.__name__ = getattr(parse, "__name__", "value")  # argparse names the type in its messages
    check.refuses_empty = True  # type: ignore[attr-defined]
    return check


def refuse_empty_values(parser: argparse.ArgumentParser) -> None:
    """Every argument of ``parser`` that takes a value (a path, a dump or run id, a name...) refuses an empty one,
    unless its type is :func:`may_be_empty`: ``Path("")`` is the working folder and an empty prefix matches every
    id, so an unset variable would otherwise silently pick the default, or everything."""
    for action in parser._actions:  # noqa: SLF001 - argparse keeps them there, and nowhere public
        if (action.nargs == 0 or isinstance(action, argparse._SubParsersAction)  # noqa: SLF001
                or action.type is may_be_empty or getattr(action.type, "refuses_empty", False)):
            continue
        action.type = non_empty(action)


def artist_name(text: str) -> str:
    """An artist name to look up (``musim similar NAME``): at most :data:`~musim.names.MAX_QUERY_CHARS`, and none
    that no artist can have (:func:`musim.names.lookup_problem`: a C1 control character) or that is not UTF-8 text
    (:func:`musim.sql.not_utf8`: a byte of another encoding)."""
    if len(text) > MAX_QUERY_CHARS:
        raise argparse.ArgumentTypeError(
            f"is {len(text):,} characters long: an artist name to look up has at most {MAX_QUERY_CHARS}; ask for an "
            f"artist whose name is longer by its id, `--id N` (`musim sql \"SELECT artist_id, name FROM artist WHERE "
            f"length(name) > {MAX_QUERY_CHARS}\"`), or `--mbid MBID`")
    problem = not_utf8(text) or lookup_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text
