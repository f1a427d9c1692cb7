"""The siamese family started from the contrastive encoder against started from scratch (issue 18, section 2).

On the synthetic demo catalogue (:func:`musim.models.toy.synth_data`: the demo's generated audio, communities of
artists with similar style and co-listening targets), in one process:

1. the contrastive family trains on every clip's log-mel (the audio alone);
2. the siamese family trains twice on the same co-listening targets, artist split and seed, once from random
   weights and once with ``init_encoder`` = that contrastive encoder (same ``conv_filters`` and ``dense_units``);
3. steps 1-2 are repeated for :data:`SEEDS` seeds (training on a CPU is not bit-reproducible across machines, and
   with 10 test queries one training run was a coin toss: the first run, 2026-12-03, measured +0.405 on an Intel
   Xeon, the same code -0.122 on an AMD EPYC on 2026-12-08, and the same seed moves by 0.1 from run to run);
4. every model is evaluated in one :func:`musim.models.families.evaluate_family` run (same test artists, same
   queries, same bootstrap resamples) on the co-listening evaluation's primary metric; each query's metric is
   averaged over the seeds, and the difference's CI is the paired bootstrap over queries.

Target (issue 18): the contrastive start is no worse than scratch (mean difference >= 0).
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks._util import measure, row

BENCH = "siamese_start"
#: Training seeds of the full run: each seed trains the contrastive encoder and both siamese models again.
SEEDS = 5


def _child(*, communities: int, artists_per_community: int, contrastive_epochs: int, siamese_epochs: int,
           test_share: float, workdir: str, seeds: int) -> dict:
    """Runs inside the measured process."""
    import numpy as np

    from musim.models.bootstrap import bootstrap_ci, paired_bootstrap
    from musim.models.data import split_artists
    from musim.models.evaluate import choose_primary_metric
    from musim.models.families import FamilyInputs, evaluate_family
    from musim.models.families import contrastive as contrastive_family
    from musim.models.families import siamese as siamese_family
    from musim.models.families.base import save_keras
    from musim.models.toy import synth_data

    t0 = time.perf_counter()
    toy = synth_data(communities=communities, artists_per_community=artists_per_community, clips_per_artist=3,
                     seed=0)
    data_s = time.perf_counter() - t0
    n = toy.x.shape[0]
    artists = np.unique(toy.track_artist)
    split = split_artists(artists, validation=0.15, test=test_share, seed=0)
    inputs = FamilyInputs([f"t{i}" for i in range(n)], toy.track_artist, [f"clip {i}" for i in range(n)], [None] * n,
                          {int(a): f"Artist {a}" for a in artists}, [None] * n, [None] * n, None, toy.targets, split,
                          toy.listeners, mel=toy.x)
    arch = {"conv_filters": [16, 32, 32], "dense_units": 32}
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    models, seconds = {}, {"contrastive_s": 0.0, "scratch_s": 0.0, "started_s": 0.0}
    for seed in range(seeds):
        t0 = time.perf_counter()
        enc = contrastive_family.train(inputs, {**arch, "projection_units": 32, "epochs": contrastive_epochs,
                                                "batch_size": 32, "seed": seed}, work, 0)
        seconds["contrastive_s"] += time.perf_counter() - t0
        enc_path = work / f"contrastive-{seed}.keras"
        save_keras(enc.model, enc_path)
        siamese = {**arch, "epochs": siamese_epochs, "batch_size": 32, "train_pairs": 4000, "validation_pairs": 1000,
                   "seed": seed}
        t0 = time.perf_counter()
        scratch = siamese_family.train(inputs, dict(siamese), work, 0)
        seconds["scratch_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        started = siamese_family.train(inputs, {**siamese, "init_encoder": "contrastive",  # this seed's, at the path
                                                "init_encoder_path": str(enc_path)}, work, 0)
        seconds["started_s"] += time.perf_counter() - t0
        models[f"scratch {seed}"], models[f"started {seed}"] = scratch, started
    base = models.pop("scratch 0")  # the evaluation's own model, reported as "model"; the others by their names
    report = evaluate_family("siamese", base.model, inputs, n_boot=1000, seed=0,
                             others={name: ("siamese", m.model, m.params) for name, m in models.items()})
    per_query = {**report.per_query, "scratch 0": report.per_query["model"]}
    metric = choose_primary_metric(int(split.test.size))
    per_seed = {kind: [per_query[f"{kind} {s}"][metric] for s in range(seeds)] for kind in ("scratch", "started")}
    mean = {kind: np.mean(rows, axis=0) for kind, rows in per_seed.items()}  # each query's metric, over seeds
    cmp = paired_bootstrap(mean["started"], mean["scratch"], names=("contrastive start", "scratch"), metric=metric,
                           n_boot=1000, seed=0)
    return {"metric": metric, "seeds": seeds,
            "scratch": bootstrap_ci(mean["scratch"], n_boot=1000, seed=0),
            "started": bootstrap_ci(mean["started"], n_boot=1000, seed=0), "diff": cmp.to_json(),
            "per_seed": {kind: [float(np.nanmean(r)) for r in rows] for kind, rows in per_seed.items()},
            "random": report.summary.get("random", {}).get(metric), "clips": int(n), "artists": int(artists.size),
            "test_artists": int(split.test.size), "queries": int(report.queries.size), "data_s": data_s, **seconds}


def _cell(s: dict) -> str:
    return f"{s['mean']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]"


def run(*, quick: bool, workdir: Path) -> list[dict]:
    cfg = dict(communities=3, artists_per_community=5, contrastive_epochs=2, siamese_epochs=2, test_share=0.34,
               seeds=1) \
        if quick else dict(communities=4, artists_per_community=8, contrastive_epochs=15, siamese_epochs=10,
                           test_share=0.3, seeds=SEEDS)
    cfg["workdir"] = str(Path(workdir) / "siamese_start")
    code = (f"from benchmarks.bench_siamese_start import _child\n"
            f"RESULT.update(_child(**{cfg!r}))\n")
    _, rss, r = measure(code, env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    d = r["diff"]
    note = (f"synthetic demo audio: {r['clips']} clips of {r['artists']} artists, {r['test_artists']} test artists, "
            f"{r['queries']} queries, {r['seeds']} training seeds (each query's metric averaged over them; per seed: "
            f"scratch {', '.join(f'{v:.3f}' for v in r['per_seed']['scratch'])}, from contrastive "
            f"{', '.join(f'{v:.3f}' for v in r['per_seed']['started'])}); data {r['data_s']:.0f} s, contrastive {r['contrastive_s']:.0f} s, siamese "
            f"scratch {r['scratch_s']:.0f} s, from contrastive {r['started_s']:.0f} s; peak RSS {rss:.0f} MiB")
    rnd = r.get("random") or {}
    return [
        row(BENCH, f"siamese from scratch: {r['metric']}", r["scratch"]["mean"], r["metric"],
            notes=f"{_cell(r['scratch'])}; random {rnd.get('mean', float('nan')):.3f}; " + note),
        row(BENCH, f"siamese from the contrastive encoder: {r['metric']}", r["started"]["mean"], r["metric"],
            baseline="siamese from scratch", baseline_value=r["scratch"]["mean"],
            ratio=r["started"]["mean"] / r["scratch"]["mean"] if r["scratch"]["mean"] else None,
            target=">= scratch", met=d["diff"] >= 0,
            notes=f"{_cell(r['started'])}; paired difference {d['diff']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}] "
                  f"over {d['n']} queries"),
    ]
