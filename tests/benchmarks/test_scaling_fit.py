"""The scaling curve's maths: power-law fits and where summed or maxed curves cross a limit."""

from __future__ import annotations

import math

import pytest

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
