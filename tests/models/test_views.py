"""Views of embeddings: t-SNE + k-means and the dendrogram recover planted groups; every PNG is written."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.models import views


def planted(groups: int = 4, per: int = 12, dim: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6.0, size=(groups, dim))
    labels = np.repeat(np.arange(groups), per)
    return centres[labels] + rng.normal(0, 1.0, size=(labels.size, dim)), labels


def test_kmeans_on_tsne_recovers_planted_groups():
    x, labels = planted()
    coords = views.tsne(x, perplexity=8, learning_rate=100, seed=0)
    assert coords.shape == (x.shape[0], 2) and np.isfinite(coords).all()
    clusters = views.kmeans(coords, 4, seed=0)
    assert clusters.shape == labels.shape and set(clusters.tolist()) == {0, 1, 2, 3}
    agreement = views.cluster_agreement(labels, clusters)
    assert agreement["ari"] > 0.95 and agreement["nmi"] > 0.95
    shuffled = views.cluster_agreement(labels, np.random.default_rng(1).permutation(clusters))
    assert shuffled["ari"] < 0.3


def test_dendrogram_linkage_recovers_planted_groups():
    from scipy.cluster.hierarchy import fcluster

    x, labels = planted(groups=3, per=8)
    Z = views.linkage(x)
    assert Z.shape == (x.shape[0] - 1, 4)
    assert views.cluster_agreement(labels, fcluster(Z, 3, criterion="maxclust"))["ari"] == pytest.approx(1.0)


def test_confusion_and_per_class_accuracy_by_hand():
    # class 0: 3 right, 1 taken for class 1; class 1: 2 right, 2 taken for class 2; class 2: no items
    y_true = [0, 0, 0, 0, 1, 1, 1, 1]
    y_pred = [0, 0, 0, 1, 1, 1, 2, 2]
    cm = views.confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[3, 1, 0], [0, 2, 2], [0, 0, 0]]
    acc = views.per_class_accuracy(cm)
    assert acc[0] == 0.75 and acc[1] == 0.5 and math.isnan(acc[2])
    with pytest.raises(ParameterError):
        views.confusion_matrix([0, 3], [0, 1], 3)


def test_views_are_written_and_listed(tmp_path):
    x, labels = planted(groups=3, per=6, dim=12)
    rng = np.random.default_rng(2)
    spec = rng.uniform(-80, 0, size=(32, 16)).astype(np.float32)
    names = [f"artist {g} – song {i}" for i, g in enumerate(labels)]
    out = views.write_embedding_views(tmp_path, x, labels=[f"g{g}" for g in labels], names=names,
                                      descriptors=x[:, :5] * 10 + 3, original=spec, reconstructed=spec * 0.9,
                                      perplexity=50, learning_rate=100, k=3, seed=0, label_name="genre")
    expected = {"tsne.png", "kmeans.png", "dendrogram.png", "reconstruction.png", "tsne_descriptors.png"}
    assert set(out.files) == expected
    for path in out.files.values():
        assert path.exists() and path.stat().st_size > 2000 and path.read_bytes()[:4] == b"\x89PNG"
    assert out.params["k"] == 3 and out.params["perplexity"] == 50 and out.params["perplexity_used"] == 17 / 3
    assert out.metrics["embeddings"]["ari"] > 0.9 and "descriptors" in out.metrics
    md = out.markdown()
    assert all(f"]({name})" in md for name in expected)
    cm = views.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], 3)
    png = views.plot_confusion(cm, ["a", "b", "c"], tmp_path / "cm.png")
    assert png.stat().st_size > 2000


def test_tsne_refuses_too_few_points():
    with pytest.raises(ParameterError):
        views.tsne(np.zeros((2, 4)))
    with pytest.raises(ParameterError):
        views.kmeans(np.zeros((3, 2)), 4)


def test_plot_intervals_draws_a_panel_per_metric_and_leaves_undefined_rows_blank(tmp_path):
    from PIL import Image

    panels = {"auc": [("model", 0.8, 0.7, 0.9), ("baseline: random", 0.5, 0.45, 0.55)],
              "ap": [("model", 0.6, 0.5, 0.7), ("baseline: random", None, None, None)]}
    path = views.plot_intervals(panels, tmp_path / "c.png", title="t", chance={"auc": 0.5})
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > im.size[1]  # two panels side by side
    with pytest.raises(ValueError, match="panel ap names other rows"):
        views.plot_intervals({"auc": panels["auc"], "ap": panels["ap"][::-1]}, tmp_path / "d.png")
    assert not (tmp_path / "d.png").exists()
