"""``musim quality check``, ``quality report``, ``quality suites``: the data-quality suites from the shell."""

from __future__ import annotations

import argparse
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from musim import sandbox
from musim.cli.output import print_json, print_table, printable, safe_line
from musim.redact import redact
from musim.terminal import error_line

#: Exit status of ``musim quality check`` when a dataset failed its suite (as for musim's own errors).
FAILED = 2
# The failure rule of the CLI (README, "Output"): a command that fails prints nothing on stdout and says why on stderr
# in a `musim: error:` line (a gate: its report). `quality check` is the one command whose product is the validation
# itself: it prints its result (the report, or the --json document with "success": false) on stdout either way, and a
# failure ends with the `musim: error:` line on stderr too, --json or not, exit 2.


def register(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser("quality", help="data-quality suites (Great Expectations): check, report")
    qsub = q.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = qsub.add_parser("check", help="run the quality suites; exit 2 if a dataset fails",
                        description="Run the quality suites (all that apply, or --dataset), record the results in "
                                    "the warehouse and publish Data Docs. Exits 2 when a dataset fails, naming "
                                    "the failed expectations with examples of bad values.")
    p.add_argument("--dataset", action="append", metavar="NAME",
                   help="a suite to run (repeatable; default: every suite whose tables exist); see `musim quality suites`")
    p.add_argument("--dump", help="dump id or unique prefix for dump datasets (default: the latest)")
    p.add_argument("--no-docs", action="store_true", help="do not build and publish Data Docs")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_check)

    p = qsub.add_parser("report", help="show the latest quality result of each dataset, or one run, and where its "
                        "Data Docs are")
    p.add_argument("--run", help="run id or unique prefix: that run's results (default: the latest result of each "
                   "dataset, whichever run it came from)")
    p.add_argument("--dataset", help="only this dataset's")
    p.add_argument("--dump", help="only results for this dump (id or prefix)")
    p.add_argument("--presign", action="store_true",
                   help="print a presigned HTTP URL for Data Docs kept in S3 (valid 12 hours)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)

    p = qsub.add_parser("suites", help="list the registered quality suites")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_suites)


def _next_training_split() -> dict:
    """The payload of the ``training_split`` suite: the split the next model run would use (default shares), or,
    where there is none to make, why not and what would make one (the suite's reason to skip)."""
    from musim import warehouse
    from musim.errors import MusimError, NotFoundError
    from musim.models.data import latest_dump
    from musim.models.families.inputs import load_manifest, split_payload
    from musim.quality.suites.training_split import NoSplit
    from musim.similarity.build import resolve_dump

    with warehouse.writer() as con:
        try:
            latest_dump(con)  # the split is of the artists with co-listening targets: a similarity build's
        except NotFoundError as exc:
            try:
                resolve_dump(con, None)
            except NotFoundError:  # no Last.FM dump at all: a music library only
                return {"training_split": NoSplit(
                    "a music library without listening data has no training split: its model runs train without "
                    "one (evaluated by artist identity), so training_split does not apply; a split comes with "
                    "co-listening targets: ingest a Last.FM dump and build its similarity (`musim ingest lastfm "
                    "PATH`, then `musim similarity build`)")}
            return {"training_split": NoSplit(f"no training split without co-listening targets: {exc}")}
        try:
            return {"training_split": split_payload(load_manifest(con, needs=("log_mel",)))}
        except MusimError as exc:  # nothing to train on yet: its message says what must run first
            return {"training_split": NoSplit(f"no training split yet: {exc}")}


#: Fields of a quality run's JSON that quote an error or a reason (its exception's message, a store's answer).
_ERROR_FIELDS = ("exception", "reason", "docs_error")


def _errors_redacted(doc: Any) -> Any:
    """``doc`` with its :data:`_ERROR_FIELDS` redacted, as the text report shows them; the rest (the data's values,
    a presigned Data Docs link asked for) exact."""
    if isinstance(doc, dict):
        return {k: redact(v) if k in _ERROR_FIELDS and isinstance(v, str) else _errors_redacted(v)
                for k, v in doc.items()}
    if isinstance(doc, list):
        return [_errors_redacted(v) for v in doc]
    return doc


def cmd_check(args: argparse.Namespace) -> int:
    from musim.quality import all_suites, check

    suites = all_suites()
    if args.dump and args.dataset and all(d in suites and suites[d].scope != "dump" for d in args.dataset):
        from musim.errors import ParameterError

        # it was ignored without a word (an unknown dump id too): the check ran as if --dump were not given
        per_dump = ", ".join(name for name, s in suites.items() if s.scope == "dump")
        raise ParameterError(f"--dump applies only to the datasets checked per dump ({per_dump}), not to "
                             f"{', '.join(dict.fromkeys(args.dataset))}: leave --dump out")
    payload = _next_training_split() if args.dataset and "training_split" in args.dataset else None
    run = check(args.dataset, dump_id=args.dump, docs=not args.no_docs, payload=payload)
    if args.json:
        print_json(_errors_redacted(run.to_json()))
    else:  # it quotes exceptions, reasons and file names: each line escaped and redacted
        print(safe_line(run.describe()))
    if not run.success:
        print(error_line("musim", f"data quality check failed: {run.failed_line()}"), file=sys.stderr)
        return FAILED
    if args.dataset and run.checked_nothing:  # what was asked for could not be checked
        print(error_line("musim", f"nothing was checked: {'; '.join(r.reason or r.dataset for r in run.results)}"),
              file=sys.stderr)
        return FAILED
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from musim.quality.report import latest_results

    with sandbox.reader() as con:
        rows = latest_results(con, run_id=args.run, dataset=args.dataset, dump_id=args.dump, presign=args.presign)
    runs = list(dict.fromkeys(r["run_id"] for r in rows))  # newest first
    docs = {r["run_id"]: r["docs_url"] for r in rows if r["docs_url"]}
    if args.json:
        newest = next((docs[run] for run in runs if run in docs), None)
        print_json({"run_id": runs[0] if len(runs) == 1 else None, "runs": runs,
                    "success": all(r["success"] for r in rows), "docs_url": newest,
                    "datasets": _errors_redacted(rows)})
        return 0
    one = len(runs) == 1
    print_table([(r["dataset"], (r["dump_id"] or "")[:12], *(() if one else (r["run_id"],)), r["status"],
                  r["expectations"], r["failed"], r["rows_total"], r["rows_validated"],
                  "sample" if r["sampled"] else "all", r["created_at"]) for r in rows],
                ["dataset", "dump", *(() if one else ("run",)), "status", "expectations", "failed", "rows", "gx rows",
                 "gx saw", "checked at"],
                title=f"quality run {runs[0]}" if args.run else
                f"the latest quality result of {'each dataset' if not args.dataset else args.dataset}"
                + (f" (dump {args.dump})" if args.dump else "") + (f": run {runs[0]}" if one and not args.run else ""))
    from musim.quality.failures import Failure

    for r in rows:
        for f in r["failures"]:  # as `quality check` said it: the limits, how many rows, examples of bad values
            print(safe_line(f"  {r['dataset']} FAILED {Failure.from_json(f).line()}"))
    for run in runs:
        link = docs.get(run)
        if link is None:
            continue
        which = "" if one else f" of run {run} ({', '.join(r['dataset'] for r in rows if r['run_id'] == run)})"
        path = urllib.request.url2pathname(urllib.parse.urlsplit(link).path) if link.startswith("file://") else None
        where = ""
        if path and Path(path).is_file():
            where = f"\n  (local file: {printable(path, 0)})"
        elif path:  # a restored warehouse, a store moved or emptied: a link to nothing would look like a broken site
            where = (f"\n  (missing: no local file {printable(path, 0)}; the store configured now (MUSIM_OBJECT_STORE) "
                     "does not hold these Data Docs: they were published to another store, or removed)")
        print(printable(f"Data Docs{which}: {link}", 0) + where)
    if not docs:
        print(f"Data Docs: none were published for {'this run' if one else 'these runs'}")
    return 0


def cmd_suites(args: argparse.Namespace) -> int:
    from musim.quality import all_suites

    found = all_suites()
    if args.json:
        print_json([{"name": s.name, "scope": s.scope, "on_demand": s.on_demand, "tables": list(s.tables),
                     "parts": [p.name for p in s.parts], "description": s.description} for s in found.values()])
    else:
        print_table([(s.name, s.scope + (", on demand" if s.on_demand else ""), ", ".join(p.name for p in s.parts),
                      s.description) for s in found.values()], ["dataset", "scope", "parts", "description"])
    return 0
