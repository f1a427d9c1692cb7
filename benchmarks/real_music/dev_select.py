"""The descriptor family's block weights chosen on the DEVELOPMENT corpus, then each candidate reported once on
the benchmark corpus (issue 18).

    MUSIM_REAL_MUSIC_DEV=benchmarks/data/real_music_dev MUSIM_REAL_MUSIC=benchmarks/data/real_music \\
        .venv/bin/python -m benchmarks.real_music.dev_select [--dev-corpus DIR] [--corpus DIR] [CACHE_DIR]

The development corpus is the one ``benchmarks/real_music/make_dev_corpus.sh`` assembles: Debian game
soundtracks disjoint from the benchmark's packages and from the reserved ones, so every one of its composers
is a development composer (no split: :func:`benchmarks.real_music.timbre_dev._split` halves the benchmark's
own composers, and the halves cannot score a package whose composers all land on one side). Features are cached
per corpus under ``CACHE_DIR/dev`` and ``CACHE_DIR/benchmark`` (default ``/tmp/musim_dev_select``) by
:func:`benchmarks.real_music.timbre_dev._cache` (the same 30-second excerpts, descriptors, 20-MFCC baseline and
libmusly matrix); every candidate z-scores the columns over the corpus it is scored on, as the family does over
its library.

The candidates, all chosen on the development corpus only, with the blocks of
:mod:`benchmarks.real_music.family_dev` (each block's squared norm about 1 before its weight):

- the adopted weights (:data:`musim.models.families.descriptors.DEFAULT_WEIGHTS`);
- the argmax of the grid over the descriptor blocks (0..1 by 0.25, one block at 1), and the grid point that is
  best most often over bootstrap resamples of the development queries;
- equal block weights (the descriptor blocks; and with the 5 block-level patterns of Seyerlehner et al.);
- greedy forward selection over every block (:func:`benchmarks.real_music.family_dev._greedy`).

Each is scored on the development corpus against the adopted weights with two paired bootstrap CIs of the
difference: over query tracks (as family_dev) and over (package, composer) clusters of queries (a composer's
queries are not independent). A candidate chosen as the best of many on these queries is scored on the queries
that chose it, so its CI is optimistic; :func:`held_out_choice` measures the grid choice honestly: each package's
queries scored with the grid point chosen on the other packages (leave one package out), against the adopted
weights on the same queries. Then each is reported once on the benchmark corpus as
``benchmarks/bench_real_music.py`` scores it (every query of the whole corpus), beside the 20-MFCC and libmusly
baselines from the same cache, and per package.

The rule for re-weighting once the ``musicnn`` block joined (stop 28, fixed before this script was run on the
5-block grid): the grid's argmax on the development corpus replaces ``DEFAULT_WEIGHTS`` only if the held-out
choice beats the adopted weights with the CI over (package, composer) clusters above 0; otherwise the adopted
weights stay, whatever the benchmark lines print. Stop 28's run: dev argmax (rhythm/tonal 0.25, mfcc 0.5,
contrast 0.75, timbre 0.75, musicnn 1) 0.754 against 0.748; held out 0.735, -0.012 [-0.035, +0.007] over
clusters: not adopted (benchmarks/RESULTS.md, "Re-weighting and pooling after the musicnn block").

Stop 34 gave the development corpus a MIDI part like the benchmark's (music21 scores by five composers the
benchmark does not use, rendered with the same two soundfonts; ``make_dev_corpus.sh``), so that the weights are
also chosen on scores, not only on game soundtracks. The rule, fixed before this script was run on that corpus,
is stop 28's unchanged: the 5-block grid's argmax replaces ``DEFAULT_WEIGHTS`` only if the held-out choice
(leave one package out; the MIDI part is one package) beats the adopted weights with the CI over (package,
composer) clusters above 0; the benchmark lines are printed once and not used.
"""

from __future__ import annotations

import argparse
import itertools
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from benchmarks.real_music.family_dev import (
    _greedy,
    auc_per_query,
    correlation_pattern,
    delta_spectral_pattern,
    fluctuation_pattern,
    pair_sets,
    reduce_bands,
    spectral_pattern,
)
from benchmarks.real_music.timbre_dev import _cache
from musim.models.label_baselines import standardized
from musim.models.label_eval import cosine_similarity
from musim.models.labels import read_labels
from musim.terminal import Parser

PATTERNS = ("spectral pattern", "delta spectral pattern", "variance delta spectral pattern", "fluctuation pattern",
            "correlation pattern")
GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


def descriptor_blocks(feats: Mapping[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    """The descriptor family's blocks of the cached descriptor vectors ``feats["desc"]`` (columns ``names``):
    z-scored columns, each block divided by the square root of its columns (its squared norm about 1)."""
    from musim.models.families.descriptors import BLOCKS, block_of

    of = np.array([block_of(n) for n in names])
    z = standardized(feats["desc"]).astype(np.float64)
    return {b: z[:, of == b] / np.sqrt(max(int((of == b).sum()), 1)) for b in BLOCKS}


def feature_blocks(feats: Mapping[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    """:func:`descriptor_blocks` and the 5 block-level patterns (z-scored over the same tracks), each divided by the
    square root of its columns, as family_dev builds them."""
    blocks = descriptor_blocks(feats, names)
    mel24 = [reduce_bands(m, 24) for m in feats["mel128"]]
    built: dict[str, Callable[[], np.ndarray]] = {
        "spectral pattern": lambda: np.stack([spectral_pattern(m) for m in feats["mel36"]]),
        "delta spectral pattern": lambda: np.stack([delta_spectral_pattern(m) for m in mel24]),
        "variance delta spectral pattern": lambda: np.stack([delta_spectral_pattern(m, variance=True) for m in mel24]),
        "fluctuation pattern": lambda: np.stack([fluctuation_pattern(m) for m in mel24]),
        "correlation pattern": lambda: np.stack([correlation_pattern(m) for m in mel24]),
    }
    for name in PATTERNS:
        pattern = standardized(built[name]()).astype(np.float64)
        blocks[name] = pattern / np.sqrt(pattern.shape[1])
    return blocks


def weighted_similarity(blocks: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Cosine similarity of the blocks side by side, each times its weight (weight 0: left out)."""
    parts = [w * blocks[k] for k, w in weights.items() if w > 0]
    if not parts:
        raise ValueError("weights: every block at 0")
    return cosine_similarity(np.concatenate(parts, axis=1))


def candidate_name(block: str | None, w: float) -> str:
    """A candidate of :func:`beside_family`: the family as adopted, or ``block`` beside it at weight ``w``."""
    return "w 0 (the family as adopted)" if block is None else f"{block} w {w:g}"


def beside_family(family: Mapping[str, np.ndarray], extra: Mapping[str, np.ndarray], weights: Iterable[float], *,
                  key: str) -> dict[str, np.ndarray]:
    """Similarity matrix of each candidate: the family as adopted (its blocks at
    :data:`~musim.models.families.descriptors.DEFAULT_WEIGHTS`), and each block of ``extra`` beside it as the block
    ``key`` at each of ``weights`` (the candidates of pitch_dev and harmonic_dev)."""
    from musim.models.families.descriptors import DEFAULT_WEIGHTS

    out = {candidate_name(None, 0.0): weighted_similarity(family, DEFAULT_WEIGHTS)}
    weights = tuple(weights)
    for block, values in extra.items():
        for w in weights:
            out[candidate_name(block, w)] = weighted_similarity({**family, key: values}, {**DEFAULT_WEIGHTS, key: w})
    return out


def grid_weights(blocks: tuple[str, ...], grid: tuple[float, ...] = GRID) -> list[dict[str, float]]:
    """Every weighting of ``blocks`` on ``grid`` with its largest weight 1 (cosine ignores a common scale)."""
    return [dict(zip(blocks, ws, strict=True)) for ws in itertools.product(grid, repeat=len(blocks))
            if max(ws) == 1.0]


def most_often_best(per_query: np.ndarray, rng: np.random.Generator, n_boot: int = 500) -> int:
    """The row of ``per_query (candidates, queries)`` whose mean is highest most often over bootstrap resamples of
    the queries (ties: the first)."""
    n = per_query.shape[1]
    wins = np.bincount([int(np.argmax(per_query[:, rng.integers(0, n, n)].mean(axis=1))) for _ in range(n_boot)],
                       minlength=per_query.shape[0])
    return int(np.argmax(wins))


def paired_ci(diff: np.ndarray, rng: np.random.Generator, *, clusters=None, n_boot: int = 2000,
              level: float = 0.95) -> tuple[float, float, float]:
    """Mean of the per-query differences ``diff`` and its bootstrap CI; with ``clusters`` (one label per query)
    whole clusters are resampled and the mean is over the queries they bring."""
    diff = np.asarray(diff, dtype=np.float64)
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    if clusters is None:
        boots = [diff[rng.integers(0, diff.size, diff.size)].mean() for _ in range(n_boot)]
    else:
        labels = np.asarray([str(c) for c in clusters])
        members = [np.flatnonzero(labels == c) for c in sorted(set(labels))]
        boots = [diff[np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])].mean()
                 for _ in range(n_boot)]
    return float(diff.mean()), float(np.percentile(boots, lo_q)), float(np.percentile(boots, hi_q))


def held_out_choice(per_query: np.ndarray, groups) -> tuple[np.ndarray, dict[str, int]]:
    """What choosing the argmax row of ``per_query (candidates, queries)`` is worth on queries it did not see: for
    each group (a package), the row with the best mean on the OTHER groups' queries, scored on that group's
    queries. Returns those per-query values (in query order) and the row chosen for each group."""
    g = np.asarray([str(x) for x in groups])
    out = np.empty(per_query.shape[1], dtype=np.float64)
    rows: dict[str, int] = {}
    for name in sorted(set(g)):
        held = g == name
        if held.all():
            raise ValueError("held_out_choice needs two or more groups")
        rows[name] = int(np.argmax(per_query[:, ~held].mean(axis=1)))
        out[held] = per_query[rows[name], held]
    return out, rows


def report_choice(per_query: np.ndarray, names: list[str], base: np.ndarray, packages, clusters,
                  rng: np.random.Generator, *, against: str) -> tuple[int, bool]:
    """Print each candidate's development mean (rows of ``per_query``, labels ``names``) and its difference from
    ``base`` (the ``against`` reference, per query) with a CI over ``clusters``; then the argmax and what choosing
    that way is worth on held-out packages (:func:`held_out_choice` over ``packages``, one per query). Returns the
    argmax's row and whether the held-out gain's CI over clusters is above 0 (the development scripts' rule)."""
    for name, row in zip(names, per_query, strict=True):
        m, lo, hi = paired_ci(row - base, rng, clusters=clusters)
        print(f"  {name}: {row.mean():.3f} (vs {against} {m:+.3f} [{lo:+.3f}, {hi:+.3f}] over clusters)")
    choice = int(np.argmax(per_query.mean(axis=1)))
    held, rows = held_out_choice(per_query, packages)
    m, lo, hi = paired_ci(held - base, rng)
    _, clo, chi = paired_ci(held - base, rng, clusters=clusters)
    print(f"choice: {names[choice]}; chosen leave-one-package-out {held.mean():.3f} vs {against} {base.mean():.3f}: "
          f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}] over queries, [{clo:+.3f}, {chi:+.3f}] over clusters; per held-out "
          "package: " + ", ".join(f"{p} {names[r]}" for p, r in rows.items()))
    return choice, clo > 0


def report_benchmark_once(per_query: np.ndarray, names: list[str], mfcc: np.ndarray, packages,
                          rng: np.random.Generator, *, against: str) -> None:
    """Print each candidate's benchmark mean (rows of ``per_query``, the first the reference ``against``), its
    difference from 20-MFCC (``mfcc``, per query) and from the reference with CIs over queries, and its mean per
    package (``packages``, one per query): the lines a development script prints once, after its choice."""
    for name, row in zip(names, per_query, strict=True):
        m, lo, hi = paired_ci(row - mfcc, rng)
        d, dlo, dhi = paired_ci(row - per_query[0], rng)
        print(f"  {name}: {row.mean():.3f}; - 20-MFCC {m:+.3f} [{lo:+.3f}, {hi:+.3f}]; - {against} {d:+.3f} "
              f"[{dlo:+.3f}, {dhi:+.3f}] over queries; per package: " + ", ".join(
                  f"{g} {row[packages == g].mean():.3f}" for g in sorted(set(packages))))


def scored_candidates(corpus: Path, labels, similarities: Iterable[np.ndarray], mfcc20: np.ndarray):
    """What :func:`decide`'s ``score`` returns, from the candidates' track-by-track ``similarities`` on ``labels``
    (grouped by package): each candidate's per-query composer AUC within a package (rows), 20-MFCC's (cosine of
    ``mfcc20``), and the queries' packages and (package, composer) clusters; the corpus's size is printed."""
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    per = np.stack([auc_per_query(sim, sets) for sim in similarities])
    mfcc = auc_per_query(cosine_similarity(np.asarray(mfcc20, dtype=np.float64)), sets)
    print(f"corpus {corpus}: {len(labels)} tracks of {len(set(labels.artists))} composers; {len(sets)} queries in "
          f"{len(set(clusters))} (package, composer) clusters; 20-MFCC {mfcc.mean():.3f}", flush=True)
    return per, mfcc, groups[[i for i, _, _ in sets]], clusters


def decide(args: argparse.Namespace, names: list[str], score: Callable[[Path, Path], tuple], *, against: str,
           keep: str) -> None:
    """The development scripts' rule, run and printed: ``score(corpus, cache)`` gives the per-query AUC of each
    candidate of ``names`` (row 0 the reference, ``against``), 20-MFCC per query, and the queries' packages and
    clusters. The development argmax is adopted only if the choice made leave-one-package-out beats row 0 with its CI
    over clusters above 0 and it is not row 0 (:func:`report_choice`); otherwise ``keep`` stays. With
    ``args.benchmark``, every candidate is then scored once on the benchmark corpus (:func:`report_benchmark_once`),
    after the choice and never used for it."""
    rng = np.random.default_rng(0)
    per, _, packages, clusters = score(Path(args.dev_corpus), args.cache / "dev")
    print(f"\non the development corpus, against {against}:")
    choice, passed = report_choice(per, names, per[0], packages, clusters, rng, against=against)
    print(f"decision: {'ADOPT ' + names[choice] if passed and choice > 0 else f'keep {keep} (the rule is not met)'}",
          flush=True)
    if getattr(args, "benchmark", False):
        print("\nonce, after the choice, NOT used to choose:")
        per_b, mfcc_b, packages_b, _ = score(Path(args.corpus), args.cache / "benchmark")
        report_benchmark_once(per_b, names, mfcc_b, packages_b, rng, against=against)


def _load(corpus: Path, cache: Path, names: list[str]):
    labels = read_labels(corpus / "manifest.csv", group_by="source_package")
    feats = _cache(labels, cache / f"features-{len(names)}.npz")
    labels = labels.subset([int(i) for i in feats["kept"]])
    return labels, feats


def corpus_parser(doc: str | None, prog: str, *, benchmark_once: bool = False) -> argparse.ArgumentParser:
    """The arguments every development-choice script takes: CACHE, --dev-corpus, --corpus; and ``--benchmark``
    where the script scores its development choice once on the benchmark only when asked."""
    ap = Parser(prog=prog, description=(doc or "").split("\n\n")[0])
    ap.add_argument("cache", nargs="?", type=Path, default=Path("/tmp/musim_dev_select"))
    ap.add_argument("--dev-corpus", type=Path, default=os.environ.get("MUSIM_REAL_MUSIC_DEV")
                    or Path("benchmarks/data/real_music_dev"))
    ap.add_argument("--corpus", type=Path, default=os.environ.get("MUSIM_REAL_MUSIC")
                    or Path("benchmarks/data/real_music"))
    if benchmark_once:
        ap.add_argument("--benchmark", action="store_true", help="score the development choice once on the benchmark")
    return ap


def check_corpora(args: argparse.Namespace, prog: str) -> None:
    """Exit with one line when the development corpus is the benchmark corpus, or when their manifests share a
    package (a choice made on the development corpus must not have seen the benchmark's packages)."""
    if Path(args.dev_corpus).resolve() == Path(args.corpus).resolve():
        raise SystemExit(f"{prog}: the development corpus is the benchmark corpus")
    packages = [set(read_labels(Path(c) / "manifest.csv", group_by="source_package").groups)
                for c in (args.corpus, args.dev_corpus)]
    if packages[0] & packages[1]:
        raise SystemExit(f"{prog}: the corpora share packages {sorted(packages[0] & packages[1])}")


def _fmt(ws: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {w:g}" for k, w in ws.items() if w > 0)


def main(argv: list[str] | None = None) -> None:
    from musim.audio import DESCRIPTOR_NAMES
    from musim.models.families.descriptors import BLOCKS, DEFAULT_WEIGHTS

    args = corpus_parser(__doc__, "dev_select").parse_args(argv)
    check_corpora(args, "dev_select")
    names = list(DESCRIPTOR_NAMES)
    rng = np.random.default_rng(0)

    labels, feats = _load(Path(args.dev_corpus), args.cache / "dev", names)
    blocks = feature_blocks(feats, names)
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    print(f"development corpus {args.dev_corpus}: {len(labels)} tracks of {len(set(labels.artists))} composers in "
          f"{len(set(groups))} packages; {len(sets)} queries in {len(set(clusters))} (package, composer) clusters")
    mfcc = auc_per_query(cosine_similarity(feats["mfcc20"]), sets)
    musly = auc_per_query(feats["musly"], sets)
    print(f"  baselines on dev: 20-MFCC {mfcc.mean():.3f}, libmusly {musly.mean():.3f}")

    grid = grid_weights(BLOCKS)
    n = len(BLOCKS)
    per = np.stack([auc_per_query(weighted_similarity(blocks, ws), sets) for ws in grid])
    chosen: dict[str, dict[str, float]] = {
        "adopted weights": dict(DEFAULT_WEIGHTS),
        f"{n}-block grid, argmax on dev": grid[int(np.argmax(per.mean(axis=1)))],
        f"{n}-block grid, most often best over 500 dev bootstraps": grid[most_often_best(per, rng)],
        f"equal block weights (the {n} descriptor blocks)": dict.fromkeys(BLOCKS, 1.0),
        f"equal block weights, the {n} + {len(PATTERNS)} block-level patterns": dict.fromkeys([*BLOCKS, *PATTERNS], 1.0),
        f"greedy forward selection over the {n + len(PATTERNS)} blocks on dev": _greedy(
            blocks, lambda ws: weighted_similarity(blocks, ws), sets),
    }
    order = np.argsort(-per.mean(axis=1))[:5]
    print(f"  {n}-block grid (" + ", ".join(BLOCKS) + "), best 5 on dev: " + "; ".join(
        f"{' '.join(f'{w:g}' for w in grid[i].values())} {per[i].mean():.3f}" for i in order))
    base = auc_per_query(weighted_similarity(blocks, DEFAULT_WEIGHTS), sets)
    package_of = groups[[i for i, _, _ in sets]]
    held, rows = held_out_choice(per, package_of)
    m, lo, hi = paired_ci(held - base, rng)
    _, clo, chi = paired_ci(held - base, rng, clusters=clusters)
    print(f"  the {n}-block grid choice, each package scored with the weights chosen on the others: {held.mean():.3f} "
          f"vs adopted {base.mean():.3f} ({m:+.3f} [{lo:+.3f}, {hi:+.3f}] / [{clo:+.3f}, {chi:+.3f}]); chosen: "
          + "; ".join(f"{p} {' '.join(f'{w:g}' for w in grid[r].values())}" for p, r in rows.items()))
    print("\non the development corpus (where every choice is made); difference from the adopted weights, 95% CI "
          "over queries / over (package, composer) clusters:")
    for name, ws in chosen.items():
        auc = auc_per_query(weighted_similarity(blocks, ws), sets)
        d = auc - base
        m, lo, hi = paired_ci(d, rng)
        _, clo, chi = paired_ci(d, rng, clusters=clusters)
        print(f"  {name}: {_fmt(ws)}\n    dev {auc.mean():.3f} ({m:+.3f} [{lo:+.3f}, {hi:+.3f}] / [{clo:+.3f}, "
              f"{chi:+.3f}]); vs 20-MFCC {auc.mean() - mfcc.mean():+.3f}")

    labels_b, feats_b = _load(Path(args.corpus), args.cache / "benchmark", names)
    blocks_b = feature_blocks(feats_b, names)
    groups_b = np.asarray(labels_b.groups)
    sets_b = pair_sets(labels_b.artists, groups_b, np.ones(len(labels_b), bool))
    package = groups_b[[i for i, _, _ in sets_b]]
    mfcc_b = auc_per_query(cosine_similarity(feats_b["mfcc20"]), sets_b)
    musly_b = auc_per_query(feats_b["musly"], sets_b)
    print(f"\nonce on the benchmark corpus {args.corpus} ({len(labels_b)} tracks, {len(sets_b)} queries; never used "
          f"to choose): 20-MFCC {mfcc_b.mean():.3f}, libmusly {musly_b.mean():.3f}")
    base_b = auc_per_query(weighted_similarity(blocks_b, DEFAULT_WEIGHTS), sets_b)
    for name, ws in chosen.items():
        auc = auc_per_query(weighted_similarity(blocks_b, ws), sets_b)
        m, lo, hi = paired_ci(auc - mfcc_b, rng)
        print(f"  {name}: {auc.mean():.3f}; - 20-MFCC {m:+.3f} [{lo:+.3f}, {hi:+.3f}]; - adopted "
              f"{auc.mean() - base_b.mean():+.3f}\n    per package: " + ", ".join(
                  f"{g} {auc[package == g].mean():.3f} ({int((package == g).sum())})" for g in sorted(set(package))))


if __name__ == "__main__":
    main()
