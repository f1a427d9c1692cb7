"""Entity ids as the feature store keys them: one rule for every way an id comes in.

Values are stored and looked up by a string key: an artist id's decimal digits (``"42"``), a track id as
it is. Ids reach the store from Python ints, NumPy integers, pandas columns (a column with a missing id is
float64, so artist 42 arrives as ``42.0``) and strings, so each is turned into that key here, once:
``42``, ``np.int32(42)``, ``42.0`` and ``"42"`` are all artist ``"42"``. A missing id (None, NaN, pandas'
NA) is no key; anything else that cannot be an id of the entity (``42.5``, ``True``, a track id given as a
number) is refused with a :class:`ParameterError` naming it, where it would otherwise match nothing.
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from musim.errors import ParameterError

#: How far a caller's clock may run ahead of this one (a stamp later than now + this is refused).
CLOCK_SKEW = dt.timedelta(minutes=5)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pandas.NA and NaT are not equal to themselves
    except TypeError:  # pandas.NA's comparison is NA, whose truth is ambiguous
        return True


def entity_key(value: Any, integer: bool | None = None, *, what: str = "entity id") -> str | None:
    """The store's key of one id, or None for a missing one.

    ``integer``: True for an entity keyed by an integer (artists), False for one keyed by a string
    (tracks), None when the caller does not know (the online store: both kinds of keys).
    """
    if type(value) is int and integer is not False:  # the common case, first: a lookup's hot path
        return str(value)
    if isinstance(value, bytes):
        raise ParameterError(f"{what} {value!r} is bytes; give it as text")
    if isinstance(value, str):
        if integer:
            text = value.strip()
            digits = text.removeprefix("-")  # ASCII digits only: "²" passed isdigit() and int() refused it
            if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
                raise ParameterError(f"{what} {value!r} is not a whole number (artist ids are integers)")
            return str(int(text))
        return value
    if _missing(value):
        return None
    if isinstance(value, bool) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "b"):
        raise ParameterError(f"{what} {value!r} is true/false, not an id")
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        number = int(value)
    elif isinstance(value, numbers.Real):
        raise ParameterError(f"{what} {value!r} is not a whole number (artist ids are integers)")
    else:
        raise ParameterError(f"{what} {value!r} is a {type(value).__name__}, not an id")
    if integer is False:
        raise ParameterError(f"{what} {value!r} is a number; track ids are strings")
    return str(number)


def entity_keys(values: Iterable[Any], integer: bool | None = None, *, what: str = "entity_ids") -> list[str | None]:
    """:func:`entity_key` of each id of a sequence; a bare string or a mapping is refused (it is one id, or
    a table that belongs in a DataFrame, not a list of ids)."""
    if isinstance(values, (str, bytes)):
        raise ParameterError(f"{what} must be a list of ids, got one string {values!r}: wrap it in a list")
    if isinstance(values, Mapping):
        raise ParameterError(f"{what} must be a list of ids, got a mapping: pass a pandas.DataFrame for columns")
    if not isinstance(values, Iterable):
        raise ParameterError(f"{what} must be a list of ids, got {type(values).__name__}")
    return [entity_key(v, integer, what=f"{what}: the id") for v in values]


def not_in_future(moment: dt.datetime, what: str) -> dt.datetime:
    """``moment`` (aware), unless it is later than now (beyond :data:`CLOCK_SKEW`): :class:`ParameterError`."""
    now = dt.datetime.now(dt.UTC)
    if moment > now + CLOCK_SKEW:
        raise ParameterError(f"{what} {moment.isoformat()} is in the future (now {now.isoformat(timespec='seconds')}): "
                             "give a past moment, or none for now")
    return moment
