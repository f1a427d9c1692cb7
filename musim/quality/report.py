"""Reading recorded quality results back (``musim quality report``)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import duckdb

from musim import sql
from musim.errors import NotFoundError, refuse_blank

_COLUMNS = ["run_id", "dataset", "dump_id", "version", "status", "success", "expectations", "failed", "rows_total",
            "rows_validated", "sampled", "failures", "details", "docs_url", "seconds", "created_at"]


def latest_results(con: duckdb.DuckDBPyConnection, *, run_id: str | None = None, dataset: str | None = None,
                   dump_id: str | None = None) -> list[dict[str, Any]]:
    """The rows of one quality run: ``run_id`` (a unique prefix is enough), else the latest run that
    checked ``dataset`` (and ``dump_id``, a prefix), else the latest run. An empty one is refused, not read as
    "any" (:class:`~musim.errors.ParameterError`)."""
    for value, what in ((run_id, "the run id"), (dataset, "the dataset"), (dump_id, "the dump id")):
        refuse_blank(value, what, "a value, or none for the latest run")
    runs = sql.query(con, "quality/report_runs.sql", run_id=run_id, dataset=dataset, dump_id=dump_id).fetchall()
    if not runs:
        what = " matching " + ", ".join(f"{k}={v}" for k, v in
                                        (("run", run_id), ("dataset", dataset), ("dump", dump_id)) if v) \
            if run_id or dataset or dump_id else ""
        raise NotFoundError(f"no quality results{what} yet: run `musim quality check` first")
    if run_id and len(runs) > 1:
        raise NotFoundError(f"run id {run_id!r} matches several runs: {', '.join(r[0] for r in runs[:5])}")
    rows = sql.query(con, "quality/report_results.sql", run_id=runs[0][0]).fetchall()
    out = []
    for row in rows:
        d = dict(zip(_COLUMNS, row, strict=True))
        for key in ("failures", "details"):
            if isinstance(d[key], str):
                d[key] = json.loads(d[key])
        out.append(d)
    return out


def browsable_url(docs_url: str | None, *, presign: bool = False, expires: timedelta = timedelta(hours=12)) -> str | None:
    """``docs_url`` as something a browser opens: a ``file://`` URL as is; an ``s3://`` one presigned when
    ``presign`` (the store's credentials are needed; the site's other pages stay private)."""
    if not docs_url or not presign or not docs_url.startswith("s3://"):
        return docs_url
    from musim.storage import open_store

    store = open_store()
    root = store.root_url.rstrip("/") + "/"
    if not docs_url.startswith(root):
        return docs_url
    return store.presigned_url(docs_url[len(root):], expires)
