"""Entity ids as the store keys them: every way an id arrives gives the same key, or one clear refusal."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from musim.errors import ParameterError
from musim.features.keys import CLOCK_SKEW, entity_key, entity_keys, not_in_future


def test_an_artist_id_from_python_numpy_pandas_or_text_is_one_key():
    column = pd.Series([1, 2, None])  # a missing id makes the column float64: 1.0, 2.0, NaN
    assert column.dtype == np.float64
    assert entity_keys(column, True) == ["1", "2", None]
    assert entity_keys([42, np.int32(42), 42.0, np.float64(42.0), "42", " 042 "], True) == ["42"] * 6
    assert entity_keys([None, float("nan"), pd.NA, np.nan], True) == [None] * 4


@pytest.mark.parametrize(("value", "integer", "why"), [
    (42.5, True, "not a whole number"), ("forty-two", True, "not a whole number"), (True, True, "true/false"),
    (np.bool_(False), None, "true/false"), (7, False, "track ids are strings"), (b"ab", None, "bytes"),
    (object(), None, "not an id"), ("\u00b2", True, "not a whole number"), ("--5", True, "not a whole number"),
    ("9" * 5000, True, "not a whole number"),
])
def test_what_cannot_be_an_id_is_refused_by_name(value, integer, why):
    with pytest.raises(ParameterError, match=rf"^artist_id.*{why}"):
        entity_key(value, integer, what="artist_id")


@pytest.mark.parametrize("ids", ["ab", b"ab", {"artist_id": [1]}, 5])
def test_one_string_a_mapping_or_a_number_is_no_list_of_ids(ids):
    """A bare string was split into its characters (one lookup per letter); a dict gave its keys."""
    with pytest.raises(ParameterError, match="must be a list of ids"):
        entity_keys(ids)


def test_a_track_id_stays_as_it_is():
    assert entity_keys(["a1t1", "x y"], False) == ["a1t1", "x y"]
    assert entity_keys(["a1t1", 3], None) == ["a1t1", "3"]  # the online store keys both kinds


def test_a_moment_in_the_future_is_refused_beyond_the_clock_skew():
    now = dt.datetime.now(dt.UTC)
    assert not_in_future(now + CLOCK_SKEW / 2, "created_at") == now + CLOCK_SKEW / 2
    with pytest.raises(ParameterError, match=r"^created_at 2100-01-01T00:00:00\+00:00 is in the future"):
        not_in_future(dt.datetime(2100, 1, 1, tzinfo=dt.UTC), "created_at")
