"""The checks of a run's params that need no Airflow."""

from __future__ import annotations

import math
import re

import pytest

from musim.assets import FOLDER_OR_PREFIX_PATTERN, FOLDER_PATTERN, expand_folder, non_finite, refuse_relative
from musim.errors import ParameterError


def test_non_finite_names_the_first_nan_or_infinity_anywhere_in_a_param():
    assert non_finite({"k": 10, "dump_id": "nan", "hparams": {"conv_filters": [8, 16]}, "force": True}) is None
    assert non_finite({"k": 10, "test_share": math.nan}).startswith("the test_share param holds nan, which is no number")
    said = non_finite({"hparams": {"a.b": [1, {"lr": -math.inf}]}})
    assert said.startswith("the hparams param holds 'a.b.1.lr' = -inf, which is no number: give a finite one")


def test_a_relative_folder_param_is_refused_naming_it_and_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    for value in ("music", "./music", "../music", "~no-such-user-of-musim/music"):
        with pytest.raises(ParameterError, match=rf"^the folder param '{re.escape(value)}' is a relative path, which "
                                                 "each worker would read from its own working folder: give an "
                                                 "absolute path; nothing was done, trigger it again$"):
            refuse_relative(value, "folder", "an absolute path")
    for value in (None, "/srv/music", "~/music", "~", "s3://bucket/music", "file:///srv/music"):
        refuse_relative(value, "folder", "an absolute path")  # taken
    assert expand_folder("~/music") == str(tmp_path / "music") and expand_folder("/srv/m") == "/srv/m"
    assert expand_folder("s3://b/~x") == "s3://b/~x" and expand_folder(None) is None
    # the schemas refuse what they can tell at trigger: a relative path (a `~user` is left to the task)
    assert [bool(re.search(FOLDER_PATTERN, v)) for v in ("/m", "~/m", "m", "./m", "s3://b/p")] == [
        True, True, False, False, False]
    assert [bool(re.search(FOLDER_OR_PREFIX_PATTERN, v)) for v in ("/m", "~/m", "m", "s3://b/p", "file:///m", "gs://b")
            ] == [True, True, False, True, True, False]
