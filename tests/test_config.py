"""The one integer-variable reader of the settings: defaults, bounds, one-line errors naming the variable."""

from __future__ import annotations

import pytest

from musim.config import env_int, get_settings
from musim.errors import ConfigError
from musim.models.ann import min_tracks


def test_env_int_defaults_bounds_and_errors():
    assert env_int({}, "X", 7) == 7 and env_int({"X": ""}, "X", 7) == 7 and env_int({"X": "3"}, "X", 7) == 3
    assert env_int({"X": "0"}, "X", 7, minimum=0) == 0
    with pytest.raises(ConfigError, match="X must be a positive integer, got '0'"):
        env_int({"X": "0"}, "X", 7)
    with pytest.raises(ConfigError, match="MUSIM_DUCKDB_THREADS must be a positive integer, got 'two'"):
        get_settings({"MUSIM_DUCKDB_THREADS": "two"})
    with pytest.raises(ConfigError, match="MUSIM_ANN_MIN_TRACKS must be a non-negative integer"):
        min_tracks({"MUSIM_ANN_MIN_TRACKS": "-1"})
    assert get_settings({"MUSIM_PROMOTION_MIN_QUERIES": "4"}).promotion_min_queries == 4
