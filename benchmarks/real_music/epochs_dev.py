"""How long the contrastive family trains, chosen on the DEVELOPMENT corpus (issue 18; label-free).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.epochs_dev \\
        [--benchmark] [--seeds 3] [CACHE]

An epoch of the contrastive family is one pass over the tracks in batches of ``batch_size`` (32): on a library of
200 tracks, 6 steps. Its default of 20 epochs is 120 optimiser steps, each contrasting one pair of random crops per
track; the benchmark trains 40, the demo 15. Every earlier candidate for the family (its served embedding,
``contrastive_dev``; its fusion with the descriptors, ``fusion_dev``) kept that length. The question here is only
whether the encoder is undertrained: the candidates are the family's defaults
(:class:`musim.models.hyperparams.ContrastiveParams`) at ``epochs`` 20 (the default), 60 and 180, each trained on the
scored corpus's own log-mels (:func:`benchmarks.real_music.contrastive_dev.log_mels`), as the family trains on its
whole library, with ``--seeds`` seeds (3), each query's AUC averaged over the seeds; the embedding is the one the
family serves (:func:`musim.models.contrastive.embed`). Composer AUC within a package, as the benchmark scores it.

The rule, fixed and committed before this script first ran: the development argmax replaces the default of 20 epochs
only if the choice made leave-one-package-out (each package's queries scored with the length that is best on the
other packages' queries; :func:`benchmarks.real_music.dev_select.report_choice`) beats 20 epochs with its 95% CI over
(package, composer) clusters above 0. Otherwise nothing changes, whatever the benchmark prints. ``--benchmark``
trains and scores every candidate once on the benchmark corpus, after the choice (never used to choose), with the
20-MFCC baseline beside them.

The run (2026-12-07 04:15 UTC, the development corpus of ``make_dev_corpus.sh``: 223 tracks, 203 queries in 34
clusters; 3 seeds): 20 epochs 0.633 (per seed 0.653, 0.618, 0.629), 60 epochs 0.660 (+0.026 [+0.002, +0.052] over
clusters), 180 epochs 0.662 (+0.029 [-0.007, +0.066]); 20-MFCC 0.646. The dev argmax is 180 epochs; chosen
leave-one-package-out 0.649, +0.016 [-0.016, +0.048] over clusters: **not adopted**, the default stays 20 epochs
(benchmarks/RESULTS.md, "How long the contrastive family trains").

A second look (stop 57, written and committed before it ran): on the development corpus enlarged since
(unknown-horizons, blobwars-data, and the tracker modules of pingus-data, heroes-sound-tracks and tuxmath-data that
``make_dev_corpus.sh --render-packaged`` renders), the same three lengths, 3 seeds, a new CACHE folder, without ``--benchmark`` (its
lines were printed once above), under the same rule, unchanged: 180 (or whichever length is the development argmax)
replaces 20 epochs only if the choice made leave-one-package-out beats 20 epochs with its 95% CI over (package,
composer) clusters above 0. A second look with one rule makes a chance pass likelier than one look would: an
adoption is reported as such and the lead decides; this script changes no default.
The second look (2026-12-07 17:42-18:07 UTC; 274 tracks, 250 queries in 43 clusters): 20 epochs 0.613, 60 epochs
0.637, 180 epochs 0.642; chosen leave-one-package-out (180 epochs, 19 of 20 packages) +0.023 [-0.003, +0.051] over
clusters: **not adopted**, the default stays 20 epochs.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import numpy as np

from benchmarks.real_music.contrastive_dev import log_mels
from benchmarks.real_music.dev_select import _load, check_corpora, corpus_parser, decide
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from benchmarks.real_music.fusion_dev import embeddings, rows_of
from musim.models.label_eval import cosine_similarity

EPOCHS = (20, 60, 180)


def scored(corpus: Path, cache: Path, seeds: int):
    """Per-query AUC of every length (seed-averaged) and of 20-MFCC, the queries' packages and clusters, and each
    length's per-seed means, on ``corpus``."""
    from musim.audio import DESCRIPTOR_NAMES

    labels, feats = _load(corpus, cache, list(DESCRIPTOR_NAMES))
    labels_m, mel = log_mels(labels, cache / "mel.npz")
    mfcc = np.asarray(feats["mfcc20"])[rows_of(labels_m.paths, labels.paths)]
    groups = np.asarray(labels_m.groups)
    sets = pair_sets(labels_m.artists, groups, np.ones(len(labels_m), bool))
    clusters = [f"{groups[i]}/{labels_m.artists[i]}" for i, _, _ in sets]
    per, per_seed = [], []
    for epochs in EPOCHS:
        print(f"  {epochs} epochs x {seeds} seeds", flush=True)
        runs = [auc_per_query(cosine_similarity(e), sets)
                for e in embeddings(mel, seeds, epochs, cache / f"contrastive-e{epochs}-s{seeds}.npz")]
        per.append(np.mean(runs, axis=0))
        per_seed.append([r.mean() for r in runs])
    mfcc_auc = auc_per_query(cosine_similarity(mfcc), sets)
    print(f"corpus {corpus}: {len(labels_m)} tracks of {len(set(labels_m.artists))} composers; {len(sets)} queries in "
          f"{len(set(clusters))} (package, composer) clusters; 20-MFCC {mfcc_auc.mean():.3f}; per seed: " + "; ".join(
              f"{e} epochs " + ", ".join(f"{a:.3f}" for a in s) for e, s in zip(EPOCHS, per_seed, strict=True)),
          flush=True)
    return np.stack(per), mfcc_auc, groups[[i for i, _, _ in sets]], clusters


def main(argv: list[str] | None = None) -> None:
    ap: argparse.ArgumentParser = corpus_parser(__doc__, "epochs_dev", benchmark_once=True)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    check_corpora(args, "epochs_dev")
    names = [f"{e} epochs" + (" (the default)" if e == 20 else "") for e in EPOCHS]
    print("(each query's AUC averaged over the seeds)")
    decide(args, names, functools.partial(scored, seeds=args.seeds), against="20 epochs", keep="20 epochs")


if __name__ == "__main__":
    main()
