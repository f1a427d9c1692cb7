"""A failed expectation as the quality runs report it: which dataset and expectation, how much was bad (a count of
rows, or a fact's value against its bound), examples of bad values, and its one line."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from musim.redact import redact

__all__ = ["Failure"]

#: How much of an exception's text a failure keeps.
_EXCEPTION_CHARS = 500


@dataclass
class Failure:
    """A failed expectation: where, what, how many rows, and examples of bad values."""

    part: str
    expectation: str
    columns: list[str]
    description: str | None
    kwargs: dict[str, Any]
    unexpected_count: int
    element_count: int
    observed: list[Any]
    examples: list[Any]
    exception: str | None = None
    facts: bool = False  # of a part of whole-table facts (sql_invariants): element_count is 1, the fact's value counts

    def __post_init__(self) -> None:
        # the exception's text, redacted here, before it is stored (``quality_result.failures``, which `musim sql`
        # and the report show) or printed: a data source may echo a URL with its password, or a registered secret;
        # then cut to its first 500 characters (cut first, a secret cut in two is no longer recognised)
        if self.exception is not None:
            self.exception = redact(self.exception)[:_EXCEPTION_CHARS]

    def line(self) -> str:
        what = self.description or f"{self.expectation}({', '.join(self.columns)})"
        bits = [f"{self.part}: {what}"]
        limits = {k: v for k, v in self.kwargs.items()
                  if k in ("min_value", "max_value", "value_set", "regex", "mostly", "type_list", "strict_min")}
        if limits:
            bits.append(" ".join(f"{k}={v}" for k, v in limits.items()))
        if self.exception:
            bits.append(f"error: {self._error() or 'could not be evaluated'}")
        elif self.examples or (self.facts and self.observed):  # a whole-table fact: its value
            seen = self.count() or f"observed {self._short(self.observed)}"
            bits.append(seen + (f"; examples: {self._short(self.examples)}" if self.examples else ""))
        elif self.observed:
            bits.append(f"{self.unexpected_count:,} of {self.element_count:,} rows unexpected, e.g. "
                        f"{self._short(self.observed)}")
        return " | ".join(bits)

    def count(self) -> str | None:
        """How much was bad, in words: ``3 of 52,227 rows`` (row by row), ``3 found`` (a whole-table count that
        must be zero), a fact's value against its bound (``reject share 0.02103 > 0.001``, ``test artists 3 < 5``,
        ``lines 52,353 != loaded plus rejected 52,352``, ``catalogue mismatches is NULL``), or None where there is
        nothing to say (an error, a fact whose value was not recorded)."""
        if self.exception:
            return None
        if self.facts:
            return self._fact()
        if self.element_count and self.unexpected_count:
            share = f", at most {1 - self.kwargs['mostly']:.0%} may be" if self.kwargs.get("mostly") is not None else ""
            return f"{self.unexpected_count:,} of {self.element_count:,} rows{share}"
        return None

    def _fact(self) -> str | None:
        """A failed whole-table fact: its value against what it must be (see :meth:`count`)."""
        if not self.observed:
            return None
        value, kw = self.observed[0], self.kwargs
        if len(self.columns) == 2 and isinstance(value, (list, tuple)) and len(value) == 2:  # two facts compared
            a, b = (_number(v) if _is_number(v) else repr(v) for v in value)
            return f"{_words(self.columns[0])} {a} != {_words(self.columns[1])} {b}"
        name = _words(self.columns[0]) if self.columns else "the fact"
        if isinstance(value, float) and value != value or isinstance(value, str) and value.lower() == "nan":
            return f"{name} is NaN"
        if value is None or isinstance(value, str) and value.lower() in ("none", "null", "<na>"):
            return f"{name} is NULL"
        if not _is_number(value):
            return f"{name} {value!r}"
        lo, hi = kw.get("min_value"), kw.get("max_value")
        if lo == 0 and hi == 0:  # a count of bad things
            return f"{_number(value)} found"
        if _is_number(hi) and (value > hi or (kw.get("strict_max") and value == hi)):
            op = ">=" if value == hi else ">"
            return f"{name} {_number(value, hi)} {op} {_number(hi, value)}"
        if _is_number(lo) and (value < lo or (kw.get("strict_min") and value == lo)):
            op = "<=" if value == lo else "<"
            return f"{name} {_number(value, lo)} {op} {_number(lo, value)}"
        return f"{name} {_number(value)}"

    def summary(self) -> str:
        """``part: what (how much)``: the failure in a few words, for one-line messages."""
        what = self.description or f"{self.expectation}({', '.join(self.columns)})"
        error = self._error()
        how = self.count() or (f"error: {error[:160]}" if error else "could not be evaluated" if self.exception else None)
        return f"{self.part}: {what}" + (f" ({how})" if how else "")

    def _error(self) -> str | None:
        """The exception's first line (DuckDB's messages go on with candidates and a caret under the statement: the
        whole of it is recorded, and logged for ``musim -v``)."""
        return next((line.strip() for line in (self.exception or "").splitlines() if line.strip()), None)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Failure:
        """A failure as recorded in ``quality_result.failures`` (fields an older run did not record left empty)."""
        empty: dict[str, Any] = {"part": "?", "expectation": "?", "columns": [], "description": None, "kwargs": {},
                                 "unexpected_count": 0, "element_count": 0, "observed": [], "examples": []}
        known = {f.name for f in dataclasses.fields(cls)}
        empty["facts"] = doc.get("part") == "invariants"  # recorded before `facts` was: every suite's facts part
        return cls(**{**empty, **{k: v for k, v in doc.items() if k in known}})

    @staticmethod
    def _short(values: list[Any], n: int = 5) -> str:
        text = ", ".join(repr(v) if isinstance(v, str) else json.dumps(v, default=str) for v in values[:n])
        return f"[{text}{', ...' if len(values) > n else ''}]"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: float, other: float | None = None) -> str:
    """``value`` in few digits (integers with thousands separators), with as many as it takes to differ from
    ``other`` (a share just above its bound is not written as the bound)."""
    if float(value).is_integer() and (other is None or float(other).is_integer()):
        return f"{value:,.0f}"
    for digits in range(4, 18):
        text = f"{value:.{digits}g}"
        if other is None or value == other or text != f"{other:.{digits}g}":
            return text
    return repr(value)


def _words(column: str) -> str:
    """A fact's column as words: ``reject_share`` -> ``reject share``."""
    return column.replace("_", " ")
