"""Within-track variability removed from the descriptor family's vectors, chosen on the DEVELOPMENT corpus
(issue 18; label-free: the only "label" is which track a crop came from).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.wccn_dev [--benchmark] [CACHE]

Speaker recognition's session compensation, applied to composers: the directions in which the descriptors of
the same track move from one part of it to another (its 30-s excerpt cut into three 10-s crops) carry what varies
inside a piece (sections, dynamics, the estimate's own noise), not what tells composers apart. Two ways to remove
them, both fitted without labels on the corpus being scored (as the family fits its z-scoring on its library):

- **WCCN** (within-class covariance normalisation, Hatch et al. 2006): the family's weighted vector times
  ``S_w^-1/2``, where ``S_w`` is the within-track covariance of the crops (shrunk towards its mean eigenvalue by
  ``alpha``; 542 columns against ~340 degrees of freedom need it);
- **NAP** (nuisance attribute projection, Solomonoff et al. 2005): the vector with its component along the top
  ``k`` eigenvectors of ``S_w`` removed.

Candidates: WCCN at alpha 0.05, 0.1, 0.2, 0.4, 0.7 and NAP at k 5, 10, 20, 40, 80, against the family as adopted
(:data:`musim.models.families.descriptors.DEFAULT_WEIGHTS`, no transform). The vectors transformed are the
family's: the whole excerpt's descriptors, z-scored over the corpus, each block scaled by its weight.

The rule, fixed before this script first ran (stop 33): the development argmax is adopted only if the choice
made leave-one-package-out (:func:`benchmarks.real_music.dev_select.held_out_choice`) beats the adopted family
with its CI over (package, composer) clusters above 0. Otherwise nothing changes, whatever the benchmark prints.
``--benchmark`` prints every candidate once on the benchmark corpus (never used to choose).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import (
    _load,
    check_corpora,
    corpus_parser,
    descriptor_blocks,
    paired_ci,
    report_choice,
)
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from benchmarks.real_music.timbre_dev import SR
from musim.models.label_eval import cosine_similarity
from musim.models.labels import read_labels

CROPS = 3
ALPHAS = (0.05, 0.1, 0.2, 0.4, 0.7)
NAP_KS = (5, 10, 20, 40, 80)


def crop_descriptors(labels, kept: np.ndarray, path: Path, crops: int = CROPS) -> np.ndarray:
    """``(tracks, crops, columns)`` descriptors of each kept track's excerpt cut into ``crops`` equal parts
    (cached in ``path``)."""
    if path.is_file():
        return np.load(path)
    from musim.audio import descriptor_vector, descriptors
    from musim.models.label_baselines import read_excerpts

    paths = [labels.paths[int(i)] for i in kept]
    got, excerpts, failed = read_excerpts(paths, sr=SR)
    if failed or len(got) != len(paths):
        raise SystemExit(f"wccn_dev: {len(failed)} excerpts no longer decode: {failed[:3]}")
    out = []
    for n, y in enumerate(excerpts):
        parts = np.array_split(np.asarray(y, np.float32), crops)
        out.append([descriptor_vector(descriptors(p, sr=SR)) for p in parts])
        if n % 20 == 0:
            print(f"  crops {n}/{len(excerpts)}", file=sys.stderr)
    arr = np.asarray(out, dtype=np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)
    return arr


def family_vectors(desc: np.ndarray, crops: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The family's weighted vectors of the excerpts ``desc (n, columns)`` and of their crops ``(n, c, columns)``,
    both z-scored with the excerpts' statistics; blocks at weight 0 left out."""
    from musim.models.families.descriptors import DEFAULT_WEIGHTS, block_scales

    mean, std = desc.mean(axis=0), desc.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scales = block_scales(names, DEFAULT_WEIGHTS).astype(np.float64)
    keep = scales > 0
    x = ((desc - mean) / std * scales)[:, keep]
    c = ((crops - mean) / std * scales)[:, :, keep]
    return x, c


def within_track_scatter(crops: np.ndarray) -> np.ndarray:
    """The within-track covariance ``S_w`` of ``crops (n, c, d)``: crops centred on their track's mean."""
    centred = crops - crops.mean(axis=1, keepdims=True)
    flat = centred.reshape(-1, crops.shape[2])
    return flat.T @ flat / max(crops.shape[0] * (crops.shape[1] - 1), 1)


def wccn(x: np.ndarray, scatter: np.ndarray, alpha: float) -> np.ndarray:
    """``x`` times ``S^-1/2`` of ``S = (1 - alpha) S_w + alpha * mean eigenvalue * I``."""
    vals, vecs = np.linalg.eigh(scatter)
    vals = (1 - alpha) * np.clip(vals, 0, None) + alpha * max(float(vals.mean()), 1e-12)
    return x @ (vecs / np.sqrt(vals)) @ vecs.T


def nap(x: np.ndarray, scatter: np.ndarray, k: int) -> np.ndarray:
    """``x`` without its components along the top ``k`` eigenvectors of ``S_w``."""
    _, vecs = np.linalg.eigh(scatter)
    top = vecs[:, -k:]
    return x - (x @ top) @ top.T


def candidates(x: np.ndarray, crops: np.ndarray) -> dict[str, np.ndarray]:
    """The adopted family's vectors first, then each transform's (same row order)."""
    scatter = within_track_scatter(crops)
    out = {"adopted (no transform)": x}
    out.update({f"WCCN alpha {a:g}": wccn(x, scatter, a) for a in ALPHAS})
    out.update({f"NAP k {k}": nap(x, scatter, k) for k in NAP_KS if k < x.shape[1]})
    return out


def _scored(corpus: Path, cache: Path, names: list[str]):
    labels, feats = _load(corpus, cache, names)
    crops = crop_descriptors(read_labels(corpus / "manifest.csv", group_by="source_package"), feats["kept"],
                             cache / f"crops-{CROPS}-{len(names)}.npy")
    x, c = family_vectors(np.asarray(feats["desc"], np.float64), crops, names)
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    per = {name: auc_per_query(cosine_similarity(v), sets) for name, v in candidates(x, c).items()}
    return labels, feats, groups, sets, per


def main(argv: list[str] | None = None) -> None:
    from musim.audio import DESCRIPTOR_NAMES

    args = corpus_parser(__doc__, "wccn_dev", benchmark_once=True).parse_args(argv)
    check_corpora(args, "wccn_dev")
    names = list(DESCRIPTOR_NAMES)
    rng = np.random.default_rng(0)
    labels, feats, groups, sets, per = _scored(Path(args.dev_corpus), args.cache / "dev", names)
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    packages = groups[[i for i, _, _ in sets]]
    # the family as the other development scripts score it, to check this script's vectors are the same
    ref = auc_per_query(cosine_similarity(np.concatenate(
        [b for b in _weighted(descriptor_blocks(feats, names)).values()], axis=1)), sets)
    print(f"development corpus: {len(labels)} tracks, {len(sets)} queries in {len(set(clusters))} clusters; "
          f"the adopted family {ref.mean():.3f} (dev_select's blocks)")
    names_c = list(per)
    table = np.stack([per[n] for n in names_c])
    base = per[names_c[0]]
    choice, adopt = report_choice(table, names_c, base, packages, clusters, rng, against="adopted")
    print(f"rule: {'ADOPT ' + names_c[choice] if adopt else 'nothing adopted'} (the held-out choice above)")
    if args.benchmark:
        labels_b, feats_b, groups_b, sets_b, per_b = _scored(Path(args.corpus), args.cache / "benchmark", names)
        mfcc = auc_per_query(cosine_similarity(feats_b["mfcc20"]), sets_b)
        print(f"\nonce on the benchmark ({len(labels_b)} tracks, {len(sets_b)} queries; never used to choose): "
              f"20-MFCC {mfcc.mean():.3f}")
        for name, auc in per_b.items():
            m, lo, hi = paired_ci(auc - mfcc, rng)
            print(f"  {name}: {auc.mean():.3f}; - 20-MFCC {m:+.3f} [{lo:+.3f}, {hi:+.3f}]")


def _weighted(blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from musim.models.families.descriptors import DEFAULT_WEIGHTS

    return {k: w * blocks[k] for k, w in DEFAULT_WEIGHTS.items() if w > 0}


if __name__ == "__main__":
    main()
