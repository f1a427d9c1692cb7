"""The descriptors family fused with the contrastive family's embedding, chosen on the DEVELOPMENT corpus (issue 18;
label-free).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.fusion_dev \\
        [--benchmark] [--seeds 3] [--epochs 20] [CACHE]

The descriptors family's vector is handcrafted (the contrast and timbre Gaussians) plus musicnn's pretrained
penultimate layer; the contrastive family's encoder is trained label-free on the library's own log-mels. Their
errors may differ, so the candidate never tried is their sum: the similarity of two tracks is

    cos(descriptors family vector) + w * cos(contrastive embedding),    w in {0, 0.1, 0.25, 0.5, 1}

(the same as the dot product of the two L2-normalised vectors side by side, the embedding's scaled by
``sqrt(w)``). The descriptors family's vector is the adopted one as :mod:`benchmarks.real_music.wccn_dev` and
:mod:`benchmarks.real_music.pretrained_dev` score it (:func:`benchmarks.real_music.dev_select.descriptor_blocks`,
each block times its :data:`musim.models.families.descriptors.DEFAULT_WEIGHTS` weight, blocks at 0 left out,
z-scored over the corpus being scored). The contrastive embedding is the family's served one
(:func:`musim.models.contrastive.embed`: the ReLU'd ``encoding`` averaged over ``embed_crops`` crops, L2), the
network trained with the family's defaults (:class:`musim.models.hyperparams.ContrastiveParams`, 20 epochs) on the
scored corpus's own log-mels (:func:`benchmarks.real_music.contrastive_dev.log_mels`), as the family trains on its
whole library: ``--seeds`` seeds (3), each query's AUC averaged over the seeds, so that one lucky initialisation does
not choose. Tracks are those whose descriptors and log-mels both decode. Composer AUC within a package, as the
benchmark scores it.

The rule, fixed and committed before this script first ran: the candidates are the five weights, w = 0 (the family
as adopted) among them. The development argmax is adopted only if the choice made leave-one-package-out (each
package's queries scored with the w that is best on the other packages' queries;
:func:`benchmarks.real_music.dev_select.report_choice`) beats w = 0 with its 95% CI over (package, composer)
clusters above 0 (an argmax of w = 0 adopts nothing). Otherwise nothing changes, whatever the benchmark prints.
``--benchmark`` trains and scores every candidate once on the benchmark corpus, after the choice (never used to
choose); the contrastive embedding alone and the 20-MFCC baseline are printed beside them on both corpora as
diagnoses, not candidates.

The run (2026-12-06, the development corpus of ``make_dev_corpus.sh``: 217 tracks, 197 queries in 34 clusters; 3
seeds x 20 epochs): w 0 0.732, w 0.1 0.732, w 0.25 0.727, w 0.5 0.719, w 1 0.707 (the embedding alone 0.625); the
dev argmax is w 0, chosen leave-one-package-out 0.729, -0.003 [-0.007, -0.001] over clusters: **not adopted**, the
family is unchanged (benchmarks/RESULTS.md, "The descriptors family fused with the contrastive embedding").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.real_music.contrastive_dev import log_mels
from benchmarks.real_music.dev_select import (
    _load,
    check_corpora,
    corpus_parser,
    descriptor_blocks,
    paired_ci,
    report_choice,
)
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from musim.models.label_eval import cosine_similarity
from musim.models.labels import LabelSet

WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)


def fused_similarity(family: np.ndarray, embedding: np.ndarray, w: float) -> np.ndarray:
    """``cos(family) + w * cos(embedding)`` between every pair of rows (one track a row in both)."""
    return cosine_similarity(family) + w * cosine_similarity(embedding)


def family_vector(feats, names: list[str]) -> np.ndarray:
    """The descriptors family's adopted vector of each track: its blocks side by side, each times its weight."""
    from musim.models.families.descriptors import DEFAULT_WEIGHTS

    blocks = descriptor_blocks(feats, names)
    return np.concatenate([w * blocks[k] for k, w in DEFAULT_WEIGHTS.items() if w > 0], axis=1)


def rows_of(paths: list[Path], among: list[Path]) -> np.ndarray:
    """The row in ``among`` of each of ``paths`` (every one of them is there)."""
    index = {str(p): i for i, p in enumerate(among)}
    return np.asarray([index[str(p)] for p in paths], dtype=np.int64)


def embeddings(mel: np.ndarray, seeds: int, epochs: int, path: Path) -> list[np.ndarray]:
    """The served contrastive embedding of every track, one ``(n, d)`` array per seed (cached in ``path``)."""
    if path.is_file():
        z = np.load(path)
        if z["emb"].shape[:2] == (seeds, mel.shape[0]):
            return list(z["emb"])
    from musim.models.contrastive import embed, train_contrastive
    from musim.models.hyperparams import ContrastiveParams

    out = []
    for seed in range(seeds):
        p = ContrastiveParams(seed=seed, epochs=epochs)
        t0 = time.perf_counter()
        res = train_contrastive(mel.astype(np.float32), params=p)
        out.append(embed(res.model, mel, crops=p.embed_crops).astype(np.float64))
        print(f"  seed {seed}: loss {res.history['loss'][0]:.3f} -> {res.history['loss'][-1]:.3f}, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, emb=np.stack(out))
    return out


def scored(corpus: Path, cache: Path, seeds: int, epochs: int):
    """Labels, per-query AUC of every candidate (seed-averaged), the queries' packages and clusters, and the
    diagnoses (contrastive alone, 20-MFCC) on ``corpus``."""
    from musim.audio import DESCRIPTOR_NAMES

    names = list(DESCRIPTOR_NAMES)
    labels, feats = _load(corpus, cache, names)
    family = family_vector(feats, names)
    labels_m, mel = log_mels(labels, cache / "mel.npz")
    rows = rows_of(labels_m.paths, labels.paths)
    family, mfcc = family[rows], np.asarray(feats["mfcc20"])[rows]
    labels = labels_m
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    embs = embeddings(mel, seeds, epochs, cache / f"contrastive-e{epochs}-s{seeds}.npz")
    per = {w: np.mean([auc_per_query(fused_similarity(family, e, w), sets) for e in embs], axis=0) for w in WEIGHTS}
    diag = {"contrastive alone": np.mean([auc_per_query(cosine_similarity(e), sets) for e in embs], axis=0),
            "20-MFCC": auc_per_query(cosine_similarity(mfcc), sets)}
    return labels, per, diag, groups[[i for i, _, _ in sets]], clusters, embs, sets


def _name(w: float) -> str:
    return f"w {w:g}" + (" (the family as adopted)" if w == 0 else "")


def _describe(tag: str, corpus: Path, labels: LabelSet, sets, clusters, diag, per, embs) -> None:
    print(f"{tag} corpus {corpus}: {len(labels)} tracks of {len(set(labels.artists))} composers; {len(sets)} queries "
          f"in {len(set(clusters))} (package, composer) clusters; " + ", ".join(
              f"{k} {v.mean():.3f}" for k, v in diag.items()) + " (per seed: " + ", ".join(
              f"{auc_per_query(cosine_similarity(e), sets).mean():.3f}" for e in embs) + ")", flush=True)


def main(argv: list[str] | None = None) -> None:
    from musim.models.hyperparams import ContrastiveParams

    ap: argparse.ArgumentParser = corpus_parser(__doc__, "fusion_dev", benchmark_once=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=ContrastiveParams().epochs)
    args = ap.parse_args(argv)
    check_corpora(args, "fusion_dev")
    rng = np.random.default_rng(0)

    print(f"{args.seeds} seeds x {args.epochs} epochs per corpus", flush=True)
    labels, per, diag, packages, clusters, embs, sets = scored(Path(args.dev_corpus), args.cache / "dev", args.seeds,
                                                               args.epochs)
    _describe("development", args.dev_corpus, labels, sets, clusters, diag, per, embs)
    print("\non the development corpus, against w 0 (per query AUC averaged over seeds):")
    choice, passed = report_choice(np.stack([per[w] for w in WEIGHTS]), [_name(w) for w in WEIGHTS], per[0.0],
                                   packages, clusters, rng, against="w 0")
    adopt = passed and WEIGHTS[choice] > 0
    print(f"decision: {'ADOPT ' + _name(WEIGHTS[choice]) if adopt else 'keep the family as adopted (the rule is not met)'}",
          flush=True)

    if args.benchmark:
        labels_b, per_b, diag_b, _, clusters_b, embs_b, sets_b = scored(Path(args.corpus), args.cache / "benchmark",
                                                                        args.seeds, args.epochs)
        print("\nonce, after the choice, NOT used to choose:")
        _describe("benchmark", args.corpus, labels_b, sets_b, clusters_b, diag_b, per_b, embs_b)
        for w in WEIGHTS:
            m, lo, hi = paired_ci(per_b[w] - diag_b["20-MFCC"], rng)
            d, dlo, dhi = paired_ci(per_b[w] - per_b[0.0], rng)
            print(f"  {_name(w)}: {per_b[w].mean():.3f}; - 20-MFCC {m:+.3f} [{lo:+.3f}, {hi:+.3f}]; - w 0 "
                  f"{d:+.3f} [{dlo:+.3f}, {dhi:+.3f}] over queries")


if __name__ == "__main__":
    main()
