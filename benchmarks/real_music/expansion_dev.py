"""Database-side augmentation of the descriptors family's vectors, chosen on the DEVELOPMENT corpus (issue 18;
label-free).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.expansion_dev \\
        [--benchmark] [CACHE]

Every earlier candidate changed what a track's vector holds, or rescaled the whole similarity matrix (mutual
proximity, CSLS, PCA whitening). Never tried: the retrieval literature's neighbourhood smoothing, which lets the
collection's own structure pull a composer's tracks together. Database-side augmentation (DBA; Arandjelovic &
Zisserman 2012, with the alpha weighting of Radenovic, Tolias & Chum 2018): each track's unit vector is replaced by
the weighted sum of itself and its k nearest neighbours in the collection, each neighbour weighted by its cosine
similarity to the power alpha (alpha 0: a plain mean), and normalised again:

    x'_i = normalise(x_i + sum_{j in kNN(i)} max(cos(x_i, x_j), 0) ** alpha * x_j)

It needs no labels and applies wherever a collection is scored (a catalogue a model publishes, the tracks of
`musim models evaluate --labels`). The descriptors family's vector is the adopted one as
:mod:`benchmarks.real_music.fusion_dev` scores it (:func:`benchmarks.real_music.fusion_dev.family_vector`: its
blocks times :data:`musim.models.families.descriptors.DEFAULT_WEIGHTS`, z-scored over the scored corpus); the
neighbours are found in the whole scored corpus (every package), as a catalogue holds them. Composer AUC within a
package, as the benchmark scores it.

The rule, fixed and committed before this script first ran: the candidates are k in {1, 2, 3, 5, 10} x alpha in
{0, 3}, and k 0 (the family as adopted). The development argmax is adopted only if the choice made
leave-one-package-out (each package's queries scored with the candidate that is best on the other packages'
queries; :func:`benchmarks.real_music.dev_select.report_choice`) beats k 0 with its 95% CI over (package, composer)
clusters above 0 (an argmax of k 0 adopts nothing). Otherwise nothing changes, whatever the benchmark prints.
``--benchmark`` scores every candidate once on the benchmark corpus, after the choice (never used to choose), with
the 20-MFCC baseline beside them.

The run (2026-12-07 03:38 UTC, the development corpus of ``make_dev_corpus.sh``: 223 tracks, 203 queries in 34
clusters): k 0 0.739; alpha 0: k 1 0.723, k 2 0.719, k 3 0.722, k 5 0.711, k 10 0.702; alpha 3: k 1 0.739, k 2
0.736, k 3 0.734, k 5 0.731, k 10 0.729. The dev argmax is k 0; chosen leave-one-package-out 0.736, -0.003 [-0.008,
-0.000] over clusters: **not adopted**, the family is unchanged (benchmarks/RESULTS.md, "Database-side augmentation").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import _load, check_corpora, corpus_parser, decide, scored_candidates
from benchmarks.real_music.fusion_dev import family_vector
from musim.models.label_eval import cosine_similarity

CANDIDATES: tuple[tuple[int, float], ...] = ((0, 0.0), *((k, a) for a in (0.0, 3.0) for k in (1, 2, 3, 5, 10)))


def augmented(x: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Each row of ``x`` replaced by the unit-normalised sum of its unit vector and its ``k`` nearest rows' (by
    cosine, itself excluded), each weighted by ``max(cos, 0) ** alpha``; ``k`` 0 returns the unit rows."""
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if k == 0:
        return unit
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    nn = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    w = np.maximum(np.take_along_axis(sim, nn, axis=1), 0.0) ** alpha
    out = unit + np.einsum("nk,nkd->nd", w, unit[nn])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _name(k: int, alpha: float) -> str:
    return "k 0 (the family as adopted)" if k == 0 else f"k {k}, alpha {alpha:g}"


def scored(corpus: Path, cache: Path):
    """Per-query AUC of every candidate and of 20-MFCC, the queries' packages and clusters on ``corpus``."""
    from musim.audio import DESCRIPTOR_NAMES

    names = list(DESCRIPTOR_NAMES)
    labels, feats = _load(corpus, cache, names)
    family = family_vector(feats, names)
    return scored_candidates(corpus, labels, (cosine_similarity(augmented(family, k, a)) for k, a in CANDIDATES),
                             feats["mfcc20"])


def main(argv: list[str] | None = None) -> None:
    ap: argparse.ArgumentParser = corpus_parser(__doc__, "expansion_dev", benchmark_once=True)
    args = ap.parse_args(argv)
    check_corpora(args, "expansion_dev")
    decide(args, [_name(k, a) for k, a in CANDIDATES], scored, against="k 0", keep="the family as adopted")


if __name__ == "__main__":
    main()
