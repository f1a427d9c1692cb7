"""scaling_dev: the column scalings' arithmetic, and the adopted one equal to the family vector the other scripts use."""

from __future__ import annotations

import numpy as np

from benchmarks.real_music.scaling_dev import (
    CLIP,
    SCALINGS,
    clipped_z,
    family_vector,
    robust_z,
    signed_sqrt_z,
    z_score,
)


def _desc(n: int = 40) -> np.ndarray:
    from musim.audio import DESCRIPTOR_NAMES

    rng = np.random.default_rng(0)
    d = rng.lognormal(size=(n, len(DESCRIPTOR_NAMES)))
    d[:, 3] = 7.0  # a constant column
    return d


def test_the_adopted_scaling_comes_first_and_gives_the_family_vector_of_the_other_scripts() -> None:
    from benchmarks.real_music.fusion_dev import family_vector as adopted
    from musim.audio import DESCRIPTOR_NAMES

    assert next(iter(SCALINGS.values())) is z_score and len(SCALINGS) == 4
    d, names = _desc(), list(DESCRIPTOR_NAMES)
    np.testing.assert_allclose(family_vector(z_score(d), names), adopted({"desc": d}, names), rtol=1e-5, atol=1e-6)


def test_robust_z_is_median_and_mad_by_hand_and_falls_back_to_the_sd_where_the_mad_is_0() -> None:
    d = np.array([[1.0, 0.0, 5.0], [2.0, 0.0, 5.0], [4.0, 0.0, 5.0], [10.0, 3.0, 5.0], [3.0, 0.0, 5.0]])
    got = robust_z(d)
    # column 0: median 3, |d - 3| = 2 1 1 7 0 -> MAD 1
    np.testing.assert_allclose(got[:, 0], (d[:, 0] - 3.0) / 1.4826)
    # column 1: median 0 and MAD 0 -> divided by the standard deviation
    np.testing.assert_allclose(got[:, 1], d[:, 1] / d[:, 1].std())
    assert np.all(got[:, 2] == 0.0)  # constant


def test_clipping_and_the_signed_root_keep_order_and_sign_and_shrink_the_far_values() -> None:
    d = _desc()
    d[0, 10] = 1e4  # one track far out on one column
    z, c, r = z_score(d), clipped_z(d), signed_sqrt_z(d)
    assert np.abs(c).max() <= CLIP and c[0, 10] == CLIP
    np.testing.assert_allclose(np.sign(r), np.sign(z))
    np.testing.assert_allclose(r**2, np.abs(z))
    for col in (10, 20):  # order within a column is kept
        assert np.array_equal(np.argsort(r[:, col], kind="stable"), np.argsort(z[:, col], kind="stable"))
    # that column's share of the far track's squared length: less than half once clipped
    assert c[0, 10] ** 2 / (c[0] ** 2).sum() < 0.5 * z[0, 10] ** 2 / (z[0] ** 2).sum()
