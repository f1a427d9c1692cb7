"""The analysis window of a longer recording: the one rule the library, the acquisition of local files, the
feature store, new-audio queries and label evaluation all use to pick the 30 seconds they analyse."""

from __future__ import annotations

from typing import Literal

from musim.errors import ParameterError

__all__ = ["excerpt_window"]


def excerpt_window(
    duration_s: float,
    *,
    length_s: float = 30.0,
    anchor: Literal["start", "middle", "end"] | float = "middle",
) -> tuple[float, float]:
    """Pick the analysis window of a whole track.

    Parameters
    ----------
    duration_s : float
        Length of the track in seconds (> 0).
    length_s : float
        Wanted window length in seconds (> 0); the whole track when it is shorter.
    anchor : {"start", "middle", "end"} or float
        Where the window sits: a named position, or a fraction in [0, 1] of the free room before it
        (0 = start, 0.5 = middle, 1 = end).

    Returns
    -------
    (offset_s, window_s) : tuple of float
        Start of the window and its length, both in seconds.
    """
    if not duration_s > 0 or not length_s > 0:
        raise ParameterError(f"excerpt_window needs duration_s > 0 and length_s > 0, got {duration_s}, {length_s}")
    fraction = {"start": 0.0, "middle": 0.5, "end": 1.0}.get(anchor) if isinstance(anchor, str) else anchor
    if fraction is None or not 0.0 <= float(fraction) <= 1.0:
        raise ParameterError(f"anchor must be 'start', 'middle', 'end' or a fraction in [0, 1], got {anchor!r}")
    window = min(float(length_s), float(duration_s))
    return round((duration_s - window) * float(fraction), 3), round(window, 3)
