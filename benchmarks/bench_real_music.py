"""Every label-free family and baseline on the real-music corpus, in one run: composer retrieval within a group.

The corpus is the one ``benchmarks/real_music/make_corpus.sh`` assembles (Debian game soundtracks credited to
their composers, music21 scores rendered with two soundfonts; never the packages reserved for independent
evaluation) with its ``manifest.csv`` (path, artist, title, source_package, licence, ...). ``MUSIM_REAL_MUSIC``
points at it (default ``benchmarks/data/real_music``). Without it the benchmark reports that and measures nothing.

The run, on a fresh ``MUSIM_HOME`` and without any Last.FM dump (the families are evaluated by artist identity
when they are trained): ``musim library add`` of the corpus, the feature build (log-mels, descriptors), then
each label-free family (contrastive, autoencoder, descriptors) trained, published and evaluated by
``musim models evaluate --labels manifest.csv --group-by source_package --model VERSION``; the baselines
(random, 20-MFCC mean+std, descriptors, libmusly timbre) on the same tracks. The number that matters is the
AUC of a composer's tracks against other composers' tracks **of the same package** (so production style
does not give the composer away; chance 0.5), with a bootstrap CI over query tracks.

Targets (issue 18): the best label-free musim family >= libmusly, and >= 0.05 above the 20-MFCC baseline.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAMILIES = ("contrastive", "autoencoder", "descriptors")
#: Small settings for ``--quick`` (checks the harness, not the models).
QUICK_PARAMS = {"contrastive": {"epochs": 2, "conv_filters": [8, 16], "dense_units": 16, "projection_units": 16},
                "autoencoder": {"epochs": 2, "conv_filters": [8, 4], "perplexity": 5, "k": 3}, "descriptors": {}}
FULL_PARAMS = {"contrastive": {"epochs": 40}, "autoencoder": {"epochs": 30}, "descriptors": {}}


def _row(metric: str, value, unit: str = "", **kw) -> dict:
    return {"benchmark": "real_music", "metric": metric, "value": value, "unit": unit, "baseline": kw.get("baseline"),
            "baseline_value": kw.get("baseline_value"), "ratio": kw.get("ratio"), "target": kw.get("target"),
            "met": kw.get("met"), "notes": kw.get("notes", "")}


def _cell(s: dict) -> str:
    return "n/a" if s.get("mean") is None else f"{s['mean']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}] (n={s['n']})"


def _by_group(report) -> str:
    """The within-package AUC of each package (its queries in brackets): a package where one composer has a single
    track makes all of the other composer's queries score where that one track falls."""
    return "; per package " + ", ".join(f"{g} {v['auc']:.3f} ({v['n']})" for g, v in report.groups.items()
                                        if v.get("auc") is not None)


def _content(labels) -> str:
    """The scored files' content fingerprint, whole and per package (``LabelSet.fingerprint``)."""
    whole, per_group = labels.fingerprint()
    return f"{whole} ({', '.join(f'{g} {h}' for g, h in per_group.items())})"


def run(*, quick: bool, workdir: Path) -> list[dict]:
    corpus = Path(os.environ.get("MUSIM_REAL_MUSIC") or REPO / "benchmarks" / "data" / "real_music")
    manifest = corpus / "manifest.csv"
    if not manifest.is_file():
        return [_row("corpus", None, notes=f"no corpus at {corpus}: run benchmarks/real_music/make_corpus.sh first")]
    home = Path(workdir) / "home"
    shutil.rmtree(home, ignore_errors=True)
    previous = os.environ.get("MUSIM_HOME")
    os.environ["MUSIM_HOME"] = str(home)
    try:
        return _measure(manifest, quick=quick)
    finally:
        if previous is None:
            os.environ.pop("MUSIM_HOME", None)
        else:
            os.environ["MUSIM_HOME"] = previous


def _measure(manifest: Path, *, quick: bool) -> list[dict]:
    from musim import warehouse
    from musim.config import get_settings
    from musim.features import BuildOptions, build
    from musim.library import add
    from musim.models import constants, promotion, registry
    from musim.models.families import load_inputs, publish_version, run_family
    from musim.models.label_eval import evaluate_labels
    from musim.models.labels import read_labels
    from musim.quality.gates import gate_features

    get_settings().ensure_dirs()
    labels = read_labels(manifest, group_by="source_package")
    if quick:
        labels = labels.subset(range(min(24, len(labels))))
    params = QUICK_PARAMS if quick else FULL_PARAMS
    t0 = time.perf_counter()
    summary = add(sorted({p.parent for p in labels.paths}))
    add_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    build(["track_log_mel", "track_descriptors"], options=BuildOptions(progress=False), gate=gate_features)
    features_s = time.perf_counter() - t0
    rows = [_row("library_add", round(add_s, 1), "s", notes=f"{summary.files} files, {summary.stored} stored, "
                                                           f"{len(summary.skipped)} skipped"),
            _row("feature_build", round(features_s, 1), "s", notes="log-mels and descriptors of every track")]
    scores: dict[str, dict] = {}
    for family in FAMILIES:
        t0 = time.perf_counter()
        with warehouse.writer() as con:
            inputs = load_inputs(con, needs=("log_mel", "descriptors"))
            out = run_family(family, con=con, inputs=inputs, params=params[family], n_boot=200, publish=False)
            if registry.get_model(con, out.entry.version).status != constants.CHAMPION:
                promotion.promote(con, out.entry.version, force=True)  # served for the evaluation by version
            publish_version(con, out.entry.version, snapshot=True)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = evaluate_labels(labels, version=out.entry.version, baseline_names=(), n_boot=1000)
        embed_s = time.perf_counter() - t0
        report = result.reports[0]
        scores[family] = report.summary
        rows.append(_row(f"{family}: composer AUC within a package", report.summary["auc_group"]["mean"], "AUC",
                         notes=f"{_cell(report.summary['auc_group'])}; overall {_cell(report.summary['auc'])}; "
                               f"train+publish {train_s:.0f} s, evaluate (embed {len(result.labels)} files) "
                               f"{embed_s:.0f} s; {out.entry.version}{_by_group(report)}"))
    t0 = time.perf_counter()
    base = evaluate_labels(labels, with_model=False, baseline_names=("random", "mfcc", "descriptors", "musly"),
                           n_boot=1000)
    base_s = time.perf_counter() - t0
    for report in base.reports:
        name = report.name.removeprefix("baseline: ")
        scores[name + " (baseline)"] = report.summary
        rows.append(_row(f"{report.name}: composer AUC within a package", report.summary["auc_group"]["mean"],
                         "AUC", notes=f"{_cell(report.summary['auc_group'])}; overall {_cell(report.summary['auc'])}"
                                      f"{_by_group(report)}"))
    best = max(FAMILIES, key=lambda f: scores[f]["auc_group"]["mean"] or 0.0)
    best_v = scores[best]["auc_group"]["mean"] or 0.0
    musly = scores["musly (baseline)"]["auc_group"]["mean"] or 0.0
    mfcc = scores["mfcc (baseline)"]["auc_group"]["mean"] or 0.0
    rows.append(_row(f"best label-free family ({best}) vs libmusly", round(best_v, 3), "AUC", baseline="libmusly timbre",
                     baseline_value=round(musly, 3), ratio=round(best_v / musly, 3) if musly else None,
                     target=">= 1.0x", met=best_v >= musly,
                     notes=f"{len(base.labels)} tracks of {len(set(base.labels.artists))} composers; baselines "
                           f"{base_s:.0f} s; corpus content {_content(labels)}"))
    rows.append(_row(f"best label-free family ({best}) - 20-MFCC", round(best_v - mfcc, 3), "AUC",
                     baseline="20 MFCC mean+std", baseline_value=round(mfcc, 3), target=">= +0.05",
                     met=best_v - mfcc >= 0.05))
    return rows
