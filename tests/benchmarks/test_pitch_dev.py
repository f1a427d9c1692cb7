"""pitch_dev: basic-pitch's windowing and the pooled blocks, on generated signals and posteriorgrams."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from benchmarks.real_music.pitch_dev import (
    BLOCKS,
    FPS,
    HOP,
    OVERLAP_FRAMES,
    SR,
    WEIGHTS,
    WINDOW,
    _interval_classes,
    candidates,
    contour_stats,
    hidden_stats,
    key_normalised,
    note_stats,
    pitch_classes,
    posteriorgrams,
    scaled_block,
    unwrap,
    windows,
)

FRAMES = WINDOW // 256 + 1  # 172 frames a window, as the network returns them


def fake_run(w: np.ndarray) -> dict[str, np.ndarray]:
    """Each output frame holds the first input sample of its frame (the windows' content, to check the alignment)."""
    starts = np.arange(FRAMES) * 256
    first = w[:, np.minimum(starts, w.shape[1] - 1)]
    return {"t": first[:, :, None]}


def test_windows_unwrap_to_one_frame_per_hop_of_the_excerpt():
    y = np.arange(3 * SR, dtype=np.float32)  # a ramp: each sample names its own position
    w, n = windows(y)
    assert n == int(3 * SR * FPS / SR) and w.shape[1] == WINDOW
    assert w.shape[0] == -(-(y.size + OVERLAP_FRAMES * 128) // HOP)
    t = posteriorgrams(y, fake_run, batch=2)["t"][:, 0]
    assert t.shape == (n,)
    # the first window's kept frames start at the excerpt's first sample, one frame every 256 samples
    kept = FRAMES - OVERLAP_FRAMES
    np.testing.assert_array_equal(t[:kept], np.arange(kept) * 256.0)
    # every window contributes its kept frames in order
    np.testing.assert_array_equal(unwrap(np.arange(3 * FRAMES).reshape(3, FRAMES, 1), 3 * kept)[:, 0],
                                  np.concatenate([np.arange(15, FRAMES - 15) + k * FRAMES for k in range(3)]))


def test_pitch_classes_fold_the_keys_from_a0():
    keys = np.zeros(88)
    keys[48] = 1.0  # A4, MIDI 69
    keys[39] = 0.5  # C4, MIDI 60
    pcp = pitch_classes(keys)
    assert pcp.shape == (12,) and pcp[9] == 1.0 and pcp[0] == 0.5 and pcp.sum() == 1.5


def test_key_normalised_puts_the_tonic_first_whatever_the_transposition():
    scale = np.zeros(12)
    scale[[0, 2, 4, 5, 7, 9, 11]] = 1.0
    scale[[0, 7]] += 1.0  # tonic and dominant stressed
    scale /= scale.sum()
    c, mode_c, r_c = key_normalised(scale)
    g, mode_g, r_g = key_normalised(np.roll(scale, 7))
    np.testing.assert_allclose(c, g)
    np.testing.assert_allclose(c, scale)
    assert mode_c == mode_g == 1.0 and r_c == pytest.approx(r_g) and r_c > 0.8
    flat, mode, clarity = key_normalised(np.full(12, 1 / 12))
    assert clarity == 0.0 and np.allclose(flat, 1 / 12)


def test_interval_classes_of_a_fifth():
    frames = np.zeros((5, 12))
    frames[:, [0, 7]] = 1.0  # C and G together: interval class 5
    ic = _interval_classes(frames, frames)
    assert ic[5] > 0 and ic[0] > 0 and ic[[1, 2, 3, 4, 6]].sum() == 0


def test_note_stats_of_a_held_note():
    note, onset = np.zeros((200, 88)), np.zeros((200, 88))
    note[:, 48] = 0.9
    onset[10, 48] = 0.8
    v = note_stats(note, onset)
    assert v.shape == (35,) and np.isfinite(v).all()
    mean, sd, p5, p95, poly_mean, poly_sd, voiced, onsets = v[14:22]
    assert (mean, sd, p5, p95) == pytest.approx((69.0, 0.0, 69.0, 69.0))
    assert (poly_mean, poly_sd, voiced) == pytest.approx((1.0, 0.0, 1.0))
    assert onsets == pytest.approx(1 / (200 / FPS))
    assert not v[22:28].any()  # harmonic: no two pitch classes at once
    assert v[28] == pytest.approx(1.0) and not v[29:].any()  # melodic: the note repeats (interval class 0)
    silent = note_stats(np.zeros((50, 88)), np.zeros((50, 88)))
    assert silent.shape == (35,) and np.isfinite(silent).all()


def test_pooled_block_shapes():
    rng = np.random.default_rng(0)
    assert contour_stats(rng.random((30, 264))).shape == (528,)
    assert hidden_stats(rng.random((30, 32)), rng.random((30, 32))).shape == (128,)


def test_scaled_block_drops_constant_columns_and_has_unit_squared_norm():
    rng = np.random.default_rng(1)
    v = np.concatenate([rng.normal(size=(20, 6)), np.ones((20, 1))], axis=1)
    z = scaled_block(v)
    assert z.shape == (20, 6)
    assert np.mean((z ** 2).sum(axis=1)) == pytest.approx(1.0, rel=0.02)


def test_candidates_are_the_family_and_each_block_at_each_weight():
    from musim.models.families.descriptors import BLOCKS as FAMILY

    rng = np.random.default_rng(2)
    family = {b: rng.normal(size=(8, 3)) for b in FAMILY}
    pitch = {b: rng.normal(size=(8, 4)) for b in BLOCKS}
    c = candidates(family, pitch)
    assert len(c) == 1 + len(BLOCKS) * len(WEIGHTS) <= 10
    first = next(iter(c.values()))
    assert not np.allclose(first, c["notes w 1"])
    # more weight on a block: closer to that block's own similarity
    own = pitch["hidden"] / np.linalg.norm(pitch["hidden"], axis=1, keepdims=True)
    gaps = [np.abs(c[f"hidden w {w:g}"] - own @ own.T).sum() for w in WEIGHTS]
    assert gaps == sorted(gaps, reverse=True)


@pytest.mark.skipif(importlib.util.find_spec("basic_pitch") is None, reason="basic-pitch (the bench extra) is absent")
def test_the_network_hears_a_pure_tone_at_its_pitch():
    from benchmarks.real_music.pitch_dev import tflite_runner, track_vectors

    y = (0.5 * np.sin(2 * np.pi * 440.0 * np.arange(int(2.5 * SR)) / SR)).astype(np.float32)
    run = tflite_runner(threads=1)
    g = posteriorgrams(y, run)
    n = int(y.size * FPS / SR)
    assert g["note"].shape == (n, 88) and g["contour"].shape == (n, 264) and g["hidden_mean"].shape == (n, 32)
    assert int(np.argmax(pitch_classes(g["note"].sum(axis=0)))) == 9  # A
    assert int(np.argmax(g["note"].sum(axis=0))) == 48  # A4: MIDI 69
    assert abs(int(np.argmax(g["contour"].mean(axis=0))) - 3 * 48 - 1) <= 1  # the contour's bin of 440 Hz
    v = track_vectors(y, run)
    assert {k: x.shape for k, x in v.items()} == {"contour": (528,), "notes": (35,), "hidden": (128,)}
    assert all(np.isfinite(x).all() for x in v.values())
    assert v["notes"][14] == pytest.approx(69.0, abs=1.0)
