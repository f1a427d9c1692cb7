"""``musim models list|show|promote``: the model registry from the shell (thin wrappers over
:mod:`musim.models.registry`; no TensorFlow is imported)."""

from __future__ import annotations

import argparse
import sys

from musim import sandbox, warehouse
from musim.cli.options import count, may_be_empty, number, open_share, positive, seed, version
from musim.cli.output import print_json, print_table, printable
from musim.errors import ParameterError
from musim.models.constants import FAMILY_NAMES as FAMILY_CHOICES
from musim.models.constants import IDENTITY_METRICS, PRIMARY_METRIC_CHOICES, TARGET_METRICS
from musim.models.promotion import CONFIDENCE_RANGE
from musim.params import LEARNING_RATE_MAX, MAX_SIZE


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("models", help="models: train, evaluate, compare, list, show, promote, publish")
    msub = m.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = msub.add_parser("list", help="registered model versions, newest first")
    p.add_argument("--family", choices=FAMILY_CHOICES, help="only this family")
    p.add_argument("--status", choices=["champion", "challenger", "archived"])
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = msub.add_parser("show", help="one version: lineage, parameters, metrics with CIs against the baselines")
    p.add_argument("version", help="e.g. siamese-3, or siamese:champion")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = msub.add_parser("promote", help="make a challenger champion if it beats the champion beyond the CI",
                        description="Compare VERSION with its family's champion on the same test artists, those "
                                    "the champion never trained on (paired bootstrap of the per-artist difference "
                                    "on the primary metric). It becomes champion only if the lower bound of the "
                                    "difference is above 0; otherwise it stays a challenger. The decision is "
                                    "recorded either way, in the registry and the model cards.")
    p.add_argument("version")
    p.add_argument("--metric", help="compare on this metric (default: the version's primary metric, `musim models "
                   "show` says which: nDCG against co-listening, auc by artist identity without listening data)")
    p.add_argument("--confidence", type=number(*CONFIDENCE_RANGE), default=0.95,
                   help=f"level of the paired difference's CI, {CONFIDENCE_RANGE[0]:g} to {CONFIDENCE_RANGE[1]:g} "
                        "(default 0.95)")
    p.add_argument("--force", action="store_true", help="promote whatever the comparison says (recorded)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_promote)

    p = msub.add_parser("publish", help="serve a version: embed the catalogue, publish its audio neighbours",
                        description="Embed every track with features with VERSION (any family, champion or "
                                    "not), replace its family's rows of the audio neighbour tables, put its vectors "
                                    "in the online store and publish a serving snapshot. The serving model, what "
                                    "`similar-audio` and `embed` use without --family/--model, is the champion "
                                    "published last, else (no champion published) the version published last; any "
                                    "other published version answers with --model VERSION.")
    p.add_argument("version", help="e.g. autoencoder-2 or cnn_classifier:champion")
    p.add_argument("--k", type=positive, default=10, help="neighbours per artist and track (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_publish)

    register_train(msub)
    register_compare(msub)
    register_evaluate(msub)


def _primary(entry) -> str:
    s = entry.score()
    return "" if not s or s.get("mean") is None else f"{s['mean']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]"


def cmd_list(args: argparse.Namespace) -> int:
    from musim.models.registry import list_models

    with sandbox.reader() as con:
        entries = list_models(con, family=args.family, status=args.status)
    if args.json:
        print_json([{k: v for k, v in e.to_json().items() if k not in ("metrics", "training")} | {
            "primary": e.score()} for e in entries])
        return 0
    if not entries:
        which = " ".join(filter(None, [args.status, args.family]))
        print(f"no {which + ' ' if which else ''}model version registered yet" + (
            "" if which else ": train one with `musim models train [--family F]` or the train_siamese / "
                             "train_embeddings DAGs"))
        return 0
    print_table([(e.version, e.status, _target(e), (e.dump_id or "")[:12], e.feature_service or "",
                  e.primary_metric, _primary(e), e.created_at.strftime("%Y-%m-%d %H:%M")) for e in entries],
                ["version", "status", "target", "dump", "features", "metric", "value [95% CI]", "created"])
    return 0


def _target(entry, *, short: bool = True) -> str:
    """What a version is judged by: a co-listening metric of a dump, or (trained without listening data) artist
    identity, the label of its evaluation."""
    if entry.dump_id:
        return entry.target_metric if short else f"{entry.target_metric} of dump {entry.dump_id}"
    return "artist" if short else "artist identity (no listening data)"


def cmd_show(args: argparse.Namespace) -> int:
    from musim.models.card import decision_words
    from musim.models.registry import get_model, promotions

    with sandbox.reader() as con:
        entry = get_model(con, args.version)
        decisions = [d for d in promotions(con, family=entry.family) if d["version"] == entry.version]
    if args.json:
        print_json(entry.to_json() | {"promotions": decisions})
        return 0
    print(f"{entry.version}  ({entry.family}, {entry.status} since {entry.status_at:%Y-%m-%d %H:%M})")
    print(f"  objects:  {entry.object_prefix}  (model.keras, metrics.json, card.md, curves.png)")
    print(f"  targets:  {_target(entry, short=False)}; snapshot {entry.snapshot_id or '-'}; "
          f"features {entry.feature_service or '-'}; test set {entry.test_set_id}")
    print("  params:   " + ", ".join(f"{k}={v}" for k, v in entry.params.items()))
    scorers = list(entry.metrics)
    metrics = list(next(iter(entry.metrics.values()), {}))
    rows = []
    for m in metrics:
        cells = []
        for s in scorers:
            c = entry.metrics[s].get(m) or {}
            cells.append("" if c.get("mean") is None else f"{c['mean']:.3f} [{c['lo']:.3f},{c['hi']:.3f}]")
        rows.append([m, *cells])
    print()
    from musim.models.families.compare import by_identity

    over = ("query tracks by artist identity (the interval resamples their artists)" if by_identity(entry)
            else "test artists")
    print_table(rows, ["metric", *_marked(entry.metrics, scorers)], title=f"evaluation (mean [95% CI] over {over})")
    for line in _fair_notes(entry.metrics):
        print(line)
    for d in decisions:  # in the card's words: "not promoted: not promoted: too little evidence" said it twice
        outcome, why = decision_words(d)
        print(f"\npromotion {d['decided_at']:%Y-%m-%d %H:%M}: {outcome.upper() if d['promoted'] else outcome} "
              f"vs {d['against']} on {d['metric']}: {why}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from musim.models.promotion import promote

    with warehouse.writer() as con:
        decision = promote(con, args.version, metric=args.metric, confidence=args.confidence, force=args.force)
    if args.json:
        print_json(decision.to_json())
    else:
        print(f"{decision.version}: {'champion' if decision.promoted else decision.status} — {decision.reason}")
        if decision.promoted or decision.status == "champion":
            print(f"serve it (similar-audio, embed, the UI): musim models publish {decision.version}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from pathlib import Path

    from musim.models.families import publish_version

    with warehouse.writer() as con:
        result = publish_version(con, args.version, k=args.k)
    if args.json:
        print_json(result)
        return 0
    version = result.get("version") or result.get("champion")
    print(f"{version}: neighbours of {result['artists']} artists ({result['cold_start']} cold start: no co-listened "
          "pair in the latest dump) "
          f"and {result['tracks']} tracks published"
          + (f"; snapshot {Path(result['snapshot']).name}" if result.get("snapshot") else ""))
    return 0


# -- train (musim.models.families: the one model path, in this process) --------------------------------

def register_train(msub: argparse._SubParsersAction) -> None:
    p = msub.add_parser("train", help="train, evaluate, register and promote a model; publish the champion's neighbours",
                        description="One run of the nightly job in this process, for any family: the inputs of the "
                                    "latest similarity build (without listening data, the label-free families' "
                                    "tracks judged by artist identity; checked by the training_split gate first), "
                                    "training, "
                                    "evaluation against the baselines and the champion on the same held-out "
                                    "artists, registration, promotion, then the champion's embeddings and audio "
                                    "neighbours with a new serving snapshot.")
    p.add_argument("--family", default="siamese", choices=FAMILY_CHOICES, help="model family (default siamese)")
    p.add_argument("--epochs", type=positive, help="training epochs")
    p.add_argument("--metric", default="seed", choices=TARGET_METRICS,
                   help="co-listening metric learned and ranked against (default seed)")
    p.add_argument("--dump", help="dump id or unique prefix of the targets (default: the latest similarity build that passed its "
                   "quality check)")
    p.add_argument("--learning-rate", type=number(0.0, LEARNING_RATE_MAX, above=True))
    p.add_argument("--batch-size", type=count(1, MAX_SIZE))
    p.add_argument("--embedding-size", type=count(1, MAX_SIZE),
                   help="size of the embedding (siamese: dense_units; cnn_classifier: embedding_units)")
    p.add_argument("--sampling", choices=["stratified", "natural"], help="siamese: how artist pairs are drawn")
    p.add_argument("--train-pairs", type=positive, help="siamese: artist pairs drawn for training")
    p.add_argument("--test-share", type=open_share,
                   help="share of artists held out for testing (default 15%%, at least 10 artists while a third of "
                        "the catalogue allows it)")
    p.add_argument("--seed", type=seed, help="seeds the artist split, the sampling and the weights (default 0)")
    p.add_argument("--hparams", metavar="JSON",
                   help='any other parameter of the family, e.g. \'{"conv_filters": [16, 32]}\' or \'{"label": "artist"}\'')
    p.add_argument("--primary-metric", default="auto", choices=PRIMARY_METRIC_CHOICES, metavar="METRIC",
                   help="promotion metric: auto (the default: ndcg@10, @5 or @3; auc without listening data) or "
                        "one of the evaluation's metrics (precision@5, map, ...)")
    p.add_argument("--k", type=positive, default=10, help="neighbours published per artist and track (default 10)")
    p.add_argument("--no-publish", action="store_true", help="do not embed and publish the champion's neighbours")
    p.add_argument("--no-progress", action="store_true", help="no progress bar of the epochs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)


def _train_params(args: argparse.Namespace) -> tuple[dict, dict]:
    """The family's parameters and the artist split from ``--hparams`` and the named options
    (:func:`musim.models.hyperparams.job_params`, as the ``train_siamese`` DAG makes them)."""
    import json

    from musim.models.hyperparams import job_params

    try:
        hparams = json.loads(args.hparams) if args.hparams else {}
    except json.JSONDecodeError as exc:
        raise ParameterError(f"--hparams is not JSON: {exc}") from None
    if not isinstance(hparams, dict):
        raise ParameterError("--hparams must be a JSON object of parameter names and values")
    if (args.sampling or args.train_pairs) and args.family != "siamese":
        raise ParameterError("--sampling and --train-pairs are siamese options; use --hparams for this family")
    return job_params(args.family, hparams, embedding_size=args.embedding_size, test_share=args.test_share,
                      epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
                      seed=args.seed, sampling=args.sampling, train_pairs=args.train_pairs)


def cmd_train(args: argparse.Namespace) -> int:
    import tempfile

    from musim.models.families import evaluation, get_family, inputs_needed, load_inputs
    from musim.models.families.compare import evaluation_rows
    from musim.models.families.inputs import gate_inputs, require_features_gate
    from musim.models.families.record import check_primary_metric, record_run
    from musim.storage import open_store

    params, split = _train_params(args)  # a share not given adapts to the catalogue
    get_family(args.family).parse_params(params)  # a bad parameter is refused before anything is loaded
    store = open_store()
    with warehouse.writer() as con:
        require_features_gate(con)  # before any tensor is loaded: no training on features that failed their suites
        inputs = load_inputs(con, store=store, needs=inputs_needed([args.family]), dump_id=args.dump,
                             target_metric=args.metric, families=[args.family], **split)
        check_primary_metric(args.primary_metric, listening=inputs.targets is not None)
        gate_inputs(con, inputs, families=[args.family])
    if inputs.listening_gap:  # a dump of other artists than the library's: this family trains without it
        print(printable(f"musim: {inputs.listening_gap}", 0), file=sys.stderr)
    # the warehouse is not held while the model trains (minutes, hours on a large catalogue): every other writer
    # (an ingest, a DAG's task, `library add`) waited MUSIM_WAREHOUSE_LOCK_WAIT_S for it and failed. As the DAGs do,
    # the run is recorded with a writer opened again; a champion promoted meanwhile was not re-scored in this run,
    # and the promotion then says it cannot decide.
    with tempfile.TemporaryDirectory(prefix=f"musim-{args.family}-") as tmp:
        run = evaluation.train_evaluate(args.family, inputs, params, store=store, workdir=tmp,
                                        verbose=0 if args.no_progress else 1)
        with warehouse.writer() as con:
            out = record_run(con, run, store=store, primary_metric=args.primary_metric,
                             publish=False if args.no_publish else "champion", k=args.k, snapshot=not args.no_publish)
            by_identity = inputs.targets is None  # no listening data: judged by artist identity, every track a query
            names = list(IDENTITY_METRICS) if by_identity else list(dict.fromkeys(["precision@3", "precision@5",
                                                                                   out.entry.primary_metric]))
            rows = evaluation_rows(out.entry.metrics, names)
            paired = _paired(con, out)
    if args.json:
        print_json(out.to_json() | {"evaluation": rows, "comparisons": paired})
        return 0
    d = out.decision
    print(f"{out.entry.version}: {d.status if d else out.entry.status}"
          + (f" — {d.reason}" if d else " (run registered before)"))
    print()
    print_table([[label, *[_cell(r[m]) for m in names]]
                 for r, label in zip(rows, _marked(out.entry.metrics, [r["scorer"] for r in rows]), strict=True)],
                ["scorer", *names],
                title="evaluation by artist identity, every track a query (mean [95% CI])" if by_identity
                else "evaluation on held-out artists (mean [95% CI])")
    for line in _fair_notes(out.entry.metrics):
        print(line)
    if paired:
        beats = [c for c in paired if c["a_better"]]
        print(f"\npaired differences (model - other, {paired[0]['confidence']:.0%} CI, as in the model card): "
              + "; ".join(f"{c['metric']} vs {c['b']}{'*' if c['fair_queries'] else ''}: {c['diff']:+.3f} "
                          f"[{c['lo']:+.3f}, {c['hi']:+.3f}]" for c in paired)
              + f" — beats {len(beats)}/{len(paired)}")
    for name, url in out.files.items():
        print(f"  {name}: {url}")
    pub = out.published or {}
    if pub:
        print(f"\n{pub['version']}: neighbours of {pub['artists']} artists ({pub['cold_start']} cold start: no "
              f"co-listened pair in the latest dump) and {pub['tracks']} tracks published" + (f"; snapshot {pub['snapshot']}" if pub.get("snapshot") else ""))
    elif not args.no_publish and out.entry.status != "champion":
        print(f"\nnot published (only a champion is); to serve it all the same: musim models publish "
              f"{out.entry.version}")
    print("\ncompare every family: musim models compare")
    return 0


def _paired(con, out) -> list[dict]:
    """The model's paired comparisons with every other scorer of its evaluation (each baseline, the re-scored
    champion on its fair queries), the very ones its model card shows (:func:`musim.models.card.versus`); none for
    a run registered before (its evaluation is not at hand: its card has them)."""
    from musim.models import registry
    from musim.models.card import versus

    if out.report is None:
        return []
    fair = registry.rescored_fairly(con, out.report, mine=sorted(registry.training_artists(con, out.entry.version)
                                                                  or ()))
    return [c.to_json() | {"fair_queries": fairly}
            for c, fairly in versus(out.report, primary_metric=out.entry.primary_metric, fair=fair)]


def _rescored(metrics: dict) -> dict[str, dict]:
    """The versions re-scored in an evaluation that are shown on the queries whose artist they never trained on
    (:func:`musim.models.registry.rescored_fairly`): ``{scorer: one of its summaries}``."""
    firsts = {s: next(iter(d.values()), None) for s, d in metrics.items() if isinstance(d, dict)}
    return {s: c for s, c in firsts.items() if isinstance(c, dict) and "left_out_artists" in c}


def _marked(metrics: dict, scorers: list[str]) -> list[str]:
    fair = _rescored(metrics)
    return [s + "*" if s in fair else s for s in scorers]


def _fair_notes(metrics: dict) -> list[str]:
    from musim.models.fairness import left_out_phrase

    return [f"* {s}: on the {c['n']} queries of {c['artists']} artists it never trained on (the other "
            f"{c['left_out_artists']} test artists {left_out_phrase(bool(c.get('training_recorded')))}), the queries "
            "its promotion decision compares" for s, c in _rescored(metrics).items()]


def _cell(c: dict) -> str:
    return "" if not c or c.get("mean") is None else f"{c['mean']:.3f} [{c['lo']:.3f},{c['hi']:.3f}]"


# -- compare (musim.models.families.compare_families) ---------------------------------------------------

def register_compare(msub: argparse._SubParsersAction) -> None:
    p = msub.add_parser("compare", help="one table of every model family and the baselines",
                        description="Each family's champion (else its latest version) and the baselines, with mean "
                                    "[95% CI] over the queries of their evaluation: test artists against co-listening, "
                                    "or tracks by artist identity (a catalogue without listening data). "
                                    "Says when versions were evaluated on different test artists or trained on "
                                    "some of their test artists (the audio of every track); paired "
                                    "differences of the best family against each other one on the same test set.")
    p.add_argument("--metric", help="the ranking metric (default: the reference version's primary metric)")
    p.add_argument("--metrics", nargs="+", help="more columns (default: those of precision@5 map spearman, against "
                   "co-listening, and auc ap p1, by artist identity, that the versions record)")
    p.add_argument("--family", action="append", choices=FAMILY_CHOICES, help="only these families (repeatable)")
    p.add_argument("--latest", action="store_true", help="each family's newest version instead of its champion")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from musim.models.families import compare_families

    with sandbox.reader() as con:
        result = compare_families(con, metric=args.metric, metrics=args.metrics, families=args.family,
                                  latest=args.latest)
    if args.json:
        print_json(result.to_json())
        return 0
    print(result.text())
    return 0


# -- evaluate against labels (musim.models.label_eval) -------------------------------------------------

def register_evaluate(msub: argparse._SubParsersAction) -> None:
    p = msub.add_parser("evaluate", help="retrieval of each track's artist (or any label) by a model and the baselines",
                        description="Without listening data: every track of the labels file is a query; an "
                                    "embedding is good when a track's nearest tracks are by the same artist. "
                                    "Reports, per embedding, the AUC of same-artist against other-artist tracks "
                                    "within the track's group (--group-by: album, soundtrack...) and overall, mAP "
                                    "and precision@1, each with a bootstrap CI over query tracks (and one over artists "
                                    "for the first); the model (its "
                                    "family's champion, a named version, or the serving model) beside the "
                                    "baselines on the same tracks.")
    p.add_argument("--labels", required=True, metavar="CSV",
                   help="columns path (relative to the CSV's folder), artist and optionally the --group-by column")
    p.add_argument("--group-by", metavar="COLUMN", help="a column of the CSV grouping tracks (e.g. album, source)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--family", choices=FAMILY_CHOICES,
                     help="this family's champion, else its version published last, with a note saying so "
                          "(default: the serving model)")
    who.add_argument("--model", metavar="VERSION", type=version, action="append",
                     help="a registered version (repeat to compare several on the same tracks)")
    who.add_argument("--baselines-only", action="store_true", help="no model: the baselines alone")
    p.add_argument("--baselines", default="random,mfcc,descriptors", type=may_be_empty,
                   help="comma-separated: random, mfcc (20 MFCC mean+std), descriptors, musly (libmusly timbre); "
                        "\"\" for none (default random,mfcc,descriptors)")
    p.add_argument("--n-boot", type=count(100, 1_000_000), default=1000, help="bootstrap resamples of the CIs (default 1000)")
    p.add_argument("--min-duration", type=number(0.0, 3600.0), metavar="SECONDS",
                   help="skip labelled files shorter than this many seconds (default: the lowest --min-duration of the "
                        "feature builds when the evaluated models were published, else 5)")
    p.add_argument("--plot", metavar="PNG", help="also draw the comparison as a PNG: a panel per metric, each "
                   "embedding's mean and 95%% CI (.png added when missing)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (decoding, featurising, musly, scoring; drawn on a terminal only)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from musim.cli.audio import output_file
    from musim.models.label_eval import evaluate_labels
    from musim.models.labels import read_labels
    from musim.scratch import temp_file

    names = [b.strip() for b in args.baselines.split(",") if b.strip()]
    if args.baselines_only and not names:
        raise ParameterError("nothing to evaluate: --baselines-only with no baselines; give --baselines "
                             "random,mfcc,descriptors,musly (any of them)")
    plot = None if args.plot is None else output_file(args.plot, option="--plot", example="comparison.png")
    labels = read_labels(args.labels, group_by=args.group_by)
    result = evaluate_labels(labels, family=args.family, versions=args.model or (),
                             with_model=not args.baselines_only, baseline_names=names, n_boot=args.n_boot,
                             progress=False if args.no_progress else None, min_duration_s=args.min_duration)
    if result.note:  # as similar-audio says it: a family without a champion answers with its last published
        print(printable(f"musim: {result.note}", 0), file=sys.stderr)
    if plot is not None:
        plot.parent.mkdir(parents=True, exist_ok=True)
        with temp_file(plot.parent, f".{plot.name}.", ".png") as tmp:  # an earlier plot there stays whole until then
            result.plot(tmp)
            tmp.replace(plot)
    if args.json:
        print_json(result.to_json() | ({} if plot is None else {"plot": str(plot)}))
        return 0
    columns, rows, title = result.table()
    print_table(rows, columns, title=title)
    if result.group_note:  # auc_group undefined (every album by one artist), or counted on some tracks only
        print(printable(f"  note: {result.group_note}", 0))
    for line, path, reason in result.skipped_lines():
        where = f"{args.labels}, line {line}: " if line is not None else ""
        print(printable(f"  skipped {where}{path}: {reason}", 0))
    for line, why in result.labels.left_out:
        print(printable(f"  left out {args.labels}, line {line}: {why}", 0))
    if plot is not None:
        print(printable(f"  plot: {plot}", 0))
    return 0
