"""The scaling curve's maths: power-law fits, where summed or maxed curves cross a limit, what the
benchmark reports as the size where one machine stops (extrapolated, or measured where a step ran out),
and how a step that runs out of memory or time is recorded instead of stopping the benchmark."""

from __future__ import annotations

import math
import os
import sys

import pytest

from benchmarks.bench_scaling import STEPS, limits, run_step
from benchmarks.scaling_fit import crossing, fit_power, max_of, sum_of


def test_fit_recovers_an_exact_power_law():
    xs = [4e6, 8e6, 16e6, 32e6]
    f = fit_power(xs, [3e-5 * x ** 1.3 for x in xs])
    assert f.exponent == pytest.approx(1.3, rel=1e-9) and f.coefficient == pytest.approx(3e-5, rel=1e-6)
    assert f.r2 == pytest.approx(1.0) and f.points == 4
    assert f.at(64e6) == pytest.approx(3e-5 * 64e6 ** 1.3, rel=1e-6)


def test_fit_of_noisy_points_is_least_squares_in_log_space():
    f = fit_power([1, 2, 4], [1.0, 2.0 * 1.1, 4.0])  # the middle point 10% high
    assert 0.9 < f.exponent < 1.1 and f.r2 < 1.0
    # the residuals in log space sum to zero (the line passes through the mean point)
    resid = [math.log(y) - math.log(f.at(x)) for x, y in ((1, 1.0), (2, 2.2), (4, 4.0))]
    assert sum(resid) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("xs", "ys", "message"), [
    ([1e6], [10.0], "two or more different sizes"),
    ([1e6, 1e6], [10.0, 12.0], "two or more different sizes"),
    ([1e6, 2e6], [10.0, 0.0], "positive"),
    ([1e6, 2e6], [10.0], "2 sizes but 1 values"),
])
def test_fit_needs_two_sizes_and_positive_values(xs, ys, message):
    with pytest.raises(ValueError, match=message):
        fit_power(xs, ys)


def test_crossing_of_one_law_matches_the_closed_form():
    f = fit_power([1e6, 1e7], [10.0, 10.0 * 10 ** 1.5])
    x = crossing(f.at, 7200.0)
    assert x == pytest.approx((7200.0 / f.coefficient) ** (1 / f.exponent), rel=1e-6)


def test_crossing_of_a_sum_is_where_the_total_reaches_the_budget():
    fits = [fit_power([1, 10], [1.0, 10.0]), fit_power([1, 10], [2.0, 200.0])]  # x and 2 x^2
    total = sum_of(fits)
    x = crossing(total, 1000.0)
    assert x == pytest.approx((-1 + math.sqrt(1 + 8000)) / 4, rel=1e-6)  # 2x^2 + x = 1000
    assert total(x * (1 - 1e-6)) < 1000.0 <= total(x * (1 + 1e-9))
    assert x < min(crossing(f.at, 1000.0) for f in fits)  # the sum stops earlier than any one step


def test_crossing_of_a_max_is_the_first_step_to_reach_the_limit():
    fits = [fit_power([1, 10], [5.0, 50.0]), fit_power([1, 10], [1.0, 100.0])]
    assert crossing(max_of(fits), 1e4) == pytest.approx(min(crossing(f.at, 1e4) for f in fits), rel=1e-6)


def test_a_curve_that_never_reaches_the_limit_crosses_at_infinity():
    shrinking = fit_power([1e6, 2e6], [10.0, 9.0])
    assert crossing(shrinking.at, 1e6) == math.inf
    assert crossing(shrinking.at, 1.0) < 1e15  # but a low limit is reached


def _size(lines: int, *, fail: tuple[str, str] | None = None) -> dict:
    """A measured size whose step s costs (i+1) * lines^1 seconds and (i+1) * 1e-4 * lines MiB."""
    steps = {}
    for i, step in enumerate(STEPS):
        steps[step] = {"status": "ok", "wall_s": (i + 1) * lines * 1e-6, "peak_rss_mib": (i + 1) * 1e-4 * lines,
                       "cpu_s": (i + 1) * lines * 1.5e-6}
        if fail and fail[0] == step:
            steps[step]["status"] = fail[1]
            break
    return {"scale": lines / 1e6, "lines": lines, "steps": steps}


def test_limits_extrapolate_time_and_memory_from_the_fits():
    lim = limits([_size(1_000_000), _size(2_000_000), _size(4_000_000)], ram_mib=24 * 1024, budget_s=7200, cores=2)
    assert lim["time_lines"] == pytest.approx(7200 / (10 * 1e-6), rel=1e-6)  # sum of 1..4 = 10 per line
    assert lim["cpu_lines"] == pytest.approx(2 * 7200 / (10 * 1.5e-6), rel=1e-6)  # 2 cores busy the whole window
    assert lim["ram_lines"] == pytest.approx(24 * 1024 / (4e-4), rel=1e-6) and lim["ram_step"] == "publish"
    assert lim["ram_measured"] is None and lim["time_measured"] is None


def test_a_step_out_of_memory_is_the_measured_answer():
    sizes = [_size(1_000_000), _size(2_000_000), _size(4_000_000, fail=("quality", "oom"))]
    lim = limits(sizes, ram_mib=24 * 1024, budget_s=7200, cores=2)
    assert lim["ram_lines"] == 4_000_000 and lim["ram_measured"] == (4_000_000, "quality")
    # the failed size is left out of the fits of the steps that did not succeed there
    assert lim["rss_fits"]["quality"].points == 2 and lim["rss_fits"]["ingest"].points == 3
    assert "publish" in lim["rss_fits"]  # still fitted on the sizes where it ran


def test_a_step_past_the_budget_is_the_measured_time_limit():
    lim = limits([_size(1_000_000), _size(2_000_000, fail=("build", "timeout"))], ram_mib=24 * 1024, budget_s=7200,
                 cores=2)
    assert lim["time_measured"] == (2_000_000, "build") and lim["time_lines"] == lim["cpu_lines"] == 2_000_000
    assert lim["wall_fits"].keys() == {"ingest"}  # one size is not a fit: nothing extrapolated but ingest


@pytest.mark.parametrize(("code", "status"), [
    ("print('{\"loaded\": 3}')", "ok"),
    ("raise MemoryError", "oom"),  # an allocation error in stderr
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "oom"),  # what the kernel's OOM killer does
    ("raise SystemExit('musim: error: no such dump')", "failed"),
    ("import time; time.sleep(30)", "timeout"),
])
def test_a_step_is_recorded_with_its_status_and_never_raises(tmp_path, code, status):
    res = run_step([sys.executable, "-c", code], env=dict(os.environ), timeout=2 if status == "timeout" else 120,
                   logs=tmp_path)
    assert res["status"] == status
    assert res["wall_s"] > 0 and (status == "timeout" or res["peak_rss_mib"] > 0)
    assert res["output"] == ({"loaded": 3} if status == "ok" else {})
    if status == "failed":
        assert res["error"] == "musim: error: no such dump" and res["rc"] == 1
