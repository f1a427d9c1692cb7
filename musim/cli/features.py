"""``musim features build|list|show``: batch extraction and the feature store's registry."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
from collections.abc import Iterator

import duckdb

from musim import sandbox, sql, warehouse
from musim.audio.formats import MIN_DURATION_S
from musim.cli.options import count, number, positive
from musim.cli.output import counted, print_json, print_table, printable
from musim.jsonable import plain


def register(sub: argparse._SubParsersAction) -> None:
    feats = sub.add_parser("features", help="audio features: extraction and the feature store")
    fsub = feats.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = fsub.add_parser("build", help="extract the features every stored preview lacks, materialise, gate, publish")
    p.add_argument("--view", action="append", metavar="NAME",
                   help="only this view and the views derived from it (name or name:version; repeatable; default: "
                        "every defined view); the gate then judges the training frames they feed")
    p.add_argument("--workers", type=count(1, 1024), help="worker processes (default: every CPU)")
    p.add_argument("--batch-size", type=positive, default=64, help="previews per recorded batch (default 64)")
    p.add_argument("--limit", type=positive, help="compute at most this many previews in this run")
    p.add_argument("--min-duration", type=number(0.0, 3600.0), default=MIN_DURATION_S,
                   help=f"reject audio shorter than this many seconds (default {MIN_DURATION_S:g})")
    p.add_argument("--no-publish", action="store_true", help="do not publish online snapshots")
    p.add_argument("--skip-quality", action="store_true",
                   help="publish without running the features and training_sets quality suites first (not recommended)")
    p.add_argument("--recompute", nargs="+", metavar="TRACK_ID",
                   help="extract these tracks' current audio again whatever they hold; the new rows replace theirs "
                        "(the tracks a failed features quality gate names)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_build)

    p = fsub.add_parser("list", help="registered feature views and services, and the latest builds")
    p.add_argument("--builds", type=count(0, 10_000), default=10, metavar="N",
                   help="show the N latest builds (default 10; 0: none)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = fsub.add_parser("show", help="one feature view (schema, source, lineage, counts, its latest builds) or service")
    p.add_argument("name", help="view name (or name:version) or service name")
    p.add_argument("--version", type=positive, help="view version (default: the highest)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)


def cmd_build(args: argparse.Namespace) -> int:
    from musim.features import BuildOptions, build

    opts = BuildOptions(workers=args.workers, batch_size=args.batch_size, limit=args.limit,
                        min_duration_s=args.min_duration, progress=False if args.no_progress else None)
    if not args.skip_quality:
        from musim.quality import preload

        preload()  # Great Expectations' import overlaps the build; the gate runs before anything is published
    from musim.features.extract import select_views
    from musim.quality.gates import gate_features

    # some views: the gate judges the training frames they feed (all views: every service, as the DAG's gate)
    views = select_views(args.view) if args.view else None  # with the views derived from them
    refs = [v.ref for v in views] if views else None
    result = build(views, options=opts, publish=not args.no_publish,
                   gate=functools.partial(gate_features, views=refs), skip_quality=args.skip_quality,
                   recompute=args.recompute or ())
    if args.json:
        print_json(result.to_json())
        return 0
    # feature rows: computed anew (new values), unchanged (a recompute found the values they hold: kept as they were),
    # reused (taken over from identical audio), rejected; tracks skipped (a recompute whose preview is missing)
    print(f"run {result.run_id}: {counted(result.tracks, 'track')}; {counted(result.planned, 'preview')} computed "
          f"({counted(result.computed, 'feature row')} anew"
          + (f", {result.unchanged:,} unchanged" if args.recompute else "")
          + f", {result.reused:,} reused from identical audio), {counted(result.rejected, 'rejection')}"
          + (f" ({counted(sum(result.rejected_tracks.values()), 'track')})" if result.rejected else "")
          + f" in {result.seconds:.1f} s")
    if result.skipped:
        print(f"  skipped: {counted(result.skipped, 'track')} not computed again (preview missing from the object "
              "store; their rows stay as they were: restore the object or `musim library add` a library track's "
              "file again, then rebuild)")
    for reason, n in result.rejects_by_reason.items():  # one row per track and extractor; `features show`: tracks
        again = (f" (under {args.min_duration:g} s; a build with a lower --min-duration examines them again)"
                 if reason == "too_short" else "")
        print(f"  rejected ({reason}): {counted(n, 'feature row')} of "
              f"{counted(result.rejected_tracks.get(reason, 0), 'track')}{again}")
    for ref, n in result.materialised.items():
        print(f"materialised {ref}: {n:,} changed values")
    if result.quality:
        print(f"quality gate passed ({', '.join(f'{d} {st}' for d, st in result.quality['datasets'].items())}; "
              f"run {result.quality['run_id']})" + (f": {result.quality['docs_url']}" if result.quality["docs_url"] else ""))
    for path in result.published:
        print(f"published {path}")
    if not result.tracks:
        print("no audio stored yet, so nothing to extract: add a music folder with `musim library add PATH` or fetch "
              "previews with `musim acquire`, then build again.")
    elif not result.planned and not result.reused:
        print("nothing new to extract.")
    return 0


@contextlib.contextmanager
def _registry() -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the feature registry (no writer's lock: a build or an ingest may run beside
    it), after the code's definitions were registered by a writer if they are not yet (a new warehouse)."""
    from musim.features.registry import applied, apply

    with sandbox.reader() as con:
        if applied(con):
            yield con
            return
    with warehouse.writer() as con:
        apply(con)
    with sandbox.reader() as con:
        yield con


def cmd_list(args: argparse.Namespace) -> int:
    from musim.features import list_services, list_views
    from musim.features.builds import list_builds

    with _registry() as con:
        views, services = list_views(con), list_services(con)
        builds = list_builds(con, limit=args.builds) if args.builds else []
    if args.json:
        print_json({"views": [_jsonable(v) for v in views], "services": [_jsonable(s) for s in services],
                    "builds": [_build_doc(b) for b in builds]})
        return 0
    print_table([(v["name"], v["version"], v["entity"], v["kind"], v["storage"], v["params_hash"] or "",
                  v["entities"], _minute(v["materialised_at"]))
                 for v in views],
                ["view", "version", "entity", "kind", "storage", "params", "entities", "materialised"],
                title="feature views")
    print()
    print_table([(s["name"], s["model_version"] or "", ", ".join(s["views"]),
                  s["as_of"].astimezone(dt.UTC).isoformat() if s["as_of"] else "") for s in services],
                ["service", "model", "views", "as_of"], title="feature services")
    if builds:
        print()
        _print_builds(builds, title="feature builds (newest first)")
    return 0


#: Builds of a view shown by ``features show``.
VIEW_BUILDS = 5


def _build_doc(row: dict) -> dict:
    """A build as ``features list/show --json`` prints it."""
    keys = ("run_id", "state", "status", "started_at", "heartbeat_at", "finished_at", "tracks", "items_planned",
            "reused", "computed", "unchanged", "rejected", "skipped", "quality_status", "quality_run_id")
    return {k: row[k].isoformat() if hasattr(row[k], "isoformat") else row[k] for k in keys}


def _print_builds(builds: list[dict], *, title: str) -> None:
    from musim.config import get_settings
    from musim.features.builds import INTERRUPTED, RUNNING

    print_table([(b["run_id"], b["state"], _gate(b), _minute(b["started_at"]), _minute(b["heartbeat_at"]),
                  _minute(b["finished_at"]), b["items_planned"], b["computed"], _count(b["unchanged"]), b["reused"],
                  b["rejected"], _count(b["skipped"])) for b in builds],
                ["run", "state", "quality gate", "started", "last heartbeat", "finished", "planned", "computed",
                 "unchanged", "reused", "rejected", "skipped"],
                title=title)
    failed = next((b for b in builds if b["quality_status"] is not None), None)
    if failed is not None and failed["quality_status"] == "failed":
        print(f"the newest gated build {failed['run_id']} failed its features quality gate (quality run "
              f"{failed['quality_run_id']}): its artist means were withdrawn and training refuses until a build "
              "passes; see `musim quality report --dataset features`")
    interrupted = {b["status"] for b in builds if b["state"] == INTERRUPTED}
    if interrupted:
        timeout = get_settings().features.build_timeout_s
        why = []
        if INTERRUPTED in interrupted:  # it closed its row so itself (migration 037)
            why.append("stopped with Ctrl-C")
        if RUNNING in interrupted:
            why.append(f"still marked running, but no heartbeat for over {timeout:g} s "
                       "(MUSIM_FEATURE_BUILD_TIMEOUT_S): killed half-way")
        print(f"interrupted: {'; or '.join(why)}. What it recorded stays; `musim features build` computes the rest.")


def _count(n: int | None) -> int | str:
    """A count a build keeps when it closes: blank while it is not closed, and for builds before migration 035."""
    return "" if n is None else n


def _gate(build: dict) -> str:
    """A build's features gate as ``features list/show`` print it: passed/failed (quality run), skipped, or blank
    (not gated: a build of the log-mels alone, a DAG build before its gate ran, or one before migration 029)."""
    status = build["quality_status"]
    if status in ("passed", "failed"):
        return f"{status} ({build['quality_run_id']})"
    return status or ""


def _minute(at) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def cmd_show(args: argparse.Namespace) -> int:
    from musim.errors import NotFoundError, ParameterError
    from musim.features import get_service, get_view
    from musim.features.builds import list_builds, view_extractor_hashes
    from musim.features.registry import service_names

    with _registry() as con:
        try:
            view = get_view(con, args.name, args.version)
        except NotFoundError:
            if args.version is not None and args.name in service_names(con):
                raise ParameterError(f"{args.name} is a feature service, which has no versions (it pins its views' "
                                     f"versions): drop --version {args.version}") from None
            if args.version is not None or ":" in args.name:
                raise
            try:
                service = get_service(con, args.name)
            except NotFoundError:
                from musim.features.registry import view_names

                raise NotFoundError(f"no feature view or service {args.name!r}; views: "
                                    f"{', '.join(view_names(con)) or 'none'}; services: "
                                    f"{', '.join(service_names(con)) or 'none'}") from None
            doc = {"service": service.name, "description": service.description,
                   "model_version": service.model_version,
                   "as_of": service.as_of.isoformat() if service.as_of else None,
                   "views": [{"view": v.name, "version": v.version, "entity": v.entity.name, "kind": v.kind}
                             for v in service.views]}
            if args.json:
                print_json(doc)
            else:
                # a registry's text is anyone's (a model's code registered it): escaped like every table cell
                print(printable(f"service {service.name}: {service.description}", 0))
                print(printable(f"model version: {service.model_version or '-'}; as_of: {doc['as_of'] or '-'}", 0))
                print_table([(v.name, v.version, v.entity.name, v.kind) for v in service.views],
                            ["view", "version", "entity", "kind"])
            return 0
        doc = _view_doc(con, view)
        builds = list_builds(con, params_hashes=view_extractor_hashes(con, view), limit=VIEW_BUILDS)
        doc["builds"] = [_build_doc(b) for b in builds]
    if args.json:
        print_json(doc)
        return 0
    print(printable(f"{view.ref} ({view.entity.name}, {view.kind}, {view.storage}): {view.description}", 0))
    print(printable(f"source: {json.dumps(doc['source'])}; params hash: {view.params_hash or '-'}"
                    + (f"; model version: {view.model_version}" if view.model_version else ""), 0))
    print(f"entities with values: {doc['entities']:,}; materialised: {doc['materialised_at'] or '-'}")
    if doc["lineage"]:
        print(f"lineage: {json.dumps(doc['lineage'])}")
    for reason, n in doc["rejects"].items():
        print(f"rejected ({reason}): {n:,}")
    schema = doc["schema"]
    shown = schema if len(schema) <= 12 else schema[:10]
    print_table([(f["name"], f["dtype"], "x".join("?" if s is None else str(s) for s in f["shape"]) or "scalar")
                 for f in shown], ["feature", "dtype", "shape"])
    if len(schema) > len(shown):
        print(f"... and {len(schema) - len(shown)} more features")
    if builds:
        _print_builds(builds, title=f"latest builds of its features (at most {VIEW_BUILDS})")
    return 0


def _view_doc(con, view) -> dict:
    from musim.features import list_views

    row = next(r for r in list_views(con) if r["name"] == view.name and r["version"] == view.version)
    rejects: dict[str, int] = {}
    if view.source.extractor is not None:
        rejects = dict(sql.query(con, "cli/view_rejects.sql", kind=view.source.extractor.kind,
                                 params_hash=view.params_hash).fetchall())
    d = view.definition()
    return {"view": view.name, "version": view.version, "entity": view.entity.name, "kind": view.kind,
            "storage": view.storage, "description": view.description, "schema": d["schema"], "source": d["source"],
            "params": d["params"], "params_hash": view.params_hash, "model_version": view.model_version,
            "lineage": json.loads(row["lineage"]) if isinstance(row["lineage"], str) else row["lineage"],
            "created_at": row["created_at"].isoformat(),
            "materialised_at": row["materialised_at"].isoformat() if row["materialised_at"] else None,
            "entities": row["entities"], "rejects": rejects}


def _jsonable(row: dict) -> dict:
    return plain({k: json.loads(v) if k == "lineage" and isinstance(v, str) else v for k, v in row.items()})
