"""musicnn's pretrained embeddings chosen on the DEVELOPMENT corpus, then the choice reported once on the benchmark
corpus (issue 18).

    .venv/bin/python -m benchmarks.real_music.pretrained_dev [--dev-corpus DIR] [--corpus DIR] [--benchmark] [CACHE]

The rule, fixed before any number was seen: the candidates are musicnn's two pretrained taggers (``MSD_musicnn``,
trained on the Million Song Dataset's Last.FM tags, and ``MTT_musicnn``, on MagnaTagATune) x four layers
(``max_pool``, ``mean_pool``, ``penultimate``, ``taggram``), each averaged over the 3-second patches of the
30-second excerpt and z-scored over the corpus, scored alone (cosine) and beside the descriptor family's adopted
blocks (each block's squared norm about 1, the musicnn block at weight 1). The choice is the best mean per-query
AUC on the development corpus. It goes into the descriptor family only if choosing that way is worth something on
queries it did not see: each package scored with the candidate chosen on the other packages, against the adopted
weights on the same queries, with the CI over (package, composer) clusters above 0. ``--benchmark`` then scores
the choice once on the benchmark corpus.

Measured at stop 27: dev (171 tracks, 151 queries in 29 clusters): adopted blocks 0.673, 20-MFCC 0.614, libmusly
0.684; the choice ``MSD_musicnn/penultimate + descriptors`` 0.748; chosen leave-one-package-out 0.732, +0.059
[+0.025, +0.098] over queries, [+0.014, +0.112] over clusters (14 of 15 packages chose the same candidate). Adopted
as the ``musicnn`` block of the descriptors (``musim.audio.musicnn``, ``DEFAULT_WEIGHTS["musicnn"] = 1``). Stop 28
ran this script end to end (numpy forward pass) and got the same numbers.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import (
    _load,
    check_corpora,
    corpus_parser,
    descriptor_blocks,
    paired_ci,
    report_choice,
    weighted_similarity,
)
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from musim.models.label_baselines import read_excerpts, standardized
from musim.models.label_eval import cosine_similarity

MODELS = ("MSD_musicnn", "MTT_musicnn")
LAYERS = ("max_pool", "mean_pool", "penultimate", "taggram")
HANDCRAFTED = {"rhythm_tonal": 0.0, "mfcc": 0.0, "contrast": 1.0, "timbre": 0.75}  # the weights before the musicnn block


def per_track_cached(labels, path: Path, prog: str, features: Callable[[np.ndarray], dict[str, np.ndarray]]
                     ) -> dict[str, np.ndarray]:
    """``name -> (tracks, d)``: ``features`` of each track's 30-second excerpt at musicnn's 16 kHz, cached in
    ``path`` (an ``.npz``; read from there when it exists)."""
    if path.is_file():
        return dict(np.load(path))
    from musim.audio import musicnn

    kept, excerpts, failed = read_excerpts(labels.paths, sr=musicnn.SR)
    if len(kept) != len(labels):
        raise SystemExit(f"{prog}: {len(failed)} files failed to decode: {failed[:3]}")
    rows: dict[str, list[np.ndarray]] = {}
    for i, y in enumerate(excerpts):
        for name, vector in features(np.asarray(y, np.float32)).items():
            rows.setdefault(name, []).append(vector)
        if i % 25 == 0:
            print(f"  {prog} {i}/{len(excerpts)}", file=sys.stderr)
    out = {k: np.stack(v) for k, v in rows.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def musicnn_layers(labels, path: Path) -> dict[str, np.ndarray]:
    """``MODEL/LAYER -> (tracks, d)``: each layer averaged over the 3-second patches of the 30-second excerpt."""
    from musim.audio import musicnn

    def layers(y: np.ndarray) -> dict[str, np.ndarray]:
        patches = musicnn.patches(y)
        return {f"{model}/{k}": v.mean(axis=0) for model in MODELS
                for k, v in musicnn.forward(patches, musicnn.load_weights(model)).items() if k in LAYERS}

    return per_track_cached(labels, path, "pretrained_dev", layers)


def handcrafted_blocks(feats) -> dict[str, np.ndarray]:
    """The descriptor family's handcrafted blocks of the cached descriptor vectors (z-scored, each / sqrt(columns))."""
    from musim.audio import DESCRIPTOR_NAMES

    blocks = descriptor_blocks(feats, list(DESCRIPTOR_NAMES))
    return {k: blocks[k] for k in HANDCRAFTED}


def candidates(blocks, layers) -> dict[str, np.ndarray]:
    """Similarity matrix of every candidate: each layer alone, and beside the handcrafted blocks."""
    out = {}
    for name, v in layers.items():
        z = standardized(v.astype(np.float64))
        z = z[:, z.std(axis=0) > 0]
        z = z / np.sqrt(z.shape[1])
        out[name] = cosine_similarity(z)
        out[name + " + descriptors"] = weighted_similarity({**blocks, "musicnn": z}, {**HANDCRAFTED, "musicnn": 1.0})
    return out


def _setup(corpus: Path, cache: Path):
    from musim.audio import DESCRIPTOR_NAMES

    labels, feats = _load(corpus, cache, list(DESCRIPTOR_NAMES))
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    blocks = handcrafted_blocks(feats)
    return labels, feats, groups, sets, blocks, musicnn_layers(labels, cache / "musicnn.npz")


def main(argv: list[str] | None = None) -> None:
    args = corpus_parser(__doc__, "pretrained_dev", benchmark_once=True).parse_args(argv)
    check_corpora(args, "pretrained_dev")
    rng = np.random.default_rng(0)
    labels, feats, groups, sets, blocks, layers = _setup(args.dev_corpus, args.cache / "dev")
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    base = auc_per_query(weighted_similarity(blocks, HANDCRAFTED), sets)
    print(f"development corpus: {len(labels)} tracks, {len(sets)} queries in {len(set(clusters))} clusters; "
          f"handcrafted blocks {base.mean():.3f}, 20-MFCC {auc_per_query(cosine_similarity(feats['mfcc20']), sets).mean():.3f}, "
          f"libmusly {auc_per_query(feats['musly'], sets).mean():.3f}")
    cands = candidates(blocks, layers)
    names = list(cands)
    per = np.stack([auc_per_query(cands[n], sets) for n in names])
    i, better = report_choice(per, names, base, groups[[i for i, _, _ in sets]], clusters, rng, against="handcrafted")
    choice = names[i]
    print(f"-> {'adopt' if better else 'do not adopt'} {choice}")
    if not args.benchmark:
        return
    labels, feats, groups, sets, blocks, layers = _setup(args.corpus, args.cache / "benchmark")
    auc = auc_per_query(candidates(blocks, layers)[choice], sets)
    mfcc = auc_per_query(cosine_similarity(feats["mfcc20"]), sets)
    m, lo, hi = paired_ci(auc - mfcc, rng)
    print(f"once on the benchmark ({len(labels)} tracks, {len(sets)} queries), {choice}: {auc.mean():.3f}; 20-MFCC "
          f"{mfcc.mean():.3f} ({m:+.3f} [{lo:+.3f}, {hi:+.3f}]); handcrafted blocks "
          f"{auc_per_query(weighted_similarity(blocks, HANDCRAFTED), sets).mean():.3f}; libmusly "
          f"{auc_per_query(feats['musly'], sets).mean():.3f}")


if __name__ == "__main__":
    main()
