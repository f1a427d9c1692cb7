"""How the ``musicnn`` block is pooled and weighted, chosen on the DEVELOPMENT corpus, then the choice reported once
on the benchmark corpus (issue 18).

    .venv/bin/python -m benchmarks.real_music.musicnn_dev [--dev-corpus DIR] [--corpus DIR] [--benchmark] [CACHE]

The rule, fixed before any number was seen (stop 28): the candidates are four poolings of musicnn's MSD
penultimate layer over the 30-second excerpt -- the mean over back-to-back 3-second patches (the adopted block),
the mean over half-overlapping patches (twice the patches), the mean and the standard deviation over back-to-back
patches (400 columns), and the MSD and MTT models' means side by side (400 columns) -- each z-scored over the
corpus, beside the handcrafted blocks at their adopted weights, with the musicnn block at weight 0.5, 0.75, 1, 1.5
or 2 (20 candidates; the adopted block at weight 1 is one of them, and the reference). The choice is the best mean
per-query AUC on the development corpus. It replaces the adopted pooling or weight only if choosing that way is
worth something on queries it did not see: each package scored with the candidate chosen on the other packages,
against the adopted block on the same queries, with the CI over (package, composer) clusters above 0.
``--benchmark`` then scores the choice once on the benchmark corpus.

Measured at stop 28 (dev: 171 tracks, 151 queries in 29 clusters): the adopted block is the argmax (0.748);
half-overlapping patches 0.747 at weight 1 and 1.5, mean + std and MSD + MTT at most 0.743, every pooling at
weight 0.5 about 0.70; chosen leave-one-package-out 0.732, -0.016 [-0.040, -0.002] over clusters: the adopted
block is kept (``--benchmark`` was not run: the choice is the adopted block, whose benchmark score is known).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import (
    _load,
    check_corpora,
    corpus_parser,
    paired_ci,
    report_choice,
    weighted_similarity,
)
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from benchmarks.real_music.pretrained_dev import HANDCRAFTED, handcrafted_blocks, per_track_cached
from musim.models.label_baselines import standardized
from musim.models.label_eval import cosine_similarity

POOLINGS = ("mean", "mean, half-overlapping patches", "mean + std", "MSD + MTT means")
WEIGHTS = (0.5, 0.75, 1.0, 1.5, 2.0)
ADOPTED = ("mean", 1.0)


def patch_layers(labels, path: Path) -> dict[str, np.ndarray]:
    """The poolings of every track (``POOLINGS`` -> ``(tracks, d)``), from the penultimate layer per patch."""
    from musim.audio import musicnn

    def poolings(y: np.ndarray) -> dict[str, np.ndarray]:
        msd, mtt = musicnn.load_weights("MSD_musicnn"), musicnn.load_weights("MTT_musicnn")
        back_to_back = musicnn.patches(y)
        per_patch = musicnn.forward(back_to_back, msd)["penultimate"]
        overlapping = musicnn.forward(musicnn.patches(y, hop=musicnn.PATCH_FRAMES // 2), msd)["penultimate"]
        mean = per_patch.mean(axis=0)
        return {"mean": mean, "mean, half-overlapping patches": overlapping.mean(axis=0),
                "mean + std": np.concatenate([mean, per_patch.std(axis=0)]),
                "MSD + MTT means": np.concatenate([mean, musicnn.forward(back_to_back, mtt)["penultimate"].mean(axis=0)])}

    return per_track_cached(labels, path, "musicnn_dev", poolings)


def musicnn_block(pooled: np.ndarray) -> np.ndarray:
    """z-scored columns (constant ones dropped), divided by the square root of their number."""
    z = standardized(pooled.astype(np.float64))
    z = z[:, z.std(axis=0) > 0]
    return z / np.sqrt(z.shape[1])


def candidates(blocks, layers) -> dict[tuple[str, float], np.ndarray]:
    """Similarity matrix of every (pooling, weight), beside the handcrafted blocks at their adopted weights."""
    out = {}
    for pooling in POOLINGS:
        block = musicnn_block(layers[pooling])
        for weight in WEIGHTS:
            out[pooling, weight] = weighted_similarity({**blocks, "musicnn": block}, {**HANDCRAFTED, "musicnn": weight})
    return out


def _setup(corpus: Path, cache: Path):
    from musim.audio import DESCRIPTOR_NAMES

    labels, feats = _load(corpus, cache, list(DESCRIPTOR_NAMES))
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    return labels, feats, groups, sets, handcrafted_blocks(feats), patch_layers(labels, cache / "musicnn_pooling.npz")


def _name(candidate: tuple[str, float]) -> str:
    return f"{candidate[0]}, weight {candidate[1]:g}"


def main(argv: list[str] | None = None) -> None:
    args = corpus_parser(__doc__, "musicnn_dev", benchmark_once=True).parse_args(argv)
    check_corpora(args, "musicnn_dev")
    rng = np.random.default_rng(0)
    labels, feats, groups, sets, blocks, layers = _setup(args.dev_corpus, args.cache / "dev")
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    cands = candidates(blocks, layers)
    names = list(cands)
    per = np.stack([auc_per_query(cands[n], sets) for n in names])
    base = per[names.index(ADOPTED)]
    print(f"development corpus: {len(labels)} tracks, {len(sets)} queries in {len(set(clusters))} clusters; "
          f"adopted block ({_name(ADOPTED)}) {base.mean():.3f}, "
          f"20-MFCC {auc_per_query(cosine_similarity(feats['mfcc20']), sets).mean():.3f}")
    i, better = report_choice(per, [_name(n) for n in names], base, groups[[i for i, _, _ in sets]], clusters, rng,
                              against="adopted")
    choice = names[i]
    print(f"-> {'adopt ' + _name(choice) if better and choice != ADOPTED else 'keep the adopted block'}")
    if not args.benchmark:
        return
    labels, feats, groups, sets, blocks, layers = _setup(args.corpus, args.cache / "benchmark")
    scored = candidates(blocks, layers)
    auc, adopted = auc_per_query(scored[choice], sets), auc_per_query(scored[ADOPTED], sets)
    mfcc = auc_per_query(cosine_similarity(feats["mfcc20"]), sets)
    m, lo, hi = paired_ci(auc - mfcc, rng)
    print(f"once on the benchmark ({len(labels)} tracks, {len(sets)} queries), {_name(choice)}: {auc.mean():.3f}; "
          f"20-MFCC {mfcc.mean():.3f} ({m:+.3f} [{lo:+.3f}, {hi:+.3f}]); adopted block {adopted.mean():.3f}")


if __name__ == "__main__":
    main()
