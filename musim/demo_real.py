"""``make demo-real`` (``python -m musim.demo --real``): the whole audio path on real music, through Airflow.

The corpus is the one ``benchmarks/real_music/make_corpus.sh`` assembles (``DIR/corpus/<composer>/...`` and
``DIR/manifest.csv`` with path, artist, source_package, ...), from ``MUSIM_REAL_MUSIC`` (default
``benchmarks/data/real_music``). No Last.FM dump: every track comes from the music folder, and the families
that need no listening data are trained and evaluated by artist identity. In its own ``MUSIM_HOME``
(``--home``, default ``./.musim-real``, so the synthetic demo's ``./.musim`` is left alone), the DAGs run with
``airflow dags test``:

1. ``library_scan`` with the corpus as its landing folder: every file stored (its 30-s excerpt), or skipped
   with a reason;
2. ``audio_features``: log-mels and descriptors of every stored excerpt;
3. ``train_embeddings`` with the label-free families (contrastive, autoencoder, descriptors), each evaluated
   by artist identity, promoted when it beats the baselines, its embeddings and track neighbours published;

then it prints what a user should look at: the comparison table of ``musim models evaluate --labels
manifest.csv --group-by source_package`` for every family's new version beside the baselines (random,
20-MFCC, descriptors, libmusly when pymusly is installed), and a few ``musim similar-audio`` queries.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections import Counter
from pathlib import Path

from musim.config import get_settings
from musim.embedded import REPO
from musim.redact import redact
from musim.terminal import escaped

#: Where the corpus is looked for: ``$MUSIM_REAL_MUSIC``, else this folder of the repository.
CORPUS_ENV = "MUSIM_REAL_MUSIC"
DEFAULT_CORPUS = REPO / "benchmarks" / "data" / "real_music"
DEFAULT_HOME = ".musim-real"
FAMILIES = ("contrastive", "autoencoder", "descriptors")
#: Tiny settings (``--quick``): checks the path on a few files, not the models.
QUICK_PARAMS = {"contrastive": {"epochs": 1, "conv_filters": [8, 16], "dense_units": 16, "projection_units": 16,
                                "batch_size": 8},
                "autoencoder": {"epochs": 1, "conv_filters": [8, 4], "batch_size": 8, "perplexity": 2.0, "k": 2},
                "descriptors": {}}


def corpus_dir() -> Path:
    return get_settings().library.real_music.expanduser().absolute()


def baseline_names() -> tuple[str, ...]:
    """The baselines of the table: random, 20-MFCC, descriptors, and libmusly when pymusly is importable."""
    return ("random", "mfcc", "descriptors") + (("musly",) if importlib.util.find_spec("pymusly") else ())


def print_library(took: float, folder: Path) -> dict[str, tuple[str, str]]:
    """Step 1's outcome from the warehouse; returns ``{source path: (library artist, track id)}``."""
    from musim.library import list_tracks, skipped_files

    tracks, skips = list_tracks(), skipped_files()
    artists = Counter(t["artist"] for t in tracks)
    rules = Counter(t["artist_rule"] for t in tracks)
    reasons = ", ".join(f"{r} {n}" for r, n in sorted(Counter(s["reason"] for s in skips).items())) or "none"
    print(f"1. Airflow DAG library_scan ran in {took:.0f} s on {escaped(folder)}: {len(tracks)} library tracks of "
          f"{len(artists)} artists (artists by rule: {', '.join(f'{r} {n}' for r, n in rules.most_common())}); "
          f"skipped: {reasons}. See `musim library list` and `musim library skipped`")
    return owners_of(tracks)


def owners_of(tracks: list[dict]) -> dict[str, tuple[str, str]]:
    """``{resolved source path: (library artist, track id)}``: the manifest's paths are resolved (the corpus
    links its files into the packages), the library keeps the path it scanned."""
    return {str(Path(t["source_path"]).resolve()): (t["artist"], t["track_id"]) for t in tracks}


def train_families(env: dict[str, str], log: Path, families: list[str], params: dict[str, dict]) -> list[str]:
    """Step 3: the train_embeddings DAG; prints each family's version, status and identity evaluation."""
    from musim import warehouse
    from musim.embedded import run_dag
    from musim.models import registry

    # a family's settings go in its param; the descriptors family has none (and the DAG no param for it: a conf key
    # that is none of the DAG's params fails the run)
    conf = {"families": families, "seed": 0, "n_boot": 500, "k": 10, **{f: params[f] for f in families if params[f]}}
    took = run_dag("train_embeddings", env, log, conf)
    with warehouse.writer() as con:
        entries = [registry.list_models(con, family=f)[0] for f in families]
    print(f"\n3. Airflow DAG train_embeddings ran in {took:.0f} s: {len(entries)} families without listening data, "
          "each evaluated by artist identity (AUC of a track's same-artist tracks against the others):")
    for e in entries:
        training = e.training or {}
        score = e.score() or {}
        auc = "" if score.get("mean") is None else (f"; {e.primary_metric} {score['mean']:.3f} "
                                                    f"[{score['lo']:.3f}, {score['hi']:.3f}]")
        epochs = f", {training['epochs_run']} epochs" if training.get("epochs_run") is not None else ""
        print(f"   {e.version}: {e.status}{epochs} in {training.get('seconds', 0):.0f} s{auc}")
    return [e.version for e in entries]


def try_line(home: Path, versions: list[str]) -> str:
    """The closing hint: commands that work on this home as it is left. The versions are served by version
    (:func:`serve_for_comparison`) and none need be a champion, so the audio commands name one."""
    version = versions[0] if versions else "VERSION"
    return (f"\nTry (MUSIM_HOME={home}): musim library list --artist NAME   |   musim models list   |   "
            f"musim models show {version}\n     musim similar-audio FILE --model {version} --k 10   |   "
            f"musim embed FOLDER --out embeddings.npz --model {version}\n     musim similar NAME --audio --model "
            f"{version}   |   musim similar-tracks TITLE --model {version}")


def latest_versions(families: list[str]) -> list[str]:
    """The newest version of each family (``--report-only``)."""
    from musim import warehouse
    from musim.errors import NotFoundError
    from musim.models import registry

    with warehouse.writer() as con:
        found = [registry.list_models(con, family=f) for f in families]
    if not all(found):
        raise NotFoundError("no trained version of " + ", ".join(f for f, v in zip(families, found, strict=True)
                                                                  if not v) + ": run the demo without --report-only")
    return [v[0].version for v in found]


def serve_for_comparison(versions: list[str]) -> None:
    """Versions that were not promoted are published by version (``musim models publish VERSION``: their
    embeddings and neighbours served, no champion changed), so the table and the queries can use them."""
    from musim import serving, sql, warehouse
    from musim.models import registry
    from musim.models.families import publish_version

    with warehouse.writer() as con:
        published = {r for (r,) in sql.query(con, "demo/published_versions.sql").fetchall()}
        todo = [v for v in versions if v not in published]
        for version in todo:
            entry = registry.get_model(con, version)
            decision = next((d for d in registry.promotions(con, family=entry.family) if d["version"] == version),
                            None)
            why = f" ({decision['reason']})" if decision else ""
            print(f"   {version} is {entry.status}{why}: published by version for the comparison "
                  f"(`musim models publish {version}`)")
            publish_version(con, version, k=10, snapshot=False)
        if todo:
            serving.publish(con)


def print_evaluation(manifest: Path, versions: list[str], *, n_boot: int, plot: Path) -> None:
    """Step 4: ``musim models evaluate --labels manifest.csv --group-by source_package --plot PLOT`` of every
    version beside the baselines, on the same tracks."""
    from musim.cli.output import print_table
    from musim.models.label_eval import evaluate_labels
    from musim.models.labels import read_labels

    names = baseline_names()
    started = time.perf_counter()
    labels = read_labels(manifest, group_by="source_package")
    result = evaluate_labels(labels, versions=versions, baseline_names=names, n_boot=n_boot)
    command = (f"musim models evaluate --labels {manifest} --group-by source_package "
               + " ".join(f"--model {v}" for v in versions) + f" --baselines {','.join(names)} --plot {plot}")
    print(f"\n4. composer retrieval by the manifest's labels ({time.perf_counter() - started:.0f} s; `{command}`): "
          "auc_group compares a track's same-composer tracks with other composers' tracks of the same "
          "package, so a package's production style does not give the composer away")
    columns, rows, title = result.table()
    print_table(rows, columns, title=title)
    if result.group_note:
        print(f"   note: {result.group_note}")
    print(f"   plot: {result.plot(plot)}")
    whole, per_group = labels.fingerprint()
    print(f"   corpus content {whole} ({', '.join(f'{g} {h}' for g, h in per_group.items())}): another run scored the "
          "same audio only where these agree")
    if "musly" not in names:
        print("   (libmusly baseline left out: pymusly is not installed)")
    for path, reason in result.skipped:  # the corpus's file names, escaped: a hostile name cannot rewrite the terminal
        print(f"   skipped {escaped(path)}: {escaped(reason)}")


def pick_examples(manifest: Path, n: int) -> list[tuple[Path, str]]:
    """Up to ``n`` query files of different composers and packages: in each package, the first track of its
    composer with the most tracks."""
    from musim.models.labels import read_labels

    labels = read_labels(manifest, group_by="source_package")
    counts = Counter(zip(labels.groups or [""] * len(labels), labels.artists, strict=True))
    chosen: list[tuple[Path, str]] = []
    seen_groups: set[str] = set()
    seen_artists: set[str] = set()
    for (group, artist), _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if group in seen_groups or artist in seen_artists or len(chosen) == n:
            continue
        i = next(i for i, (g, a) in enumerate(zip(labels.groups or [""] * len(labels), labels.artists, strict=True))
                 if (g, a) == (group, artist))
        chosen.append((labels.paths[i], artist))
        seen_groups.add(group)
        seen_artists.add(artist)
    return chosen


def print_examples(examples: list[tuple[Path, str]], owners: dict[str, tuple[str, str]],
                   versions: list[str]) -> None:
    """Step 5: ``musim similar-audio FILE --model VERSION`` of a few corpus files by every version: the
    nearest other tracks, marked when they are by the query's composer."""
    from musim.errors import MusimError
    from musim.models.new_audio import similar_audio

    print("\n5. similar tracks of a few corpus files (`musim similar-audio FILE --model VERSION --k 5`; the query's "
          "own track left out; * = by the query's composer):")
    for path, composer in examples:
        own, own_id = owners.get(str(path.resolve()), (None, None))
        print(f"\n   {escaped(path.name)} by {escaped(composer)}:")
        for version in versions:
            try:
                found = similar_audio([path], k=6, version=version)
            except MusimError as exc:  # as an error line says it: redacted, escaped
                print(f"     {version}: {escaped(redact(exc))}")
                continue
            tracks = [m for m in found.tracks if m.track_id != own_id][:5]
            same = sum(own is not None and m.artist == own for m in tracks)
            shown = "; ".join(f"{'*' if own is not None and m.artist == own else ''}{escaped(m.title)} "
                              f"({escaped(m.artist)})" for m in tracks[:3])
            print(f"     {found.version:<14} {same}/{len(tracks)} same composer: {shown}, ...")


def main(argv: list[str] | None = None) -> int:
    from musim.cli.options import count
    from musim.terminal import Parser, error_line  # errors in one line, as every entry point's

    parser = Parser(prog="python -m musim.demo --real", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None,
                        help=f"the corpus folder with manifest.csv (default ${CORPUS_ENV}, else {DEFAULT_CORPUS})")
    parser.add_argument("--home", type=Path, default=Path(DEFAULT_HOME),
                        help=f"this demo's MUSIM_HOME (default ./{DEFAULT_HOME}, apart from the synthetic demo's)")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated label-free families")
    parser.add_argument("--examples", type=count(0), default=3, help="similar-audio queries shown")
    parser.add_argument("--quick", action="store_true", help="tiny training settings (checks the path, not the models)")
    parser.add_argument("--report-only", action="store_true",
                        help="no DAG runs: print the table and the queries of the newest version of each family")
    args = parser.parse_args(argv)

    corpus = (args.corpus or corpus_dir()).expanduser().absolute()
    manifest = corpus / "manifest.csv"
    if not manifest.is_file():
        print(error_line("musim demo --real", f"no real-music corpus at {corpus} (no manifest.csv): run "
                         f"benchmarks/real_music/make_corpus.sh first, or set {CORPUS_ENV} to one"), file=sys.stderr)
        return 2
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"--families: {', '.join(unknown)} need listening data or are unknown; use {', '.join(FAMILIES)}")
    os.environ["MUSIM_HOME"] = str(args.home.expanduser().absolute())
    from musim.cli.quiet import quiet_tensorflow_start

    quiet_tensorflow_start()  # TensorFlow's start-up lines, when the publishing below imports it, as the CLI keeps

    from musim import sql, warehouse
    from musim.config import get_settings
    from musim.embedded import airflow_env, prepare_airflow, run_dag
    from musim.models.families import DEMO_PARAMS

    settings = get_settings()
    settings.ensure_dirs()
    log = settings.home / "logs" / "demo-real-airflow.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"musim demo --real: corpus {escaped(corpus)}; MUSIM_HOME={escaped(settings.home)}; Airflow logs in "
          f"{escaped(log)}")
    if args.report_only:
        from musim.library import list_tracks

        owners = owners_of(list_tracks())
        versions = latest_versions(families)
    else:
        env = airflow_env(settings.home)
        prepare_airflow(env, log)
        folder = (corpus / "corpus" if (corpus / "corpus").is_dir() else corpus).resolve()
        took = run_dag("library_scan", env, log, {"folder": str(folder)})
        owners = print_library(took, folder)
        took = run_dag("audio_features", env, log, {"batch_size": 64})
        with warehouse.writer(settings) as con:
            mels, rejected = sql.query(con, "demo/feature_counts.sql").fetchone()
        print(f"2. Airflow DAG audio_features ran in {took:.0f} s: {mels} spectrogram arrays, {rejected} rejected "
              "excerpts; see `musim features list`")
        params = QUICK_PARAMS if args.quick else {f: DEMO_PARAMS[f] for f in FAMILIES}
        versions = train_families(env, log, families, params)
    serve_for_comparison(versions)
    print_evaluation(manifest, versions, n_boot=100 if args.quick else 1000, plot=settings.home / "comparison.png")
    print_examples(pick_examples(manifest, args.examples), owners, versions)
    print(try_line(settings.home, versions))
    return 0
