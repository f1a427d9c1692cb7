"""lda_dev: the labelled scatters, WCCN and LDA projections, and cross-fitting that never lets a package's own
labels project it, on small generated vectors."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.real_music import lda_dev
from benchmarks.real_music.lda_dev import (
    cross_fitted_similarities,
    lda_matrix,
    package_centred,
    scatters,
    wccn_matrix,
)


@pytest.fixture
def labelled():
    """4 packages x 3 composers x 5 tracks, 6 columns: each package has its own offset along every column (its
    production), composers differ along column 0 only, tracks of a composer vary along columns 1-5."""
    rng = np.random.default_rng(0)
    packages, composers, rows = [], [], []
    for p in range(4):
        offset = rng.normal(0, 1, 6)
        for c in range(3):
            centre = np.zeros(6)
            centre[0] = 3.0 * c
            for _ in range(5):
                noise = np.concatenate([[rng.normal(0, 0.3)], rng.normal(0, 2, 5)])
                rows.append(offset + centre + noise)
                packages.append(f"pkg{p}")
                composers.append(f"c{c}")  # composer names repeat across packages: classes are (package, composer)
    return np.asarray(rows), np.asarray(packages), np.asarray(composers)


def test_package_centring_removes_each_packages_mean(labelled):
    x, packages, _ = labelled
    xc = package_centred(x, packages)
    for p in set(packages):
        assert np.allclose(xc[packages == p].mean(axis=0), 0)
    assert np.allclose(xc[packages == "pkg0"] - x[packages == "pkg0"], -x[packages == "pkg0"].mean(axis=0))


def test_scatters_separate_composer_differences_from_track_noise(labelled):
    x, packages, composers = labelled
    s_w, s_b, n_classes = scatters(x, packages, composers)
    assert n_classes == 12  # (package, composer) pairs, not the 3 composer names
    assert s_b[0, 0] == pytest.approx(6.0, rel=0.1)  # composers at 0, 3, 6: variance 6 around their package mean
    top = np.linalg.eigh(s_b)[1][:, -1]
    assert abs(top[0]) > 0.95  # what composers of one package differ in; the packages' own offsets are not in it
    assert s_w[0, 0] < 0.15 and np.diag(s_w)[1:] == pytest.approx([3.2] * 5, rel=0.5)  # 4 * (4/5): ddof per class


def test_wccn_whitens_the_within_composer_scatter(labelled):
    x, packages, composers = labelled
    s_w, _, _ = scatters(x, packages, composers)
    m = wccn_matrix(s_w, alpha=0.0)
    assert np.allclose(m.T @ s_w @ m, np.eye(6), atol=1e-8)
    assert np.allclose(wccn_matrix(s_w, alpha=1.0), np.eye(6) / np.sqrt(np.trace(s_w) / 6))


def test_lda_keeps_the_axis_that_tells_composers_apart(labelled):
    x, packages, composers = labelled
    s_w, s_b, _ = scatters(x, packages, composers)
    m = lda_matrix(s_w, s_b, k=1, alpha=0.1)
    assert m.shape == (6, 1)
    direction = m[:, 0] / np.linalg.norm(m[:, 0])
    assert abs(direction[0]) > 0.99
    # projected, tracks of one package sort by composer: every composer's range is apart from the next one's
    z = (package_centred(x, packages) @ m)[:, 0] * np.sign(direction[0])
    for p in set(packages):
        lows = [z[(packages == p) & (composers == c)] for c in ("c0", "c1", "c2")]
        assert lows[0].max() < lows[1].min() and lows[1].max() < lows[2].min()


def test_cross_fitting_never_projects_a_package_with_its_own_labels(labelled, monkeypatch):
    x, packages, composers = labelled
    seen = []
    real = lda_dev.projections

    def spy(rows, pkgs, classes):
        seen.append(set(np.asarray(pkgs).tolist()))
        return real(rows, pkgs, classes)

    monkeypatch.setattr(lda_dev, "projections", spy)
    sims = cross_fitted_similarities(x, packages, composers)
    assert seen[0] == set(packages)  # the candidates' names
    assert sorted(map(sorted, seen[1:])) == sorted(sorted(set(packages) - {p}) for p in set(packages))
    adopted = sims[0]
    for p in set(packages):
        rows = packages == p
        v = x[rows] / np.linalg.norm(x[rows], axis=1, keepdims=True)
        assert np.allclose(adopted[np.ix_(rows, rows)], v @ v.T)
        assert np.all(adopted[np.ix_(rows, ~rows)] == 0)  # across packages: never scored
    # the LDA candidates see composers: within a package, same-composer pairs come out closer than the adopted ones
    same = (composers[:, None] == composers[None, :]) & (packages[:, None] == packages[None, :])
    np.fill_diagonal(same, False)
    other = (composers[:, None] != composers[None, :]) & (packages[:, None] == packages[None, :])
    names = list(real(x, packages, composers))
    lda = sims[names.index("LDA k 8 alpha 0.1")]
    assert lda[same].mean() - lda[other].mean() > 2 * (adopted[same].mean() - adopted[other].mean())
