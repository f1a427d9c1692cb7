"""How the descriptors family scales its columns before the cosine, chosen on the DEVELOPMENT corpus (issue 18;
label-free).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.scaling_dev \\
        [--benchmark] [CACHE]

The family z-scores each of its 584 descriptor columns over the tracks it is fitted on (a Keras ``Normalization``
layer), weights its blocks and compares tracks by cosine. Most of its columns are log-covariances of Gaussian
models and musicnn activations, whose distributions over tracks are skewed and heavy-tailed: a few tracks far out
on a few columns (a rendered MIDI file's near-constant band, a quiet track's covariance) then carry much of a
vector's length, and with it of every cosine it takes part in. Every earlier candidate changed what the columns
hold, the blocks' weights, or the similarity matrix after the cosine; none changed how a column's values are
scaled.

The candidates (:data:`SCALINGS`, each applied column by column over the scored corpus, before the blocks are split
and weighted as :func:`benchmarks.real_music.fusion_dev.family_vector` does): the mean and standard deviation (the
adopted z-score); the median and the median absolute deviation times 1.4826 (robust z; a column whose MAD is 0
falls back to its standard deviation); the z-score clipped to [-3, 3] (winsorised); and the z-score's signed square
root (``sign(z) sqrt(|z|)``, the power normalisation of Fisher vectors). Each of the last three can be served by the
same ``Normalization`` layer and one elementwise layer. The vectors are those ``excerpt_dev`` computes for the
middle 30 s (the harness ``models evaluate --labels`` uses; its cache files are read when the same CACHE folder is
given). Composer AUC within a package, as the benchmark scores it.

The rule, fixed and committed before this script first ran: the development argmax is adopted only if the choice
made leave-one-package-out (each package's queries scored with the scaling that is best on the other packages'
queries; :func:`benchmarks.real_music.dev_select.report_choice`) beats the z-score with its 95% CI over (package,
composer) clusters above 0 (an argmax of the z-score adopts nothing). Adopting would make that scaling the family's.
``--benchmark`` scores every scaling once on the benchmark corpus, after the choice (never used to choose).

The run (2026-12-07 09:01-09:07 UTC, the development corpus of ``make_dev_corpus.sh``: 242 tracks, 221 queries in 38
clusters): z-score 0.739, robust z 0.594, clipped 0.737, signed square root 0.735; every held-out package chose the
z-score: **not adopted** (benchmarks/RESULTS.md, "How the family scales its columns"). The robust z blows up
musicnn's post-ReLU columns, whose MAD is near 0. The benchmark lines, printed once and not used: 0.731 / 0.655 /
0.730 / 0.730.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import check_corpora, corpus_parser, decide, scored_candidates
from benchmarks.real_music.excerpt_dev import window_features
from musim.models.evaluate import column_stats
from musim.models.label_eval import cosine_similarity
from musim.models.labels import read_labels

#: how far the clipped z-score reaches
CLIP = 3.0
#: the MAD of a normal distribution times this is its standard deviation
MAD_TO_SD = 1.4826


def z_score(desc: np.ndarray) -> np.ndarray:
    """The adopted scaling: each column minus its mean, over its standard deviation (constant columns 0)."""
    mean, sd, _ = column_stats(desc)
    return (np.asarray(desc, dtype=np.float64) - mean) / sd


def robust_z(desc: np.ndarray) -> np.ndarray:
    """Each column minus its median, over 1.4826 times its median absolute deviation; where that is 0 (half the
    tracks share one value), over its standard deviation (constant columns 0)."""
    d = np.asarray(desc, dtype=np.float64)
    _, sd, constant = column_stats(d)
    median = np.median(d, axis=0)
    mad = MAD_TO_SD * np.median(np.abs(d - median), axis=0)
    scale = np.where(mad > 0, mad, sd)
    return np.where(constant, 0.0, (d - median) / scale)


def clipped_z(desc: np.ndarray) -> np.ndarray:
    """The z-score clipped to [-CLIP, CLIP]."""
    return np.clip(z_score(desc), -CLIP, CLIP)


def signed_sqrt_z(desc: np.ndarray) -> np.ndarray:
    """The z-score's signed square root: order and sign kept, large values shrunk."""
    z = z_score(desc)
    return np.sign(z) * np.sqrt(np.abs(z))


#: name -> scaling of an ``(n, d)`` descriptor matrix (the first is the adopted one)
SCALINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "z-score (adopted)": z_score,
    "robust z (median, MAD)": robust_z,
    f"z-score clipped at {CLIP:g}": clipped_z,
    "z-score, signed square root": signed_sqrt_z,
}


def family_vector(scaled: np.ndarray, names: list[str]) -> np.ndarray:
    """The family's adopted blocks of already scaled columns, each divided by the square root of its columns and
    times its weight, side by side (as ``fusion_dev.family_vector`` on z-scored columns)."""
    from musim.models.families.descriptors import DEFAULT_WEIGHTS, block_of

    of = np.array([block_of(n) for n in names])
    return np.concatenate([w * scaled[:, of == b] / np.sqrt(max(int((of == b).sum()), 1))
                           for b, w in DEFAULT_WEIGHTS.items() if w > 0], axis=1)


def scored(corpus: Path, cache: Path):
    """Per-query AUC of the family's vector under every scaling (rows follow :data:`SCALINGS`), 20-MFCC per query, and
    the queries' packages and clusters on ``corpus``."""
    from musim.audio import DESCRIPTOR_NAMES

    names = list(DESCRIPTOR_NAMES)
    labels = read_labels(corpus / "manifest.csv", group_by="source_package")
    feats = window_features(list(labels.paths), 30.0, cache / f"excerpt-{len(names)}-30.npz")
    labels = labels.subset([int(i) for i in feats["kept"]])
    return scored_candidates(corpus, labels, (cosine_similarity(family_vector(scale(feats["desc"]), names))
                                              for scale in SCALINGS.values()), feats["mfcc20"])


def main(argv: list[str] | None = None) -> None:
    ap: argparse.ArgumentParser = corpus_parser(__doc__, "scaling_dev", benchmark_once=True)
    args = ap.parse_args(argv)
    check_corpora(args, "scaling_dev")
    decide(args, list(SCALINGS), scored, against="the z-score", keep="the z-score")


if __name__ == "__main__":
    main()
