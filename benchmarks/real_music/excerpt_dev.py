"""How much of a whole track the descriptors family analyses, chosen on the DEVELOPMENT corpus (issue 18;
label-free).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.excerpt_dev \\
        [--benchmark] [CACHE]

Every earlier candidate changed what the family computes from a track's middle 30 seconds (the feature store's
window for whole-track files, ``MUSIM_EXCERPT_S``). A library holds whole tracks, and a composer's habits
(instrumentation, harmony, form) are spread over the whole piece; stop 13's family_dev saw the whole track score
level with the excerpt on one half of the benchmark's composers and lower on the other (an old family, a split
too small to choose on). Never asked on the development corpus: does a longer window help the family as it now is?

The candidates: the family's vector (:func:`benchmarks.real_music.fusion_dev.family_vector`, the adopted blocks and
weights, z-scored over the scored corpus) of the middle 30 s (as adopted), 60 s, 120 s, and of the whole track up
to 600 s (:data:`WINDOWS`), each computed as ``models evaluate --labels`` computes its descriptors baseline
(:func:`musim.models.label_baselines.track_values`, the window in the middle, the whole file when it is shorter;
the rendered MIDI files are 60 s). Composer AUC within a package, as the benchmark scores it. The 20-MFCC baseline
of the same windows is printed beside them (a diagnosis: the issue's baseline is the 30-s one).

The rule, fixed and committed before this script first ran: the development argmax is adopted only if the choice
made leave-one-package-out (each package's queries scored with the window that is best on the other packages'
queries; :func:`benchmarks.real_music.dev_select.report_choice`) beats the 30-s window with its 95% CI over (package,
composer) clusters above 0 (an argmax of 30 s adopts nothing). Adopting would make that window the default analysis
window of whole-track files; previews stay what they are (30 s). ``--benchmark`` scores every window once on the
benchmark corpus, after the choice (never used to choose), with the 30-s 20-MFCC baseline beside them.

The run (2026-12-07 06:17-06:45 UTC, the development corpus of ``make_dev_corpus.sh``: 223 tracks, 203 queries in
34 clusters): 30 s 0.739, 60 s 0.742, 120 s 0.744, whole track 0.752 (20-MFCC of the same windows 0.646, 0.658,
0.670, 0.662). Every held-out package chose the whole track; chosen leave-one-package-out 0.752, +0.013 [-0.004,
+0.028] over clusters: **not adopted**, the window stays 30 s (benchmarks/RESULTS.md, "How much of a track the
family analyses"). The benchmark lines, printed once and not used: 0.731 / 0.737 / 0.748 / 0.751 (20-MFCC of the
30 s 0.697; of the same windows 0.713, 0.715, 0.726).

Fixed before the development corpus was enlarged (stop 53, committed before the enlarged corpus existed): the whole
track's held-out gain pointed the same way on every package but its CI crossed 0, so the same rule is run once more,
unchanged, on the development corpus as ``make_dev_corpus.sh`` builds it with more packages (a new CACHE folder;
without ``--benchmark``, whose lines were printed once above). That run decides; no further run on a third corpus.
The rerun (2026-12-07 07:11-07:48 UTC; + unknown-horizons and blobwars-data: 242 tracks, 221 queries in 38 clusters):
30 s 0.739, 60 s 0.745, 120 s 0.745, whole track 0.752; every held-out package chose the whole track again, chosen
leave-one-package-out +0.012 [-0.004, +0.028] over clusters: **not adopted**, the window stays 30 s.

A third look (stop 57, written and committed before it ran, against the sentence above, at the lead's request):
the development corpus can now hold tracker modules (``make_dev_corpus.sh --render-packaged``: pingus-data, H.
Matthew Smith 5, Joseph Toscano 9, Yuri Sucupira 5, rendered whole; heroes-sound-tracks, Alexel 8, Tnk 5;
tuxmath-data's three credited modules), the kind of package the survey before the rerun found but could not use. The rule is the same, unchanged: adopt the
whole track (or whichever window is the development argmax) only if the choice made leave-one-package-out beats 30 s
with its 95% CI over (package, composer) clusters above 0. It is the third look at one question with one rule, so
the chance that noise alone clears it is larger than the 2.5% one look would have: an adoption here is reported
as such, and the lead decides; this script changes no default. A new CACHE folder; without ``--benchmark``
(its lines were printed once at the first run). A first start of this run on the corpus without
heroes-sound-tracks was stopped after 4 minutes, before it printed anything, to add that package (found meanwhile).
This is the last look on this question with this corpus family.
The third look (2026-12-07 17:42-18:46 UTC; 274 tracks, 250 queries in 43 clusters): 30 s 0.742, 60 s 0.746, 120 s
0.749, whole track 0.756; every held-out package chose the whole track, chosen leave-one-package-out +0.014 [-0.004,
+0.032] over clusters: **not adopted**, the window stays 30 s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import check_corpora, corpus_parser, decide
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from benchmarks.real_music.fusion_dev import family_vector
from musim.models.label_eval import cosine_similarity
from musim.models.labels import read_labels

#: The analysed window of each candidate, seconds (the first is the adopted one); the last stands for the whole track.
WINDOWS: tuple[float, ...] = (30.0, 60.0, 120.0, 600.0)


def window_name(window_s: float) -> str:
    if window_s == WINDOWS[0]:
        return f"{window_s:g} s (adopted)"
    return "whole track (up to 600 s)" if window_s == WINDOWS[-1] else f"{window_s:g} s"


def window_features(paths: list[Path], window_s: float, path: Path) -> dict[str, np.ndarray]:
    """The descriptor vector and the 20-MFCC row of the middle ``window_s`` seconds of each file, through the harness
    ``models evaluate --labels`` uses, cached in ``path``: ``{"kept", "desc", "mfcc20"}``."""
    if path.is_file():
        return dict(np.load(path))
    from musim.models.label_baselines import track_values

    kept, values, failed = track_values(paths, ["mfcc", "descriptors"], window_s=window_s)
    for p, why in failed:
        print(f"  skipped {p}: {why}", file=sys.stderr)
    out = {"kept": np.asarray(kept, dtype=np.int64), "desc": np.stack(values["descriptors"]),
           "mfcc20": np.stack(values["mfcc"])}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def common_rows(kept: list[np.ndarray]) -> list[np.ndarray]:
    """For each candidate's kept file indices, the rows of the files every candidate kept (in file order)."""
    both = sorted(set.intersection(*(set(int(i) for i in k) for k in kept)))
    return [np.searchsorted(np.asarray(k), both) for k in kept]


def scored(corpus: Path, cache: Path):
    """Per-query AUC of every window's family vector and of 20-MFCC of each window (rows follow :data:`WINDOWS`), the
    queries' packages and clusters on ``corpus``."""
    from musim.audio import DESCRIPTOR_NAMES

    names = list(DESCRIPTOR_NAMES)
    labels = read_labels(corpus / "manifest.csv", group_by="source_package")
    feats = [window_features(list(labels.paths), w, cache / f"excerpt-{len(names)}-{w:g}.npz") for w in WINDOWS]
    rows = common_rows([f["kept"] for f in feats])
    labels = labels.subset([int(i) for i in feats[0]["kept"][rows[0]]])
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    per = np.stack([auc_per_query(cosine_similarity(family_vector({"desc": f["desc"][r]}, names)), sets)
                    for f, r in zip(feats, rows, strict=True)])
    mfcc = np.stack([auc_per_query(cosine_similarity(f["mfcc20"][r].astype(np.float64)), sets)
                     for f, r in zip(feats, rows, strict=True)])
    print(f"corpus {corpus}: {len(labels)} tracks of {len(set(labels.artists))} composers; {len(sets)} queries in "
          f"{len(set(clusters))} (package, composer) clusters; 20-MFCC of each window: "
          + ", ".join(f"{window_name(w)} {m.mean():.3f}" for w, m in zip(WINDOWS, mfcc, strict=True)), flush=True)
    return per, mfcc[0], groups[[i for i, _, _ in sets]], clusters


def main(argv: list[str] | None = None) -> None:
    ap: argparse.ArgumentParser = corpus_parser(__doc__, "excerpt_dev", benchmark_once=True)
    args = ap.parse_args(argv)
    check_corpora(args, "excerpt_dev")
    decide(args, [window_name(w) for w in WINDOWS], scored, against="30 s", keep="the 30-s window")


if __name__ == "__main__":
    main()
