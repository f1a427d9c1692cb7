"""Great Expectations' import: the modules it loads and musim never uses are deferred, safely and transparently."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import textwrap
import threading

import pytest

from musim.quality.gx import DeferredModule, defer


@pytest.fixture
def slow_module(tmp_path, monkeypatch):
    """A module that takes 0.2 s to import and counts its imports in a file."""
    count = tmp_path / "imports.txt"
    (tmp_path / "musim_slow_module.py").write_text(textwrap.dedent(f"""
        import time
        with open({str(count)!r}, "a") as f:
            f.write("x")
        time.sleep(0.2)
        VALUE = 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "musim_slow_module", count
    sys.modules.pop("musim_slow_module", None)


def test_a_deferred_module_is_imported_once_on_the_first_read_even_from_many_threads(slow_module):
    name, count = slow_module
    assert defer((name,)) == [name]
    stand_in = sys.modules[name]
    assert isinstance(stand_in, DeferredModule) and not count.exists()  # nothing imported yet

    seen, start = [], threading.Barrier(8)

    def read():
        start.wait()
        seen.append(importlib.import_module(name).VALUE)  # the stand-in, read at the same moment by all

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [42] * 8
    assert count.read_text() == "x"  # imported once
    real = sys.modules[name]
    assert not isinstance(real, DeferredModule) and real.VALUE == 42
    assert stand_in.VALUE == 42 and "VALUE" in dir(stand_in)  # holders of the stand-in read the real module


def test_find_spec_of_a_deferred_module_answers_without_importing_it(slow_module):
    """``importlib.util.find_spec(name)`` (the usual "is it installed?") raised ValueError ("__spec__ is None") for
    every module GX's import had deferred (altair, scipy.stats, jsonschema)."""
    name, count = slow_module
    assert defer((name,)) == [name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.name == name and spec.origin.endswith("musim_slow_module.py")
    assert isinstance(sys.modules[name], DeferredModule) and not count.exists()  # still not imported
    assert importlib.import_module(name).VALUE == 42


def test_defer_leaves_imported_and_missing_modules_alone(slow_module):
    name, _ = slow_module
    importlib.import_module(name)
    assert defer((name, "musim_no_such_module")) == []
    assert not isinstance(sys.modules[name], DeferredModule)
    assert "musim_no_such_module" not in sys.modules


def test_gx_imports_without_scipy_stats_altair_and_jsonschema_and_its_uses_of_them_still_work():
    """In a fresh process, as the CLI imports it: the KL-divergence expectation's and the JSON-schema metric's
    modules hold stand-ins, and reading them imports the real modules (the same function, the same value)."""
    code = textwrap.dedent("""
        import sys
        from musim.quality.gx import DeferredModule, import_gx
        import_gx()
        assert isinstance(sys.modules["scipy.stats"], DeferredModule), type(sys.modules["scipy.stats"])
        assert isinstance(sys.modules["altair"], DeferredModule)
        assert isinstance(sys.modules["jsonschema"], DeferredModule)
        from great_expectations.expectations.metrics.column_map_metrics import column_values_match_json_schema as js
        js.jsonschema.validate({"a": 1}, {"type": "object"})
        try:
            js.jsonschema.validate([1], {"type": "object"})
            raise AssertionError("a list is no object")
        except js.jsonschema.ValidationError:
            pass
        import jsonschema
        assert not isinstance(jsonschema, DeferredModule) and js.jsonschema.ValidationError is jsonschema.ValidationError
        from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
        value = kl.stats.entropy([0.5, 0.5], [0.9, 0.1])
        import scipy.stats
        assert not isinstance(scipy.stats, DeferredModule)
        assert value == scipy.stats.entropy([0.5, 0.5], [0.9, 0.1]) > 0
        assert kl.alt.Chart is sys.modules["altair"].Chart  # (altair imports jsonschema: read first, above)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_observed_values_with_an_infinity_stay_a_list():
    """A failure's observed values were written as the text "[inf]" (a str where a list is promised) as soon as one
    of them was not finite: reports and the tests reading them broke."""
    import math

    import numpy as np

    from musim.quality.gx import jsonable

    assert jsonable([math.inf, 1.0, (2, np.float64("nan"))]) == ["inf", 1.0, [2, "nan"]]
    assert jsonable({"x": [-math.inf], "y": 3}) == {"x": ["-inf"], "y": 3}
    assert jsonable([0.5, "a"]) == [0.5, "a"]
