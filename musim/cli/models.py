"""``musim models list|show|promote``: the model registry from the shell (thin wrappers over
:mod:`musim.models.registry`; no TensorFlow is imported)."""

from __future__ import annotations

import argparse

from musim import warehouse
from musim.cli.output import print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("models", help="model registry: list, show, promote")
    msub = m.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = msub.add_parser("list", help="registered model versions, newest first")
    p.add_argument("--family", help="only this family (siamese, cnn_classifier, autoencoder)")
    p.add_argument("--status", choices=["champion", "challenger", "archived"])
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = msub.add_parser("show", help="one version: lineage, parameters, metrics with CIs against the baselines")
    p.add_argument("version", help="e.g. siamese-3, or siamese:champion")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = msub.add_parser("promote", help="make a challenger champion if it beats the champion beyond the CI",
                        description="Compare VERSION with its family's champion on the same test artists (paired "
                                    "bootstrap of the per-artist difference on the primary metric). It becomes "
                                    "champion only if the lower bound of the difference is above 0; otherwise it "
                                    "stays a challenger. The decision is recorded either way.")
    p.add_argument("version")
    p.add_argument("--metric", help="compare on this metric (default: the version's primary metric, ndcg@10)")
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--force", action="store_true", help="promote whatever the comparison says (recorded)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_promote)


def _primary(entry) -> str:
    s = entry.score()
    return "" if not s or s.get("mean") is None else f"{s['mean']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]"


def cmd_list(args: argparse.Namespace) -> int:
    from musim.models.registry import list_models

    with warehouse.writer() as con:
        entries = list_models(con, family=args.family, status=args.status)
    if args.json:
        print_json([{k: v for k, v in e.to_json().items() if k not in ("metrics", "training")} | {
            "primary": e.score()} for e in entries])
        return 0
    print_table([(e.version, e.status, e.target_metric, (e.dump_id or "")[:12], e.feature_service or "",
                  e.primary_metric, _primary(e), e.created_at.strftime("%Y-%m-%d %H:%M")) for e in entries],
                ["version", "status", "target", "dump", "features", "metric", "value [95% CI]", "created"])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from musim.models.registry import get_model, promotions

    with warehouse.writer() as con:
        entry = get_model(con, args.version)
        decisions = [d for d in promotions(con, family=entry.family) if d["version"] == entry.version]
    if args.json:
        print_json(entry.to_json() | {"promotions": decisions})
        return 0
    print(f"{entry.version}  ({entry.family}, {entry.status} since {entry.status_at:%Y-%m-%d %H:%M})")
    print(f"  objects:  {entry.object_prefix}  (model.keras, metrics.json, card.md, curves.png)")
    print(f"  targets:  {entry.target_metric} of dump {entry.dump_id or '-'}; snapshot {entry.snapshot_id or '-'}; "
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
    print_table(rows, ["metric", *scorers], title="evaluation (mean [95% CI] over test artists)")
    for d in decisions:
        print(f"\npromotion {d['decided_at']:%Y-%m-%d %H:%M}: {'PROMOTED' if d['promoted'] else 'not promoted'} "
              f"vs {d['against']}: {d['reason']}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from musim.models.registry import promote

    with warehouse.writer() as con:
        decision = promote(con, args.version, metric=args.metric, confidence=args.confidence, force=args.force)
    if args.json:
        print_json(decision.to_json())
    else:
        print(f"{decision.version}: {'champion' if decision.promoted else decision.status} — {decision.reason}")
    return 0
