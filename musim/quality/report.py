"""Reading recorded quality results back (``musim quality report``, the web page's quality section).

A result records the URL its Data Docs had when the run published them (``quality_result.docs_url``): under
another ``MUSIM_HOME``, a restored backup or a moved store that URL names a place that no longer holds them.
What stays true is the object's key in the store (``quality/docs/<run_id>/index.html``), so readers show
:func:`docs_link`: the key, taken from the recorded URL, under the store configured now.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import duckdb

from musim import sql
from musim.errors import NotFoundError, refuse_blank

if TYPE_CHECKING:  # pragma: no cover
    from musim.storage import ObjectStore

_COLUMNS = ["run_id", "dataset", "dump_id", "version", "status", "success", "expectations", "failed", "rows_total",
            "rows_validated", "sampled", "failures", "details", "docs_url", "seconds", "created_at"]
#: Where a run's Data Docs lie in the object store (musim.quality.runner.publish_docs writes them there).
DOCS_PREFIX = "quality/docs"
_DOCS_KEY = re.compile(rf"(?:^|/)({re.escape(DOCS_PREFIX)}/[^?#]+)")


def latest_results(con: duckdb.DuckDBPyConnection, *, run_id: str | None = None, dataset: str | None = None,
                   dump_id: str | None = None, store: ObjectStore | None = None,
                   presign: bool = False) -> list[dict[str, Any]]:
    """The rows of one quality run (``run_id``, a unique prefix is enough), else the latest result of every
    dataset (of ``dataset`` only, of dumps whose id starts with ``dump_id``), newest first. Each row's
    ``docs_url`` is :func:`docs_link` of the recorded one (the recorded URL under the store configured now;
    presigned with ``presign``) and ``docs_key`` the object key it names. An empty ``run_id``/``dataset``/``dump_id``
    is refused, not read as "any" (:class:`~musim.errors.ParameterError`)."""
    for value, what in ((run_id, "the run id"), (dataset, "the dataset"), (dump_id, "the dump id")):
        refuse_blank(value, what, "a value, or none for the latest results")
    if run_id:
        runs = sql.query(con, "quality/report_runs.sql", run_id=run_id, dataset=dataset or None,
                         dump_id=dump_id or None).fetchall()
        if len(runs) > 1:
            raise NotFoundError(f"run id {run_id!r} matches several runs: {', '.join(r[0] for r in runs[:5])}")
        if not runs:
            _no_run(con, run_id)
        rows = sql.query(con, "quality/report_results.sql", run_id=runs[0][0], dataset=dataset or None,
                         dump_id=dump_id or None).fetchall() if runs else []
    else:
        rows = sql.query(con, "quality/report_latest.sql", dataset=dataset or None, dump_id=dump_id or None).fetchall()
    if not rows:
        _nothing_matched(con, run_id, dataset, dump_id)
    out = []
    for row in rows:
        d = dict(zip(_COLUMNS, row, strict=True))
        for key in ("failures", "details"):
            if isinstance(d[key], str):
                d[key] = json.loads(d[key])
        d["docs_key"] = docs_key(d["docs_url"])
        if d["docs_key"] is not None and store is None:
            from musim.storage import open_store

            store = open_store()
        d["docs_url"] = docs_link(d["docs_url"], store=store, presign=presign)
        out.append(d)
    return out


def _nothing_matched(con: duckdb.DuckDBPyConnection, run_id: str | None, dataset: str | None,
                     dump_id: str | None) -> None:
    """Raise :class:`NotFoundError` saying why no result matched: a dataset no suite checks (naming the suites), a
    run that did not check the dataset or dump asked for (naming what it checked), or no result recorded yet."""
    from musim.quality.registry import all_suites

    known = all_suites()
    if dataset and dataset not in known and not sql.query(con, "quality/report_runs.sql", run_id=None,
                                                          dataset=dataset, dump_id=None).fetchone():
        raise NotFoundError(f"no quality suite named {dataset!r}; known: {', '.join(sorted(known))}")
    asked = ", ".join(f"{k}={v}" for k, v in (("dataset", dataset), ("dump", dump_id)) if v)
    runs = sql.query(con, "quality/report_runs.sql", run_id=run_id, dataset=None, dump_id=None).fetchall() \
        if run_id else []
    if len(runs) == 1 and asked:
        checked = sql.query(con, "quality/run_checked.sql", run_id=runs[0][0]).fetchall()
        listed = ", ".join(f"{d} (dump {dump[:12]})" if dump_id and dump else d for d, dump in checked)
        raise NotFoundError(f"run {runs[0][0]} checked: {listed}; nothing matching {asked}")
    what = " matching " + ", ".join(f"{k}={v}" for k, v in
                                    (("run", run_id), ("dataset", dataset), ("dump", dump_id)) if v) \
        if run_id or dataset or dump_id else ""
    raise NotFoundError(f"no quality results{what} yet: run `musim quality check` first")


def _no_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Raise :class:`NotFoundError` when no recorded run's id starts with ``run_id``, naming the recent runs (a
    run that exists but checked no dataset/dump asked for is left to the caller's message)."""
    if sql.query(con, "quality/report_runs.sql", run_id=run_id, dataset=None, dump_id=None).fetchone():
        return
    recent = [r[0] for r in sql.query(con, "quality/report_runs.sql", run_id=None, dataset=None,
                                      dump_id=None).fetchmany(5)]
    raise NotFoundError(f"run id {run_id!r} matches no quality run; "
                        + (f"recent runs: {', '.join(recent)}" if recent else
                           "none recorded yet: run `musim quality check` first"))


def docs_key(docs_url: str | None) -> str | None:
    """The object key of the Data Docs page ``docs_url`` names (``…/quality/docs/<run>/index.html`` →
    ``quality/docs/<run>/index.html``); None when it names none (no docs, or a URL outside that prefix)."""
    m = _DOCS_KEY.search(docs_url) if isinstance(docs_url, str) else None
    return m.group(1) if m else None


def docs_link(docs_url: str | None, *, store: ObjectStore | None = None, presign: bool = False,
              expires: timedelta = timedelta(hours=12)) -> str | None:
    """Where the Data Docs a result recorded at ``docs_url`` are now: their key (:func:`docs_key`) in the object
    store configured now (``store``, default :func:`musim.storage.open_store`), as its URL (a ``file://`` URL
    or ``s3://…``), or with ``presign`` a presigned HTTP URL (an S3 store's credentials are needed; the site's
    other pages stay private). A URL that names no key is returned as recorded."""
    key = docs_key(docs_url)
    if key is None:
        return docs_url
    if store is None:
        from musim.storage import open_store

        store = open_store()
    return store.presigned_url(key, expires) if presign and store.root_url.startswith("s3://") else store.url(key)
