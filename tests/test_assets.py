"""The checks of a run's params that need no Airflow."""

from __future__ import annotations

import math

from musim.assets import non_finite


def test_non_finite_names_the_first_nan_or_infinity_anywhere_in_a_param():
    assert non_finite({"k": 10, "dump_id": "nan", "hparams": {"conv_filters": [8, 16]}, "force": True}) is None
    assert non_finite({"k": 10, "test_share": math.nan}).startswith("the test_share param holds nan, which is no number")
    said = non_finite({"hparams": {"a.b": [1, {"lr": -math.inf}]}})
    assert said.startswith("the hparams param holds 'a.b.1.lr' = -inf, which is no number: give a finite one")
