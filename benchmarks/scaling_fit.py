"""Growth exponents and where a curve crosses a limit (the maths of ``bench_scaling``).

A step that costs ``y`` at dump size ``x`` is fitted as a power law ``y = a * x**b`` by least squares on
``log y`` against ``log x``; ``b`` is the growth exponent (1: linear, 2: quadratic). Several steps that run
one after the other add up (their times); steps whose peaks do not overlap combine by their maximum (their
memory). :func:`crossing` finds the smallest size at which such a combined curve reaches a limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: The sizes :func:`crossing` searches, in lines of a dump: 1 to 10^15.
LOG10_LO, LOG10_HI = 0.0, 15.0


@dataclass(frozen=True)
class PowerFit:
    """``y = coefficient * x ** exponent``, fitted on ``points`` measurements with ``r2`` in log space."""

    coefficient: float
    exponent: float
    r2: float
    points: int

    def at(self, x: float) -> float:
        return self.coefficient * x ** self.exponent


def fit_power(xs: Sequence[float], ys: Sequence[float]) -> PowerFit:
    """Least-squares fit of ``log y = log a + b log x``; needs two or more distinct positive ``x``."""
    if len(xs) != len(ys):
        raise ValueError(f"fit_power: {len(xs)} sizes but {len(ys)} values")
    if any(not (x > 0 and y > 0) for x, y in zip(xs, ys, strict=True)):
        raise ValueError("fit_power: sizes and values must be positive")
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True)]
    if len({lx for lx, _ in pts}) < 2:
        raise ValueError("fit_power: needs measurements at two or more different sizes")
    n = len(pts)
    mx = sum(lx for lx, _ in pts) / n
    my = sum(ly for _, ly in pts) / n
    sxx = sum((lx - mx) ** 2 for lx, _ in pts)
    sxy = sum((lx - mx) * (ly - my) for lx, ly in pts)
    b = sxy / sxx
    a = my - b * mx
    ss_tot = sum((ly - my) ** 2 for _, ly in pts)
    ss_res = sum((ly - (a + b * lx)) ** 2 for lx, ly in pts)
    r2 = 1.0 if ss_tot == 0 else 1.0 - ss_res / ss_tot
    return PowerFit(coefficient=math.exp(a), exponent=b, r2=r2, points=n)


def sum_of(fits: Sequence[PowerFit]) -> Callable[[float], float]:
    """The curve of steps run one after the other (their times add up)."""
    return lambda x: sum(f.at(x) for f in fits)


def max_of(fits: Sequence[PowerFit]) -> Callable[[float], float]:
    """The curve of steps run one at a time (the peak memory is the largest step's)."""
    return lambda x: max(f.at(x) for f in fits)


def crossing(curve: Callable[[float], float], limit: float, *, grid: int = 1500, tol: float = 1e-9) -> float:
    """The smallest size ``x`` in [1, 10^15] where ``curve(x) >= limit``; ``math.inf`` if it never does.

    A log-spaced grid brackets the first crossing, bisection (in log x) narrows it; ``curve`` need not be
    monotone (a fitted exponent may be negative), only continuous.
    """
    step = (LOG10_HI - LOG10_LO) / grid
    prev = LOG10_LO
    if curve(10.0 ** prev) >= limit:
        return 10.0 ** prev
    for i in range(1, grid + 1):
        cur = LOG10_LO + i * step
        if curve(10.0 ** cur) >= limit:
            lo, hi = prev, cur
            while hi - lo > tol:
                mid = (lo + hi) / 2
                lo, hi = (lo, mid) if curve(10.0 ** mid) >= limit else (mid, hi)
            return 10.0 ** hi
        prev = cur
    return math.inf
