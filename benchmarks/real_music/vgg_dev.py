"""A second pretrained network, the VGG taggers of the ``musicnn`` wheel, beside or instead of the ``musicnn``
block, chosen on the DEVELOPMENT corpus, then the choice reported once on the benchmark corpus (issue 18).

    .venv/bin/python -m benchmarks.real_music.vgg_dev [--dev-corpus DIR] [--corpus DIR] [--benchmark] [CACHE]

The wheel carries two more models than the ones :mod:`musim.audio.musicnn` reads: ``MSD_vgg`` and ``MTT_vgg``
(Pons & Serra 2019: five 3x3 convolution layers of 128 filters over the same 3-second, 96-band log-mel patches,
each followed by batch norm and max pooling; no musically motivated front end). This script computes their
pooling layers with the wheel's own TF1 graph, variables frozen from the checkpoint
(:mod:`benchmarks.real_music.tf_graph`, the reference ``tests/audio/test_musicnn.py`` checks the musicnn models
against); a VGG block adopted into the descriptors would get a numpy forward pass checked against this graph, as
the musicnn block has.

The rule, fixed before any number was seen (stop 29): the candidates are the two models x three layers
(``pool3``, ``pool4``, ``pool5``), each layer's per-channel mean over its time-frequency positions averaged over
the back-to-back patches of the 30-second excerpt (128 columns), z-scored over the corpus and divided by the
square root of its columns, at weight 1 either BESIDE the adopted blocks (handcrafted + musicnn) or INSTEAD OF the
musicnn block (12 candidates), plus the adopted blocks themselves (the reference). The choice is the best mean
per-query AUC on the development corpus. It replaces the adopted blocks only if choosing that way is worth
something on queries it did not see: each package scored with the candidate chosen on the other packages, against
the adopted blocks on the same queries, with the CI over (package, composer) clusters above 0. ``--benchmark``
then scores the choice once on the benchmark corpus.

Measured at stop 29 (dev: 171 tracks, 151 queries in 29 clusters; 12 minutes, TensorFlow on 2 cores): adopted
blocks 0.748; beside musicnn: MTT_vgg/pool5 0.751, MSD_vgg/pool3 0.750, MTT_vgg/pool3 0.745, the pool4 layers
0.735-0.738; instead of musicnn every VGG layer is lower (0.689-0.729). The argmax, MTT_vgg/pool5 beside musicnn,
chosen leave-one-package-out: 0.731 against 0.748, -0.017 [-0.048, +0.003] over clusters (12 of 15 packages chose
it). The adopted blocks are kept; ``--benchmark`` was not run (the choice is the adopted blocks, whose benchmark
score is known).
"""

from __future__ import annotations

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
from benchmarks.real_music.musicnn_dev import musicnn_block
from benchmarks.real_music.pretrained_dev import HANDCRAFTED, per_track_cached
from benchmarks.real_music.tf_graph import FrozenGraph
from musim.models.label_eval import cosine_similarity

MODELS = ("MSD_vgg", "MTT_vgg")
LAYERS = {"pool3": "model/max_pooling2d_2/MaxPool", "pool4": "model/max_pooling2d_3/MaxPool",
          "pool5": "model/max_pooling2d_4/MaxPool"}
ROLES = ("beside musicnn", "instead of musicnn")
ADOPTED = "adopted blocks"


def vgg_layers(labels, path: Path) -> dict[str, np.ndarray]:
    """``MODEL/LAYER -> (tracks, 128)`` for every track."""
    from musim.audio import musicnn

    nets: dict[str, FrozenGraph] = {}

    def layers(y: np.ndarray) -> dict[str, np.ndarray]:
        """Each layer's per-channel mean over positions, averaged over the patches."""
        patches = musicnn.patches(y)
        out = {}
        for model in MODELS:
            net = nets.setdefault(model, FrozenGraph(model, LAYERS))
            out.update({f"{model}/{k}": v.mean(axis=(0, 1, 2)) for k, v in net.run(patches).items()})
        return out

    return per_track_cached(labels, path, "vgg_dev", layers)


def candidates(blocks, musicnn, layers) -> dict[str, np.ndarray]:
    """Similarity matrix of every candidate: the adopted blocks, and each VGG layer beside or instead of musicnn."""
    adopted = {**HANDCRAFTED, "musicnn": 1.0}
    out = {ADOPTED: weighted_similarity({**blocks, "musicnn": musicnn}, adopted)}
    for name, v in layers.items():
        vgg = musicnn_block(v)
        out[f"{name}, beside musicnn"] = weighted_similarity({**blocks, "musicnn": musicnn, "vgg": vgg},
                                                             {**adopted, "vgg": 1.0})
        out[f"{name}, instead of musicnn"] = weighted_similarity({**blocks, "vgg": vgg}, {**HANDCRAFTED, "vgg": 1.0})
    return out


def _setup(corpus: Path, cache: Path):
    from musim.audio import DESCRIPTOR_NAMES

    labels, feats = _load(corpus, cache, list(DESCRIPTOR_NAMES))
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    blocks = descriptor_blocks(feats, list(DESCRIPTOR_NAMES))
    return (labels, feats, groups, sets, {k: blocks[k] for k in HANDCRAFTED}, blocks["musicnn"],
            vgg_layers(labels, cache / "vgg.npz"))


def main(argv: list[str] | None = None) -> None:
    args = corpus_parser(__doc__, "vgg_dev", benchmark_once=True).parse_args(argv)
    check_corpora(args, "vgg_dev")
    rng = np.random.default_rng(0)
    labels, feats, groups, sets, blocks, musicnn, layers = _setup(args.dev_corpus, args.cache / "dev")
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    cands = candidates(blocks, musicnn, layers)
    names = list(cands)
    per = np.stack([auc_per_query(cands[n], sets) for n in names])
    base = per[names.index(ADOPTED)]
    print(f"development corpus: {len(labels)} tracks, {len(sets)} queries in {len(set(clusters))} clusters; "
          f"adopted blocks {base.mean():.3f}, 20-MFCC {auc_per_query(cosine_similarity(feats['mfcc20']), sets).mean():.3f}")
    i, better = report_choice(per, names, base, groups[[i for i, _, _ in sets]], clusters, rng, against="adopted")
    choice = names[i]
    print(f"-> {'adopt ' + choice if better and choice != ADOPTED else 'keep the adopted blocks'}")
    if not args.benchmark:
        return
    labels, feats, groups, sets, blocks, musicnn, layers = _setup(args.corpus, args.cache / "benchmark")
    scored = candidates(blocks, musicnn, layers)
    auc, adopted = auc_per_query(scored[choice], sets), auc_per_query(scored[ADOPTED], sets)
    mfcc = auc_per_query(cosine_similarity(feats["mfcc20"]), sets)
    m, lo, hi = paired_ci(auc - mfcc, rng)
    print(f"once on the benchmark ({len(labels)} tracks, {len(sets)} queries), {choice}: {auc.mean():.3f}; "
          f"20-MFCC {mfcc.mean():.3f} ({m:+.3f} [{lo:+.3f}, {hi:+.3f}]); adopted blocks {adopted.mean():.3f}")


if __name__ == "__main__":
    main()
