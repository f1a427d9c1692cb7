"""expansion_dev: database-side augmentation of a collection's vectors, on hand-computed examples."""

from __future__ import annotations

import numpy as np

from benchmarks.real_music.expansion_dev import CANDIDATES, augmented
from musim.models.label_eval import cosine_similarity


def test_k_0_is_the_collection_as_it_is() -> None:
    x = np.array([[3.0, 4.0], [0.0, 2.0]])
    np.testing.assert_allclose(augmented(x, 0, 0.0), [[0.6, 0.8], [0.0, 1.0]])


def test_each_vector_moves_to_the_mean_of_itself_and_its_nearest_other_vector() -> None:
    x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])  # row 0's nearest other row is 1; row 2's is 1; row 1's: 0
    out = augmented(x, 1, 0.0)
    want = np.array([x[0] + x[1], x[1] + x[0], x[2] + x[1]])
    np.testing.assert_allclose(out, want / np.linalg.norm(want, axis=1, keepdims=True))


def test_alpha_weights_neighbours_by_their_cosine_and_drops_opposite_ones() -> None:
    x = np.array([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])
    out = augmented(x, 2, 3.0)  # row 0: neighbours 1 (cos 0.6) and 2 (cos -1, weight 0)
    want = x[0] + 0.6 ** 3 * x[1]
    np.testing.assert_allclose(out[0], want / np.linalg.norm(want))


def test_augmentation_pulls_a_noisy_cluster_together() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16))
    x = np.repeat(centres, 5, axis=0) + rng.normal(scale=1.2, size=(20, 16))
    label = np.repeat(np.arange(4), 5)
    same = label[:, None] == label[None, :]
    off = ~np.eye(20, dtype=bool)

    def gap(v: np.ndarray) -> float:
        s = cosine_similarity(v)
        return float(s[same & off].mean() - s[~same].mean())

    assert gap(augmented(x, 3, 0.0)) > gap(augmented(x, 0, 0.0))


def test_the_candidates_hold_the_family_as_adopted_once() -> None:
    assert CANDIDATES[0] == (0, 0.0) and [k for k, _ in CANDIDATES].count(0) == 1 and len(set(CANDIDATES)) == 11
