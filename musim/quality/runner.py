"""Run quality suites: validate, record the results in the warehouse, publish Data Docs, gate.

:func:`check` runs the named suites (default: every registered one whose tables exist) on one warehouse
connection, stores one ``quality_result`` row per dataset, builds GX Data Docs into a scratch folder and
uploads them to the object store under ``quality/docs/<run_id>/``. The scratch folder
(``$MUSIM_TMP/quality-<pid>-<random>``) is owned through a lock; a run removes those of killed runs first. :func:`gate` does the same and raises
:class:`~musim.errors.QualityError` naming the failed expectations, with examples of bad values, when any
dataset failed: what the DAGs call between a build and its publishing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

from musim import sql, warehouse
from musim.config import QualityThresholds, Settings, get_settings
from musim.errors import NotFoundError, QualityError
from musim.quality.failures import Failure
from musim.quality.preloading import hurry as hurry_preload
from musim.quality.registry import CheckContext, Coverage, DatasetSuite, Part, all_suites, get_suite
from musim.quality.report import DOCS_PREFIX
from musim.redact import redact
from musim.scratch import owned_scratch, sweep

log = logging.getLogger(__name__)

SCRATCH_PREFIX = "quality-"
"""Scratch folders of runs under ``$MUSIM_TMP``: ``quality-<pid>-<random>`` (see :mod:`musim.scratch`)."""


@dataclass
class DatasetResult:
    """The outcome of one dataset's suite in one run (one ``quality_result`` row)."""

    run_id: str
    dataset: str
    dump_id: str | None
    version: str | None
    status: str  # passed | failed | skipped
    expectations: int = 0
    failed: int = 0
    rows_total: int | None = None
    rows_validated: int = 0
    sampled: bool = False
    failures: list[Failure] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    seconds: float = 0.0
    docs_url: str | None = None

    @property
    def success(self) -> bool:
        return self.status != "failed"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["success"] = self.success
        return out

    def summary(self, most: int = 3) -> str:
        """``dataset (2 of 22 expectations failed: part: what (3 of 52,227 rows); ...)``: one line naming the
        dataset, its failed expectations (the first ``most``) and how many rows each found bad."""
        if self.status != "failed":
            return f"{self.dataset} ({self.status})"
        shown = "; ".join(f.summary() for f in self.failures[:most])
        more = f"; and {len(self.failures) - most} more" if len(self.failures) > most else ""
        return f"{self.dataset} ({self.failed} of {self.expectations} expectations failed: {shown}{more})"

    def describe(self) -> list[str]:
        scope = f" (dump {self.dump_id[:12]})" if self.dump_id else ""
        if self.status == "skipped":
            return [f"{self.dataset}{scope}: skipped: {self.reason}"]
        head = (f"{self.dataset}{scope}: {self.status.upper()}: {self.expectations - self.failed} of "
                f"{self.expectations} expectations met")
        cover = "; ".join(f"{p['part']}: {p['coverage']}" for p in self.parts)
        lines = [head, f"  checked: {cover}"]
        lines += [f"  FAILED {f.line()}" for f in self.failures]
        return lines


@dataclass
class QualityRun:
    """Every dataset checked by one :func:`check` call."""

    run_id: str
    results: list[DatasetResult]
    docs_url: str | None
    docs_error: str | None = None
    docs_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def failed(self) -> list[DatasetResult]:
        return [r for r in self.results if not r.success]

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "success": self.success, "docs_url": self.docs_url,
                "docs_error": self.docs_error, "seconds": round(self.seconds, 3),
                "docs_seconds": round(self.docs_seconds, 3),
                "datasets": [r.to_json() for r in self.results]}

    def failed_line(self) -> str:
        """The failed datasets, each with its failed expectations and how many rows they found bad (one line)."""
        return ", ".join(r.summary() for r in self.failed)

    @property
    def checked_nothing(self) -> bool:
        """Every dataset was skipped (nothing to check: no build, no previews...)."""
        return all(r.status == "skipped" for r in self.results)

    def describe(self) -> str:
        verdict = "NOTHING CHECKED" if self.checked_nothing else "PASSED" if self.success else "FAILED"
        lines = [f"quality run {self.run_id}: {verdict}"]
        for r in self.results:
            lines += r.describe()
        if self.docs_url:
            lines.append(f"Data Docs: {self.docs_url}")
        elif self.docs_error:
            lines.append(f"Data Docs not published: {self.docs_error}")
        return "\n".join(lines)


def new_run_id() -> str:
    return f"q{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in sql.query(con, "quality/present_tables.sql").fetchall()}


def resolve_datasets(con: duckdb.DuckDBPyConnection, names: Sequence[str] | None) -> list[DatasetSuite]:
    """The suites named (in order), or every registered suite whose tables exist (on-demand ones aside)."""
    if names:
        return [get_suite(n) for n in dict.fromkeys(names)]
    present = _tables(con)
    return [s for s in all_suites().values() if set(s.tables) <= present and not s.on_demand]


def check_on(con: duckdb.DuckDBPyConnection, datasets: Sequence[str] | None = None, *, dump_id: str | None = None,
             thresholds: QualityThresholds | None = None, settings: Settings | None = None, docs: bool = True,
             record: bool = True, run_id: str | None = None, payload: Mapping[str, Any] | None = None) -> QualityRun:
    """:func:`check` on an open warehouse connection (the writer's, since results are recorded).

    ``payload`` hands data that has no table to the suites that read it, by dataset name (e.g. a model
    run's split: ``{"training_split": TrainingSplit(...)}``).
    """
    started = time.perf_counter()
    settings = settings or get_settings()
    thresholds = thresholds or settings.quality
    run_id = run_id or new_run_id()
    chosen = resolve_datasets(con, datasets)
    if not chosen:
        raise NotFoundError("no quality suite applies: the warehouse holds none of their tables")
    dump = None
    if any(s.scope == "dump" for s in chosen):
        from musim.similarity.build import resolve_dump

        try:
            dump = resolve_dump(con, dump_id)
        except NotFoundError:
            if dump_id is not None or datasets:
                raise
            # nothing ingested yet and nothing asked for by name: the dump datasets are skipped
    settings.ensure_dirs()
    sweep(settings.tmp_dir, SCRATCH_PREFIX)  # scratch folders of killed runs
    with owned_scratch(settings.tmp_dir, SCRATCH_PREFIX) as scratch:
        scratch.mkdir()
        from musim.quality import gx

        @functools.cache
        def gx_context():  # when a part first needs it: the parts' SQL has started, and runs beside the wait
            hurry_preload()  # for GX's import, if a preload is still at it (a suite without prefetched parts)
            return gx.new_context(scratch / "docs" if docs else None)

        present = _tables(con)
        results = []
        for suite in chosen:
            ctx = CheckContext(con=con, thresholds=thresholds, dump_id=dump if suite.scope == "dump" else None,
                               store_url=settings.storage.object_store, payload=dict(payload or {}))
            try:
                results.append(_run_suite(gx_context, suite, ctx, run_id, present))
            except Exception as exc:  # a check that cannot run fails its dataset (recorded, named), not the run
                # named in the result and its report; the traceback for -v and task logs (INFO), not on a plain
                # command's stderr, where a traceback is for errors musim does not expect (`musim -v`)
                log.info("quality run %s: the %s suite could not run", run_id, suite.name, exc_info=True)
                results.append(DatasetResult(
                    run_id=run_id, dataset=suite.name, dump_id=ctx.dump_id, version=None, status="failed",
                    expectations=1, failed=1, reason=f"the suite could not run: {type(exc).__name__}",
                    failures=[Failure(part="(suite)", expectation="suite_runs", columns=[], description="the suite runs",
                                      kwargs={}, unexpected_count=0, element_count=0, observed=[], examples=[],
                                      exception=f"{type(exc).__name__}: {exc}")]))
        docs_url = docs_error = None
        docs_started = time.perf_counter()
        if docs:
            try:
                gx.build_docs(gx_context())
                docs_url = publish_docs(scratch / "docs", run_id, settings)
            except Exception as exc:  # the data is judged already; an unreachable store must not hide that
                docs_error = redact(f"{type(exc).__name__}: {exc}")  # stored in the run's details
                log.warning("quality run %s: Data Docs were not published: %s", run_id, docs_error)
        for r in results:
            r.docs_url = docs_url
        run = QualityRun(run_id=run_id, results=results, docs_url=docs_url, docs_error=docs_error,
                         docs_seconds=time.perf_counter() - docs_started, seconds=time.perf_counter() - started)
        if record:
            record_results(con, run)
    for r in run.results:
        log.info("quality %s %s: %s (%d/%d expectations failed) in %.2f s", run_id, r.dataset, r.status,
                 r.failed, r.expectations, r.seconds)
    return run


def check(datasets: Sequence[str] | None = None, *, dump_id: str | None = None,
          thresholds: QualityThresholds | None = None, settings: Settings | None = None, docs: bool = True,
          record: bool = True, payload: Mapping[str, Any] | None = None) -> QualityRun:
    """Run the suites of ``datasets`` (default: all that apply) for ``dump_id`` (default: the latest dump).

    Opens the warehouse writer (results are recorded in ``quality_result``); never raises for bad data,
    see :attr:`QualityRun.success`. Use :func:`gate` to stop a pipeline.
    """
    settings = settings or get_settings()
    with warehouse.writer(settings) as con:
        return check_on(con, datasets, dump_id=dump_id, thresholds=thresholds, settings=settings, docs=docs,
                        record=record, payload=payload)


def gate(datasets: Sequence[str], *, dump_id: str | None = None, thresholds: QualityThresholds | None = None,
         settings: Settings | None = None, con: duckdb.DuckDBPyConnection | None = None) -> QualityRun:
    """:func:`check` that raises :class:`QualityError` (the report in its message) if a dataset failed; on the
    writer's connection ``con`` if given (:func:`check_on`), else on a writer of its own."""
    if con is not None:
        run = check_on(con, datasets, dump_id=dump_id, thresholds=thresholds, settings=settings)
    else:
        run = check(datasets, dump_id=dump_id, thresholds=thresholds, settings=settings)
    if not run.success:
        raise QualityError(f"data quality gate failed: {run.failed_line()}\n" + run.describe(), run_id=run.run_id,
                           failed=[r.dataset for r in run.failed])
    return run


def _run_suite(gx_context: Callable[[], Any], suite: DatasetSuite, ctx: CheckContext, run_id: str, present: set[str]) -> DatasetResult:
    started = time.perf_counter()
    result = DatasetResult(run_id=run_id, dataset=suite.name, dump_id=ctx.dump_id, version=None, status="passed")
    missing = [t for t in suite.tables if t not in present]
    if missing:  # the migrations made them: a suite asked for by name cannot pass (a gate) on what is not there
        raise NotFoundError(f"the warehouse lacks the tables the {suite.name} suite checks: {', '.join(missing)} "
                            "(dropped or renamed since the migrations made them): restore them, e.g. from a copy "
                            "of the warehouse")
    reason = None
    if suite.scope == "dump" and ctx.dump_id is None:
        reason = "no Last.FM dump has been ingested yet"
    if reason is None and suite.applies is not None:
        reason = suite.applies(ctx)
    if reason is not None:
        result.status, result.reason = "skipped", reason
        result.seconds = time.perf_counter() - started
        return result
    if suite.version is not None:
        result.version = suite.version(ctx)
    from musim.quality import gx

    prefetched = [i for i, part in enumerate(suite.parts) if part.prefetch]
    cursors = [ctx.con.cursor() for _ in prefetched]
    per_part = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(prefetched)), thread_name_prefix="musim-frames") as pool:
            # each part's frames fetched on a cursor of its own while this thread builds the GX suites and
            # validates the parts whose frames have arrived (DuckDB releases the GIL while it runs the SQL):
            # a slow whole-table query no longer holds up the parts after it
            early = {i: pool.submit(_fetch_frames, suite.parts[i], dataclasses.replace(ctx, con=cursor))
                     for i, cursor in zip(prefetched, cursors, strict=True)}
            # the SQL has started: what a preload has left of GX's import goes on at normal priority beside it
            # now, not once the first frames are in (the thread at nice 19 got next to no CPU while the cores
            # were busy: with the similarity suite, up to 1 s of the gate waiting for the import after its SQL)
            hurry_preload()
            validators: dict[int, Any] = {}

            def validator(i: int) -> Any:  # each part's GX suite, built once
                if i not in validators:
                    part = suite.parts[i]
                    validators[i] = gx.PartValidator(gx_context(), f"{suite.name}.{part.name}", part.expectations(ctx),
                                                     run_id)
                return validators[i]

            for i in _ready_first(early, len(suite.parts), prepare=validator):
                per_part[i] = dataclasses.replace(result, failures=[], parts=[])
                _run_part(validator(i), suite.parts[i], ctx, per_part[i], early.get(i))
    finally:
        for cursor in cursors:
            cursor.close()
    for i in range(len(suite.parts)):  # reported in the suite's order, whatever order they ran in
        _merge_part(result, per_part[i])
    result.status = "failed" if result.failed else "passed"
    result.seconds = time.perf_counter() - started
    return result


def _ready_first(early: dict[int, Future], n_parts: int, prepare: Callable[[int], Any] | None = None) -> Iterator[int]:
    """The parts' indexes, each once: first a part that need not wait (its frames have arrived, or it reads
    them itself), in order; when none can go, ``prepare`` the pending parts (their GX suites: on the full
    similarity dump the whole-table facts' SQL is the last to arrive, and its suite was built after it) and then
    wait for the next prefetch to finish."""
    pending = list(range(n_parts))
    while pending:
        ready = [i for i in pending if i not in early or early[i].done()]
        if not ready:
            for i in pending:
                if prepare is not None and not early[i].done():
                    prepare(i)
            wait([early[i] for i in pending], return_when=FIRST_COMPLETED)
            continue
        pending.remove(ready[0])
        yield ready[0]


def _merge_part(result: DatasetResult, part: DatasetResult) -> None:
    result.failures += part.failures
    result.parts += part.parts
    result.expectations += part.expectations
    result.failed += part.failed
    if part.rows_total is not None:
        result.rows_total = max(result.rows_total or 0, part.rows_total)
    result.rows_validated += part.rows_validated
    result.sampled = result.sampled or part.sampled


def _fetch_frames(part: Part, ctx: CheckContext) -> tuple[list[pd.DataFrame], Coverage]:
    coverage = Coverage()
    return list(part.frames(ctx, coverage)), coverage


def _run_part(validator: Any, part: Part, ctx: CheckContext, result: DatasetResult, fetched: Future | None) -> None:
    from musim.quality import gx

    part_started = time.perf_counter()
    if fetched is not None:
        frames, coverage = fetched.result()
    else:
        coverage = Coverage()
        frames = part.frames(ctx, coverage)
    for df in frames:
        validator.validate(df)
    outcomes = validator.finish()
    failed = [o for o in outcomes if not o.success]
    examples: dict[str, list[str]] = {}
    if failed and part.examples is not None:
        examples = part.examples(ctx, {c for o in failed for c in o.columns})
    n_examples = ctx.thresholds.examples
    for o in failed:
        ex = [e for c in o.columns for e in examples.get(c, [])][:n_examples]
        result.failures.append(Failure(
            part=part.name, expectation=o.type, columns=o.columns, description=o.description,
            kwargs=gx.jsonable(o.kwargs), unexpected_count=o.unexpected_count, element_count=o.element_count,
            observed=gx.jsonable(o.observed[:n_examples]), examples=gx.jsonable(ex), exception=o.exception,
            facts=part.facts))
    result.expectations += len(outcomes)
    result.failed += len(failed)
    if coverage.rows_total is not None:
        result.rows_total = max(result.rows_total or 0, coverage.rows_total)
    result.rows_validated += coverage.rows_validated
    result.sampled = result.sampled or coverage.sampled
    result.parts.append({"part": part.name, "coverage": coverage.how, "batches": validator.batches,
                         "rows_total": coverage.rows_total, "rows_validated": coverage.rows_validated,
                         "expectations": len(outcomes), "failed": len(failed),
                         "seconds": round(time.perf_counter() - part_started, 3)})


def publish_docs(folder: Path, run_id: str, settings: Settings | None = None) -> str:
    """Upload the Data Docs site in ``folder`` to ``quality/docs/<run_id>/``; return the index's URL.

    GX ships ~4 MB of static images with every site; only files some page or stylesheet refers to are
    uploaded. An upload that fails (a full store, one gone away) takes back the files already uploaded, as far as
    the store lets it: no half a site under the run's prefix, which nothing would link to or remove.
    """
    from musim.storage import open_store

    store = open_store((settings or get_settings()).storage.object_store)
    files = [p for p in folder.rglob("*") if p.is_file()]
    pages = [p for p in files if p.suffix in (".html", ".css", ".js")]
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in pages)
    prefix = f"{DOCS_PREFIX}/{run_id}"
    uploaded: list[str] = []
    try:
        for path in sorted(files):
            rel = path.relative_to(folder).as_posix()
            if path in pages or path.name in text:
                ctype = {".html": "text/html", ".css": "text/css", ".js": "application/javascript"}.get(path.suffix)
                uploaded.append(f"{prefix}/{rel}")
                store.put_file(uploaded[-1], path, content_type=ctype)
    except BaseException:
        for key in uploaded:
            try:
                store.delete(key)
            except Exception:  # the store that failed the upload may refuse this too: the upload's error is said
                log.info("quality run %s: could not remove %s of the unpublished Data Docs", run_id, key, exc_info=True)
        raise
    return store.url(f"{prefix}/index.html")


def record_results(con: duckdb.DuckDBPyConnection, run: QualityRun) -> None:
    """Insert one ``quality_result`` row per dataset of ``run`` (a rerun of the same run id replaces them)."""
    now = dt.datetime.now(dt.UTC)
    with warehouse.transaction(con):
        sql.run(con, "quality/clear_results.sql", run_id=run.run_id)
        for r in run.results:
            sql.run(con, "quality/record_result.sql", run_id=r.run_id, dataset=r.dataset, dump_id=r.dump_id,
                    version=r.version, status=r.status, success=r.success, expectations=r.expectations,
                    failed=r.failed, rows_total=r.rows_total, rows_validated=r.rows_validated, sampled=r.sampled,
                    failures=json.dumps([asdict(f) for f in r.failures], default=str),
                    details=json.dumps({"parts": r.parts, "reason": r.reason, "docs_error": run.docs_error},
                                       default=str),
                    docs_url=r.docs_url, seconds=r.seconds, created_at=now)
