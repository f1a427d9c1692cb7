"""The siamese family started from the contrastive encoder against started from scratch (issue 18, section 2).

On the synthetic demo catalogue (:func:`musim.models.toy.synth_data`: the demo's generated audio, communities of
artists with similar style and co-listening targets), in one process:

1. the contrastive family trains on every clip's log-mel (the audio alone);
2. the siamese family trains twice on the same co-listening targets, artist split and seed, once from random
   weights and once with ``init_encoder`` = that contrastive encoder (same ``conv_filters`` and ``dense_units``);
3. both are evaluated in one :func:`musim.models.families.evaluate_family` run (same test artists, same queries,
   same bootstrap resamples) on the co-listening evaluation's primary metric, with the paired bootstrap CI of
   their difference.

Target (issue 18): the contrastive start is no worse than scratch (mean difference >= 0).
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks._util import measure, row

BENCH = "siamese_start"


def _child(*, communities: int, artists_per_community: int, contrastive_epochs: int, siamese_epochs: int,
           test_share: float, workdir: str) -> dict:
    """Runs inside the measured process."""
    import numpy as np

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
    t0 = time.perf_counter()
    enc = contrastive_family.train(inputs, {**arch, "projection_units": 32, "epochs": contrastive_epochs,
                                            "batch_size": 32, "seed": 0}, work, 0)
    contrastive_s = time.perf_counter() - t0
    enc_path = work / "contrastive.keras"
    save_keras(enc.model, enc_path)
    siamese = {**arch, "epochs": siamese_epochs, "batch_size": 32, "train_pairs": 4000, "validation_pairs": 1000,
               "seed": 0}
    t0 = time.perf_counter()
    scratch = siamese_family.train(inputs, dict(siamese), work, 0)
    scratch_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    started = siamese_family.train(inputs, {**siamese, "init_encoder": "contrastive (this run)",
                                            "init_encoder_path": str(enc_path)}, work, 0)
    started_s = time.perf_counter() - t0
    report = evaluate_family("siamese", scratch.model, inputs,
                             others={"contrastive start": ("siamese", started.model, started.params)}, n_boot=1000, seed=0)
    metric = choose_primary_metric(int(split.test.size))
    cmp = report.compare("contrastive start", "model", metric)
    return {"metric": metric, "scratch": report.summary["model"][metric],
            "started": report.summary["contrastive start"][metric], "diff": cmp.to_json(),
            "random": report.summary.get("random", {}).get(metric), "clips": int(n), "artists": int(artists.size),
            "test_artists": int(split.test.size), "queries": int(report.queries.size), "data_s": data_s,
            "contrastive_s": contrastive_s, "scratch_s": scratch_s, "started_s": started_s}


def _cell(s: dict) -> str:
    return f"{s['mean']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]"


def run(*, quick: bool, workdir: Path) -> list[dict]:
    cfg = dict(communities=3, artists_per_community=5, contrastive_epochs=2, siamese_epochs=2, test_share=0.34) \
        if quick else dict(communities=4, artists_per_community=8, contrastive_epochs=15, siamese_epochs=10,
                           test_share=0.3)
    cfg["workdir"] = str(Path(workdir) / "siamese_start")
    code = (f"from benchmarks.bench_siamese_start import _child\n"
            f"RESULT.update(_child(**{cfg!r}))\n")
    _, rss, r = measure(code, env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    d = r["diff"]
    note = (f"synthetic demo audio: {r['clips']} clips of {r['artists']} artists, {r['test_artists']} test artists, "
            f"{r['queries']} queries; data {r['data_s']:.0f} s, contrastive {r['contrastive_s']:.0f} s, siamese "
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
