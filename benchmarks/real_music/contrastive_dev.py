"""The contrastive family's track embedding chosen on the DEVELOPMENT corpus (issue 18; label-free).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.contrastive_dev \\
        [--benchmark] [--seeds 3] [--epochs 20] [CACHE]

The family's served embedding has been the encoder's output, the ``encoding`` Dense layer with a ReLU, averaged
over ``embed_crops`` crops and L2-normalised. On real music about half its units are 0 for every track and the
cosines between tracks are 0.97-1.0: the vectors share one large positive direction, and what tells tracks apart
is a small part of each. SimCLR's representation is taken before the projection head, but from a ResNet's
average pool (non-negative and then compared by linear probes, which centre it), not from a ReLU'd vector compared
by raw cosine. The candidates, all label-free (what they fit is the training tracks' mean, as the family trains on
its whole library):

- **A, as served** (the reference): relu ``encoding``, mean over crops, L2;
- **B, A centred**: the same model; the training tracks' mean embedding (before L2) subtracted, then L2;
- **C, linear encoding**: the encoder retrained with no activation on ``encoding`` (``dense_activation``
  None), mean over crops, L2;
- **D, C centred** (for a linear layer the mean folds into the layer's bias, so the model serves it alone);
- **E, the pooled features**: A's model read before ``encoding`` (the global max-pool over time), mean over crops,
  centred, L2.

Each network is trained on the corpus's log-mels alone (the family's defaults but ``dense_activation``; the
log-mels as ``musim embed`` featurises a file: :func:`musim.models.audio_files.featurise_files` with the default
:class:`musim.audio.MelParams`), with ``--seeds`` seeds per architecture; each query's AUC is averaged over the
seeds, so that one lucky initialisation does not choose. Composer AUC within a package, as the benchmark scores it.

The rule, fixed before this script first ran: the development argmax among B-E replaces A (the family's served
embedding) only if the choice made leave-one-package-out (:func:`benchmarks.real_music.dev_select.report_choice`)
beats A with its 95% CI over (package, composer) clusters above 0. Otherwise nothing changes, whatever the
benchmark prints. ``--benchmark`` trains and scores every candidate once on the benchmark corpus, after the
choice (never used to choose).

The run (2026-12-06, the development corpus of ``make_dev_corpus.sh``: 217 tracks, 197 queries in 34 clusters; 3
seeds x 20 epochs): A 0.629, B 0.626, C 0.632, D 0.629, E 0.631; the choice (C) made leave-one-package-out 0.619,
-0.010 [-0.035, +0.009] over clusters: **not adopted**, the served embedding is unchanged (benchmarks/RESULTS.md,
"The contrastive family's embedding"). The collapse it was meant to fix did not show on the development corpus:
the served vectors' mean cosine between tracks was 0.61-0.63 with no unit 0 for every track.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import check_corpora, corpus_parser, paired_ci, report_choice
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from musim.models.label_eval import cosine_similarity
from musim.models.labels import LabelSet, read_labels

NAMES = {"A": "A as served (relu encoding, L2)", "B": "B relu encoding, centred, L2",
         "C": "C linear encoding, L2", "D": "D linear encoding, centred, L2",
         "E": "E pooled features before encoding, centred, L2"}


def log_mels(labels: LabelSet, path: Path) -> tuple[LabelSet, np.ndarray]:
    """The log-mels ``(n, 256, 64)`` float16 of the files that decode and their labels (cached by file in
    ``path``: files already featurised are not read again)."""
    from musim.audio import MelParams
    from musim.models.audio_files import featurise_files

    cached: dict[str, np.ndarray | str] = {}
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        cached = {str(p): m for p, m in zip(z["paths"], z["mel"], strict=True)}
        cached |= {str(p): "failed" for p in z["failed"]}
    todo = [p for p in labels.paths if str(p) not in cached]
    if todo:
        cached |= {str(p): x for p, x in zip(todo, featurise_files(todo, MelParams()), strict=True)}
        good = [k for k, v in cached.items() if not isinstance(v, str)]
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, paths=np.asarray(good), mel=np.stack([cached[k] for k in good]),
                 failed=np.asarray([k for k, v in cached.items() if isinstance(v, str)], dtype=str))
    kept = [i for i, p in enumerate(labels.paths) if not isinstance(cached[str(p)], str)]
    for p in labels.paths:
        if isinstance(cached[str(p)], str):
            print(f"  skipped {p}: {cached[str(p)]}")
    return labels.subset(kept), np.stack([cached[str(labels.paths[i])] for i in kept])


def crop_means(model, mel: np.ndarray, crops: int) -> np.ndarray:
    """``model``'s mean over ``crops`` evenly spaced crops of each log-mel, before any normalisation (what
    :func:`musim.models.contrastive.embed` L2-normalises)."""
    from musim.models.contrastive import crops_of

    crop_frames = int(model.input_shape[1])
    out = []
    for s in range(0, mel.shape[0], 32):
        x = np.concatenate([crops_of(m, crop_frames, crops) for m in mel[s:s + 32]])
        out.append(np.asarray(model(x, training=False)).reshape(-1, crops, model.output_shape[-1]).mean(axis=1))
    return np.concatenate(out).astype(np.float64)


def centred(v: np.ndarray) -> np.ndarray:
    """The rows minus their mean (the training tracks are the scored tracks: the family trains on its library)."""
    return v - v.mean(axis=0, keepdims=True)


def diagnose(v: np.ndarray) -> str:
    """Mean cosine between different tracks and the number of dimensions that are 0 for every track."""
    s = cosine_similarity(v)
    off = s[~np.eye(s.shape[0], dtype=bool)]
    return f"mean cosine between tracks {off.mean():.3f}, dead dims {int((np.abs(v).max(axis=0) == 0).sum())}/{v.shape[1]}"


def variants(mel: np.ndarray, seeds: int, epochs: int, log: Callable[[str], None]) -> dict[str, list[np.ndarray]]:
    """Each candidate's track vectors (before the cosine), one per seed."""
    import keras

    from musim.models.contrastive import train_contrastive
    from musim.models.hyperparams import ContrastiveParams

    out: dict[str, list[np.ndarray]] = {k: [] for k in NAMES}
    for seed in range(seeds):
        for act in ("relu", None):
            p = ContrastiveParams(seed=seed, epochs=epochs, dense_activation=act)
            t0 = time.perf_counter()
            res = train_contrastive(mel.astype(np.float32), params=p)
            raw = crop_means(res.model, mel, p.embed_crops)
            log(f"  seed {seed}, encoding {act or 'linear'}: loss {res.history['loss'][0]:.3f} -> "
                f"{res.history['loss'][-1]:.3f}, {time.perf_counter() - t0:.0f} s; served: {diagnose(raw)}")
            if act == "relu":
                out["A"].append(raw)
                out["B"].append(centred(raw))
                pooled = keras.Model(res.model.input, res.model.get_layer("time_max").output)
                out["E"].append(centred(crop_means(pooled, mel, p.embed_crops)))
            else:
                out["C"].append(raw)
                out["D"].append(centred(raw))
    return out


def per_query(vecs: dict[str, list[np.ndarray]], sets) -> dict[str, np.ndarray]:
    """Each candidate's per-query AUC, averaged over the seeds."""
    return {k: np.mean([auc_per_query(cosine_similarity(v), sets) for v in vs], axis=0) for k, vs in vecs.items()}


def _setup(labels: LabelSet, cache: Path) -> tuple[LabelSet, np.ndarray, list, list[str], np.ndarray]:
    labels, mel = log_mels(labels, cache)
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    return labels, mel, sets, clusters, groups[[i for i, _, _ in sets]]


def main(argv: list[str] | None = None) -> None:
    ap: argparse.ArgumentParser = corpus_parser(__doc__, "contrastive_dev", benchmark_once=True)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args(argv)
    check_corpora(args, "contrastive_dev")
    rng = np.random.default_rng(0)
    cache = args.cache / "contrastive"

    dev = read_labels(Path(args.dev_corpus) / "manifest.csv", group_by="source_package")
    labels, mel, sets, clusters, package_of = _setup(dev, cache / "dev-mel.npz")
    print(f"development corpus {args.dev_corpus}: {len(labels)} tracks of {len(set(labels.artists))} composers; "
          f"{len(sets)} queries in {len(set(clusters))} (package, composer) clusters; {args.seeds} seeds x "
          f"{args.epochs} epochs", flush=True)
    vecs = variants(mel, args.seeds, args.epochs, lambda s: print(s, flush=True))
    for k, vs in vecs.items():
        print(f"  {NAMES[k]}: {diagnose(vs[0])} (seed 0)")
    per = per_query(vecs, sets)
    for k in NAMES:
        per_seed = [auc_per_query(cosine_similarity(v), sets).mean() for v in vecs[k]]
        print(f"  {NAMES[k]}: dev {per[k].mean():.3f} (per seed " + ", ".join(f"{a:.3f}" for a in per_seed) + ")")
    cands = [k for k in NAMES if k != "A"]
    print("\non the development corpus, against A as served (per query AUC averaged over seeds):")
    choice, passed = report_choice(np.stack([per[k] for k in cands]), [NAMES[k] for k in cands], per["A"],
                                   package_of, clusters, rng, against="A")
    print(f"decision: {'ADOPT ' + NAMES[cands[choice]] if passed else 'keep A (the rule is not met)'}", flush=True)

    if args.benchmark:
        bench = read_labels(Path(args.corpus) / "manifest.csv", group_by="source_package")
        labels_b, mel_b, sets_b, _, _ = _setup(bench, cache / "benchmark-mel.npz")
        per_b = per_query(variants(mel_b, args.seeds, args.epochs, lambda s: None), sets_b)
        print(f"\nonce on the benchmark corpus {args.corpus} ({len(labels_b)} tracks, {len(sets_b)} queries; NOT used "
              "to choose): " + "; ".join(f"{k} {per_b[k].mean():.3f}" for k in NAMES))
        for k in cands:
            m, lo, hi = paired_ci(per_b[k] - per_b["A"], rng)
            print(f"  {NAMES[k]} - A: {m:+.3f} [{lo:+.3f}, {hi:+.3f}] over queries")


if __name__ == "__main__":
    main()
