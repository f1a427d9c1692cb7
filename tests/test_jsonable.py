"""musim.jsonable: values as strict JSON holds them."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

from musim.jsonable import json_safe, plain


def test_plain_writes_what_a_duckdb_row_holds_as_json():
    when = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
    row = {"at": when, "day": dt.date(2026, 1, 2), "blob": b"\x00\x01\x02", "id": uuid.UUID(int=1),
           "price": decimal.Decimal("1.50"), "nan": float("nan"), "xs": (1, float("inf")), 3: {"n": None}}
    out = plain(row)
    assert out == {"at": "2026-11-21T12:00:00+00:00", "day": "2026-01-02", "blob": "<3 bytes>",
                   "id": "00000000-0000-0000-0000-000000000001", "price": "1.50", "nan": None, "xs": [1, None],
                   "3": {"n": None}}
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert json_safe({"x": (1.0, float("-inf"))}) == {"x": [1.0, None]}


def test_dict_keys_are_json_safe_as_values_are():
    """A NaN or infinite key made `json.dumps(..., allow_nan=False)` raise ValueError, and a date, decimal, UUID or
    bytes key TypeError (`musim sql --json` on a MAP exited 1): keys are written as such values are."""
    from musim.jsonable import exact_floats

    keyed = {float("nan"): 1, float("inf"): 2, float("-inf"): 3, 1.5: 4, dt.date(2026, 1, 2): 5,
             decimal.Decimal("2.5"): 6, uuid.UUID(int=1): 7, b"k": 8, True: 9, None: 10, "s": {float("nan"): 11}}
    for safe in (json_safe, exact_floats):
        text = json.dumps(safe(keyed), allow_nan=False, default=str)
        assert json.loads(text) == {"NaN": 1, "Infinity": 2, "-Infinity": 3, "1.5": 4, "2026-01-02": 5, "2.5": 6,
                                    "00000000-0000-0000-0000-000000000001": 7, "b'k'": 8, "true": 9, "null": 10,
                                    "s": {"NaN": 11}}
