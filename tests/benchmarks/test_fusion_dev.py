"""fusion_dev: the fused similarity is the sum its docstring says, and tracks are matched by path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.real_music.fusion_dev import fused_similarity, rows_of


def test_fused_similarity_is_the_dot_product_of_the_unit_vectors_side_by_side():
    rng = np.random.default_rng(0)
    family, emb = rng.normal(size=(7, 5)), rng.normal(size=(7, 3))
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    for w in (0.0, 0.25, 1.0):
        side = np.concatenate([unit(family), np.sqrt(w) * unit(emb)], axis=1)
        np.testing.assert_allclose(fused_similarity(family, emb, w), side @ side.T)
    np.testing.assert_allclose(fused_similarity(family, emb, 0.0), unit(family) @ unit(family).T)


def test_rows_of_finds_each_path_among_the_decoded_tracks():
    among = [Path("/c/a.ogg"), Path("/c/b.ogg"), Path("/c/d.ogg")]
    assert rows_of([Path("/c/d.ogg"), Path("/c/a.ogg")], among).tolist() == [2, 0]
