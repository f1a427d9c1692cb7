"""Views of embeddings and classifiers as PNG files: t-SNE, k-means, dendrogram, reconstruction, confusion.

The origin of the autoencoder family (28 songs) looked at its embeddings through t-SNE (perplexity 2,
learning rate 100), k-means on the t-SNE coordinates (k = 8) and a hierarchical-clustering dendrogram;
the classifier origin reported per-genre accuracy. The computations and the plots are separate functions,
so tests check the numbers (planted groups recovered) and the files (written, non-empty)::

    coords = tsne(vectors, perplexity=5, learning_rate=100, seed=0)
    clusters = kmeans(coords, k=4, seed=0)
    cluster_agreement(labels, clusters)          # {"ari": ..., "nmi": ...}
    files = write_embedding_views(folder, vectors, labels=genres, names=titles, descriptors=desc, ...)

Needs numpy, scikit-learn, scipy and matplotlib (Agg backend: no display); never TensorFlow.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musim.errors import ParameterError

__all__ = [
    "ViewSet",
    "cluster_agreement",
    "confusion_matrix",
    "effective_perplexity",
    "kmeans",
    "linkage",
    "per_class_accuracy",
    "plot_confusion",
    "plot_dendrogram",
    "plot_intervals",
    "plot_reconstruction",
    "plot_scatter",
    "tsne",
    "write_embedding_views",
]

log = logging.getLogger(__name__)

#: File names of the views next to a model (``models/<family>/<version>/``).
TSNE_FILE = "tsne.png"
KMEANS_FILE = "kmeans.png"
DENDROGRAM_FILE = "dendrogram.png"
RECONSTRUCTION_FILE = "reconstruction.png"
TSNE_DESCRIPTORS_FILE = "tsne_descriptors.png"
CONFUSION_FILE = "confusion.png"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


# -- numbers ---------------------------------------------------------------------------------------------

def effective_perplexity(perplexity: float, n: int) -> float:
    """``perplexity``, lowered to ``(n - 1) / 3`` (at least 1) for ``n`` points."""
    return float(min(float(perplexity), max(1.0, (n - 1) / 3.0)))


def tsne(vectors: np.ndarray, *, perplexity: float = 5.0, learning_rate: float | str = 100.0, seed: int = 0,
         metric: str = "euclidean", standardized: bool = False) -> np.ndarray:
    """2-d t-SNE coordinates of ``vectors`` ``(n, d)`` → ``(n, 2)``.

    Parameters
    ----------
    perplexity : float
        Effective number of neighbours (the origin used 2 for 28 songs). Above ``(n - 1) / 3`` every point
        sees nearly all others and the map turns into one clump, so a larger value is lowered to that
        with a warning (:func:`effective_perplexity`).
    learning_rate : float or "auto"
        The origin used 100.
    metric : distance between vectors ("euclidean", "cosine", ...)
    standardized : z-score the columns first (for handcrafted descriptors)
    """
    from sklearn.manifold import TSNE

    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 3:
        raise ParameterError(f"t-SNE needs (n >= 3, d) vectors, got shape {v.shape}")
    if perplexity <= 0:
        raise ParameterError(f"perplexity must be > 0, got {perplexity}")
    if standardized:  # descriptors mix units (BPM, Hz, ratios)
        from musim.models.label_baselines import standardized as z_scored

        v = z_scored(v).astype(np.float64)
    p = effective_perplexity(perplexity, v.shape[0])
    if p != perplexity:
        log.warning("perplexity %s is too large for %s points: using %s", perplexity, v.shape[0], p)
    model = TSNE(n_components=2, perplexity=p, learning_rate=learning_rate, metric=metric, random_state=seed,
                 init="pca" if metric == "euclidean" else "random")
    return np.asarray(model.fit_transform(v), dtype=np.float64)


def kmeans(coords: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """k-means cluster of every point (the origin clustered the t-SNE coordinates): ``(n,)`` int."""
    from sklearn.cluster import KMeans

    c = np.asarray(coords, dtype=np.float64)
    if not 1 <= k <= c.shape[0]:
        raise ParameterError(f"k must be in 1..{c.shape[0]} (the number of points), got {k}")
    return KMeans(n_clusters=int(k), n_init=10, random_state=seed).fit_predict(c).astype(np.int64)


def cluster_agreement(labels: Sequence[Any], clusters: Sequence[int]) -> dict[str, float]:
    """How well clusters recover labels: adjusted Rand index and normalised mutual information (1 = exact)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    lab = [str(x) for x in labels]
    return {"ari": float(adjusted_rand_score(lab, list(clusters))),
            "nmi": float(normalized_mutual_info_score(lab, list(clusters)))}


def linkage(vectors: np.ndarray, *, method: str = "ward", metric: str = "euclidean") -> np.ndarray:
    """Agglomerative clustering (scipy) of ``vectors`` ``(n, d)``: the ``(n - 1, 4)`` linkage matrix."""
    from scipy.cluster.hierarchy import linkage as scipy_linkage

    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 2:
        raise ParameterError(f"a dendrogram needs (n >= 2, d) vectors, got shape {v.shape}")
    return scipy_linkage(v, method=method, metric=metric)


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """``cm[i, j]`` = items of true class i predicted as j: ``(n_classes, n_classes)`` int64."""
    t, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise ParameterError(f"y_true and y_pred differ in shape: {t.shape} vs {p.shape}")
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise ParameterError(f"class indices must be in 0..{n_classes - 1}")
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Accuracy per true class (the origin's per-genre figures; recall): ``diag / row sum``, NaN for a
    class without items."""
    cm = np.asarray(cm, dtype=np.float64)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / np.where(support > 0, support, 1.0), math.nan)


# -- plots -----------------------------------------------------------------------------------------------

def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as a PNG at ``path`` (100 dpi), close it, and return the path once the file is there."""
    path = Path(path)
    fig.savefig(path, dpi=100)
    _plt().close(fig)
    if not path.exists() or path.stat().st_size == 0:  # pragma: no cover - matplotlib raises first
        raise OSError(f"{path} was not written")
    return path


def plot_scatter(coords: np.ndarray, path: str | os.PathLike[str], *, labels: Sequence[Any] | None = None,
                 names: Sequence[str] | None = None, clusters: Sequence[int] | None = None, title: str = "",
                 max_legend: int = 20, max_names: int = 60) -> Path:
    """2-d points coloured by ``labels`` (legend) or by ``clusters`` (k-means; then labels set the marker
    shape), each annotated with its name when there are at most ``max_names`` points."""
    plt = _plt()
    c = np.asarray(coords, dtype=np.float64)
    n = c.shape[0]
    fig, ax = plt.subplots(figsize=(8.5, 7))
    cmap = plt.get_cmap("tab20")
    markers = "os^Dv<>PX*hp"
    lab = [str(x) for x in labels] if labels is not None else ["all"] * n
    uniq = list(dict.fromkeys(lab))
    if clusters is not None:
        cl = np.asarray(clusters)
        for j, u in enumerate(uniq):
            m = np.array([x == u for x in lab])
            ax.scatter(c[m, 0], c[m, 1], c=[cmap(int(k) % 20) for k in cl[m]], marker=markers[j % len(markers)],
                       s=46, edgecolors="k", linewidths=0.4, label=u if len(uniq) <= max_legend else None)
        for k in np.unique(cl):
            centre = c[cl == k].mean(axis=0)
            ax.annotate(f"c{k}", centre, fontsize=11, weight="bold", color=cmap(int(k) % 20),
                        ha="center", va="center", bbox={"boxstyle": "round", "fc": "white", "alpha": 0.6})
    else:
        for j, u in enumerate(uniq):
            m = np.array([x == u for x in lab])
            ax.scatter(c[m, 0], c[m, 1], color=cmap(j % 20), marker=markers[(j // 20) % len(markers)], s=40,
                       edgecolors="k", linewidths=0.3, label=u if len(uniq) <= max_legend else None)
    if names is not None and n <= max_names:
        for (x, y), name in zip(c, names, strict=True):
            ax.annotate(str(name)[:28], (x, y), fontsize=6, alpha=0.8, xytext=(3, 3), textcoords="offset points")
    if len(uniq) <= max_legend and labels is not None:
        ax.legend(fontsize=7, loc="best", markerscale=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or "t-SNE")
    fig.tight_layout()
    return _save(fig, path)


def plot_dendrogram(Z: np.ndarray, names: Sequence[str], path: str | os.PathLike[str], *, title: str = "",
                    colors: Mapping[str, Any] | None = None) -> Path:
    """The agglomerative-clustering dendrogram with one leaf per name (left to right)."""
    from scipy.cluster.hierarchy import dendrogram

    plt = _plt()
    n = len(names)
    fig, ax = plt.subplots(figsize=(max(8.0, 0.22 * n + 2), 6))
    dendrogram(Z, labels=[str(s)[:32] for s in names], leaf_rotation=90, leaf_font_size=7, ax=ax,
               color_threshold=None)
    if colors:
        for tick in ax.get_xmajorticklabels():
            col = colors.get(tick.get_text())
            if col is not None:
                tick.set_color(col)
    ax.set_ylabel("merge distance")
    ax.set_title(title or "hierarchical clustering")
    fig.tight_layout()
    return _save(fig, path)


def plot_reconstruction(original: np.ndarray, reconstructed: np.ndarray, path: str | os.PathLike[str], *,
                        title: str = "", top_db: float = 80.0) -> Path:
    """One spectrogram (frames, n_mels) in dB next to its reconstruction (time across, mel bands up)."""
    plt = _plt()
    o, r = np.asarray(original, dtype=np.float32), np.asarray(reconstructed, dtype=np.float32)
    if o.shape != r.shape or o.ndim != 2:
        raise ParameterError(f"original and reconstruction must be the same (frames, n_mels), got {o.shape}, {r.shape}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, img, name in zip(axes, (o, r), ("original", "reconstructed"), strict=True):
        im = ax.imshow(img.T, origin="lower", aspect="auto", cmap="magma", vmin=-top_db, vmax=0)
        ax.set_title(name)
        ax.set_xlabel("frame")
    axes[0].set_ylabel("mel band")
    fig.colorbar(im, ax=axes, label="dB", shrink=0.85)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_confusion(cm: np.ndarray, classes: Sequence[str], path: str | os.PathLike[str], *, title: str = "",
                   normalize: bool = True) -> Path:
    """Confusion matrix (rows: true class, columns: predicted), shares per row when ``normalize``; the
    per-class accuracy is in the row labels."""
    plt = _plt()
    cm = np.asarray(cm, dtype=np.float64)
    acc = per_class_accuracy(cm)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    k = len(classes)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * k + 3), max(4.0, 0.5 * k + 2)))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(k), [str(c)[:18] for c in classes], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), [f"{str(c)[:18]} ({'–' if np.isnan(a) else f'{a:.0%}'})"
                             for c, a in zip(classes, acc, strict=True)], fontsize=8)
    if k <= 25:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else str(int(cm[i, j])), ha="center",
                            va="center", fontsize=7, color="white" if shown[i, j] > 0.5 * np.nanmax(shown) else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (accuracy)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title or "confusion matrix")
    fig.tight_layout()
    return _save(fig, path)


#: One row of :func:`plot_intervals`: a name, and its mean and 95% CI (None: undefined, left blank).
Interval = tuple[str, float | None, float | None, float | None]


def plot_intervals(panels: Mapping[str, Sequence[Interval]], path: str | os.PathLike[str], *, title: str = "",
                   chance: Mapping[str, float] | None = None) -> Path:
    """A forest plot: one panel per metric (``panels``: metric -> rows, the same names in the same order in each),
    one line per row: its mean (a dot) and 95% CI (a bar), the best mean of the panel in bold; an undefined row is
    left blank; ``chance`` draws a metric's chance level (a dashed line). What ``models evaluate --labels --plot``
    writes: the comparison table, to be looked at."""
    plt = _plt()
    if not panels:
        raise ValueError("plot_intervals: no panel")
    names = [row[0] for row in next(iter(panels.values()))]
    y = np.arange(len(names))[::-1]
    fig, axes = plt.subplots(1, len(panels), sharey=True, squeeze=False,
                             figsize=(2.0 + 3.2 * len(panels), 1.2 + 0.42 * len(names)))
    for ax, (metric, rows) in zip(axes[0], panels.items(), strict=True):
        if [r[0] for r in rows] != names:
            raise ValueError(f"plot_intervals: panel {metric} names other rows")
        means = [np.nan if r[1] is None else r[1] for r in rows]
        best = int(np.nanargmax(means)) if np.isfinite(means).any() else -1
        for i, (_, mean, lo, hi) in enumerate(rows):
            if mean is None:
                continue
            colour = "C3" if i == best else "C0"
            if lo is not None and hi is not None:
                ax.plot([lo, hi], [y[i], y[i]], color=colour, linewidth=2.2 if i == best else 1.4)
            ax.plot([mean], [y[i]], "o", color=colour, markersize=6)
            ax.annotate(f"{mean:.3f}", (mean, y[i]), xytext=(0, 6), textcoords="offset points", ha="center",
                        fontsize=7, weight="bold" if i == best else "normal")
        if chance and metric in chance:
            ax.axvline(chance[metric], color="grey", linestyle="--", linewidth=1)
        ax.set_title(metric, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(y, [n[:40] for n in names], fontsize=8)
    axes[0][0].set_ylim(-0.7, len(names) - 0.3)
    fig.suptitle(title or "mean and 95% CI", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


# -- the autoencoder's set of views ----------------------------------------------------------------------

@dataclass
class ViewSet:
    """PNG files written (``{file name: path}``), what they were computed with, and cluster agreement."""

    files: dict[str, Path] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"files": {k: str(v) for k, v in self.files.items()}, "params": self.params, "metrics": self.metrics,
                "captions": self.captions}

    def markdown(self) -> str:
        """A card section listing every view (relative links: the PNGs lie next to the card)."""
        out = ["## Views", ""]
        if self.params:
            out += ["Computed with " + ", ".join(f"{k} = `{v}`" for k, v in self.params.items()) + ".", ""]
        for name in self.files:
            out += [f"### {self.captions.get(name, name)}", "", f"![{name}]({name})", ""]
        if self.metrics:
            out += ["Cluster agreement with the labels (adjusted Rand index / normalised mutual information; "
                    "1 = the clusters are the labels, 0 = chance):", ""]
            out += [f"- {k}: ARI {v['ari']:.3f}, NMI {v['nmi']:.3f}" for k, v in self.metrics.items()
                    if isinstance(v, dict) and "ari" in v]
            out.append("")
        return "\n".join(out)


def _sample(n: int, limit: int, seed: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 0xD3D0]).choice(n, size=limit, replace=False))


def write_embedding_views(folder: str | os.PathLike[str], vectors: np.ndarray, *, labels: Sequence[Any],
                          names: Sequence[str], descriptors: np.ndarray | None = None,
                          original: np.ndarray | None = None, reconstructed: np.ndarray | None = None,
                          reconstruction_name: str = "", perplexity: float = 5.0, learning_rate: float = 100.0,
                          k: int = 8, seed: int = 0,
                          label_name: str = "label", linkage_method: str = "ward", max_points: int = 3000,
                          dendrogram_leaves: int = 60, title: str = "") -> ViewSet:
    """The origin's views of one set of track embeddings, as PNGs in ``folder``.

    - ``tsne.png``: t-SNE of ``vectors`` coloured by ``labels`` (genre or artist)
    - ``kmeans.png``: k-means (``k``, lowered to the number of points) on those t-SNE coordinates
    - ``dendrogram.png``: agglomerative clustering (``linkage_method``) of the vectors, leaves = ``names``
      (at most ``dendrogram_leaves`` tracks, a seeded sample)
    - ``reconstruction.png``: ``original`` vs ``reconstructed`` (one spectrogram, ``reconstruction_name``),
      when both are given
    - ``tsne_descriptors.png``: the same t-SNE of the handcrafted ``descriptors`` (z-scored), when given

    ``metrics`` holds the agreement of k-means clusters with the labels (ARI, NMI) for the embeddings and
    for the descriptors, the comparison the origin made by eye. At most ``max_points`` tracks (a seeded
    sample) go into the t-SNE.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    v = np.asarray(vectors, dtype=np.float64)
    n = v.shape[0]
    if len(labels) != n or len(names) != n:
        raise ParameterError(f"labels ({len(labels)}) and names ({len(names)}) must match the {n} vectors")
    pick = _sample(n, max_points, seed)
    lab = [str(labels[i]) for i in pick]
    nm = [str(names[i]) for i in pick]
    k_eff = max(1, min(int(k), pick.size))
    views = ViewSet(params={"perplexity": perplexity,
                            "perplexity_used": effective_perplexity(perplexity, int(pick.size)),
                            "learning_rate": learning_rate, "k": k_eff, "seed": seed,
                            "points": int(pick.size), "linkage": linkage_method, "colour": label_name})
    coords = tsne(v[pick], perplexity=perplexity, learning_rate=learning_rate, seed=seed)
    views.files[TSNE_FILE] = plot_scatter(coords, out / TSNE_FILE, labels=lab, names=nm,
                                          title=f"{title} t-SNE of the embeddings, by {label_name}".strip())
    views.captions[TSNE_FILE] = f"t-SNE of the embeddings, coloured by {label_name}"
    clusters = kmeans(coords, k_eff, seed=seed)
    views.metrics["embeddings"] = cluster_agreement(lab, clusters)
    views.files[KMEANS_FILE] = plot_scatter(coords, out / KMEANS_FILE, labels=lab, names=nm, clusters=clusters,
                                            title=f"{title} k-means (k={k_eff}) on the t-SNE coordinates".strip())
    views.captions[KMEANS_FILE] = f"k-means (k = {k_eff}) on the t-SNE coordinates (marker = {label_name})"
    leaves = _sample(n, dendrogram_leaves, seed + 1)
    Z = linkage(v[leaves], method=linkage_method)
    leaf_names = [f"{names[i]}" for i in leaves]
    uniq = list(dict.fromkeys(str(labels[i]) for i in leaves))
    plt = _plt()
    cmap = plt.get_cmap("tab20")
    colors = {f"{names[i]}"[:32]: cmap(uniq.index(str(labels[i])) % 20) for i in leaves}
    views.files[DENDROGRAM_FILE] = plot_dendrogram(Z, leaf_names, out / DENDROGRAM_FILE, colors=colors,
                                                   title=f"{title} agglomerative clustering ({linkage_method}), "
                                                         f"names coloured by {label_name}".strip())
    views.captions[DENDROGRAM_FILE] = f"dendrogram of {leaves.size} tracks ({linkage_method} linkage)"
    if original is not None and reconstructed is not None:
        views.files[RECONSTRUCTION_FILE] = plot_reconstruction(original, reconstructed, out / RECONSTRUCTION_FILE,
                                                               title=f"{title} {reconstruction_name}".strip())
        views.captions[RECONSTRUCTION_FILE] = "one log-mel spectrogram and its reconstruction"
    if descriptors is not None:
        d = np.asarray(descriptors, dtype=np.float64)[pick]
        dcoords = tsne(d, perplexity=perplexity, learning_rate=learning_rate, seed=seed, standardized=True)
        views.metrics["descriptors"] = cluster_agreement(lab, kmeans(dcoords, k_eff, seed=seed))
        views.files[TSNE_DESCRIPTORS_FILE] = plot_scatter(
            dcoords, out / TSNE_DESCRIPTORS_FILE, labels=lab, names=nm,
            title=f"t-SNE of the handcrafted descriptors (z-scored), by {label_name}")
        views.captions[TSNE_DESCRIPTORS_FILE] = "the same t-SNE of the handcrafted descriptors, for comparison"
    return views
