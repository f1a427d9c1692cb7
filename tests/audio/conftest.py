"""Small generated signals and encoded files for the audio tests."""

from __future__ import annotations

import numpy as np
import pytest

SR = 22050


def sine(freq: float, seconds: float, *, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def click_track(bpm: float, seconds: float, *, sr: int = SR) -> np.ndarray:
    """Short decaying 1 kHz clicks every beat."""
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    click = sine(1000.0, 0.03, sr=sr, amp=0.9)
    click *= np.exp(-np.arange(click.size) / (0.005 * sr)).astype(np.float32)
    period = 60.0 / bpm
    for k in range(int(seconds / period)):
        i = int(round(k * period * sr))
        y[i:i + click.size] += click[: y.size - i]
    return y


@pytest.fixture(scope="session")
def music_clip() -> np.ndarray:
    """A 30-second clip with pitch, noise and rhythm (sine notes + noise bursts), 22050 Hz."""
    rng = np.random.default_rng(7)
    t = np.arange(30 * SR) / SR
    notes = 220.0 * 2 ** (rng.integers(0, 12, size=60) / 12)
    f = notes[(t // 0.5).astype(int)]
    y = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-(t % 0.5) * 4)
    y += 0.05 * rng.standard_normal(t.size) * np.exp(-(t % 0.25) * 20)
    return y.astype(np.float32)
