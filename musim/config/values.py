"""Value types of the settings: what one variable may hold, and the words its error message uses.

Each type parses the text of an environment variable (or a Python value given directly) and, when it cannot,
raises ``ValueError`` whose text completes ``<VARIABLE> must be ...`` (e.g. ``a positive integer``);
:func:`musim.config.get_settings` turns that into one :class:`~musim.errors.ConfigError` line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

__all__ = ["Bool", "Choice", "CountryCode", "Fraction", "HttpUrl", "Integer", "MemoryLimit", "NonNegative", "NonNegativeInt",
           "FolderValue", "PathValue", "Positive", "PositiveInt", "RateLimit", "RateLimitValue", "NonNegativeSeconds", "Seconds", "SeedInt",
           "Stripped", "Threads", "WindowSeconds", "Words"]


#: No integer setting goes beyond what DuckDB's and NumPy's 64-bit integers hold.
INT_MAX = 2**63 - 1


def _int(minimum: int | None, maximum: int = INT_MAX) -> BeforeValidator:
    what = ("an integer" if minimum is None else "a positive integer" if minimum == 1
            else "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}")
    what += f" up to {maximum:,}" if maximum != INT_MAX else ""

    def parse(raw: Any) -> int:
        try:
            value = int(raw.strip()) if isinstance(raw, str) else raw
            ok = (isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum)
                  and value <= maximum and (minimum is not None or value >= -INT_MAX))
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(what)
        return value

    return BeforeValidator(parse)


def _number(minimum: float, maximum: float | None, *, above: bool = False) -> BeforeValidator:
    what = (f"a number between {minimum:g} and {maximum:g}" if maximum is not None
            else f"a finite number > {minimum:g}" if above else f"a finite number >= {minimum:g}")

    def parse(raw: Any) -> float:
        try:
            value = float(raw.strip()) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError):
            raise ValueError(what) from None
        if not math.isfinite(value) or not (value > minimum if above else value >= minimum) or (
                maximum is not None and value > maximum):
            raise ValueError(what)
        return value

    return BeforeValidator(parse)


#: Integers: any, at least 1, at least 0 (all within 64 bits); a generator seed; a count of threads.
Integer = Annotated[int, _int(None)]
PositiveInt = Annotated[int, _int(1)]
NonNegativeInt = Annotated[int, _int(0)]
SeedInt = Annotated[int, _int(0, 2**32 - 1)]
Threads = Annotated[int, _int(1, 1024)]
#: Numbers (finite): at least 0, more than 0; a wait or timeout (a millisecond to a day); an analysis window
#: (the 5 s a file needs at least, up to an hour).
NonNegative = Annotated[float, _number(0.0, None)]
Positive = Annotated[float, _number(0.0, None, above=True)]
Seconds = Annotated[float, _number(0.001, 86_400.0)]
NonNegativeSeconds = Annotated[float, _number(0.0, 86_400.0)]
WindowSeconds = Annotated[float, _number(5.0, 3_600.0)]


#: A share: a number between 0 and 1.
Fraction = Annotated[float, _number(0.0, 1.0)]


def _memory_limit(raw: Any) -> str:
    """DuckDB's own parser is the judge (an in-memory database opened with the value, ~1 ms), so every form it
    takes (``8GB``, ``8 GiB``, ``80%``, ``-1``) is accepted and its message names what is wrong."""
    import duckdb

    value = str(raw).strip()
    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0].removeprefix("Parser Error: ")
        raise ValueError(f"a DuckDB memory limit such as 8GB or 80% ({reason})") from None
    return value


#: DuckDB's ``memory_limit``: ``8GB``, ``8GiB``, ``80%``...
MemoryLimit = Annotated[str, BeforeValidator(_memory_limit)]


_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value not in _ON + _OFF:  # a typo ("ture") must not quietly mean off
        raise ValueError("1 or 0 (or true/false, yes/no, on/off)")
    return value in _ON


#: ``1``, ``true``, ``yes`` or ``on`` (any case) is on; ``0``, ``false``, ``no``, ``off`` or empty is off.
Bool = Annotated[bool, BeforeValidator(_bool)]


def Choice(*choices: str) -> Any:  # noqa: N802 - makes a type
    """One of ``choices`` (any case, surrounding blanks ignored)."""
    what = "one of " + ", ".join(choices)

    def parse(raw: Any) -> str:
        value = str(raw).strip().lower()
        if value not in choices:
            raise ValueError(what)
        return value

    return Annotated[str, BeforeValidator(parse)]


def _http_url(raw: Any) -> str:
    from urllib.parse import urlsplit

    value = str(raw).strip()
    try:
        parts = urlsplit(value)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # a bad port or bracket
        ok = False
    if not ok:
        raise ValueError("an http:// or https:// URL with a host (e.g. https://api.example.com/v1/)")  # not one provider's
    return value


#: An ``http(s)://host[:port][/path]`` URL (the providers' API addresses).
HttpUrl = Annotated[str, BeforeValidator(_http_url)]


def _country(raw: Any) -> str:
    value = str(raw).strip().upper()
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise ValueError("a two-letter country code (ISO 3166-1, e.g. US, GB, DE)")
    return value


#: A store country: two letters, upper case (``us`` -> ``US``).
CountryCode = Annotated[str, BeforeValidator(_country)]


def _queue(raw: Any) -> str:
    value = str(raw).strip()
    if not value or any(c.isspace() or c == "," for c in value):
        raise ValueError("one Celery queue name (e.g. default or gpu)")
    return value


#: One Celery queue name: no spaces or commas.
QueueName = Annotated[str, BeforeValidator(_queue)]


def _words(raw: Any) -> tuple[str, ...]:
    parts = raw.split(",") if isinstance(raw, str) else raw
    return tuple(p.strip().lower() for p in parts if p.strip())


#: Text without surrounding blanks (a folder or URL kept as text: a landing place).
Stripped = Annotated[str, BeforeValidator(lambda raw: raw.strip() if isinstance(raw, str) else raw)]


#: A comma-separated list of lower-case words.
Words = Annotated[tuple[str, ...], BeforeValidator(_words), PlainSerializer(lambda v: ",".join(v))]


def _path(raw: Any) -> Path:
    if isinstance(raw, str):  # `MUSIM_HOME=/data/musim ` (an env file's stray blank) is /data/musim, as numbers are
        raw = raw.strip()     # read: not a folder "/data/musim " beside it, nor " /data" under the working folder
    try:
        return Path(raw).expanduser().absolute()
    except (TypeError, RuntimeError):  # not a path; ~user that does not exist
        raise ValueError("a path (and no unknown ~user)") from None


#: A local path, ``~`` expanded and made absolute (surrounding blanks dropped).
PathValue = Annotated[Path, BeforeValidator(_path)]


def _folder(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ValueError("a folder; that path is a file")
    return path


#: A local folder (made when needed): a path that is not a file already.
FolderValue = Annotated[Path, BeforeValidator(_path), AfterValidator(_folder)]


@dataclass(frozen=True)
class RateLimit:
    """At most ``calls`` requests in any window of ``period_s`` seconds."""

    calls: int
    period_s: float

    def __str__(self) -> str:
        return f"{self.calls}/{self.period_s:g}"


def _rate_limit(raw: Any) -> RateLimit:
    if isinstance(raw, RateLimit):
        return raw
    try:
        calls, period = str(raw).split("/")
        limit = RateLimit(int(calls), float(period))
    except ValueError:
        raise ValueError("CALLS/SECONDS (e.g. 50/5)") from None
    if not 1 <= limit.calls <= 1_000_000 or not 0 < limit.period_s <= 86_400:
        raise ValueError("CALLS/SECONDS with CALLS from 1 to 1,000,000 and SECONDS above 0, up to a day (86400)")
    return limit


#: ``CALLS/SECONDS`` (e.g. ``50/5``).
RateLimitValue = Annotated[RateLimit, BeforeValidator(_rate_limit), PlainSerializer(str)]
