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
