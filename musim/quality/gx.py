"""Great Expectations, kept in one place: an ephemeral context, one suite per part, batch validation.

``great_expectations`` is imported only inside these functions, through :func:`import_gx`, never at module
import time. Results of several batches of one part are merged into one outcome per expectation.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import logging
import math
import os
import sys
import threading
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DOCS_SITE = "musim"
#: Modules GX imports with itself but uses only inside functions musim's suites never call (its KL-divergence
#: expectation's ``scipy.stats``, altair charts, its JSON-schema metric's ``jsonschema``): 0.5-0.9 s of CPU of its
#: 3.4-3.8 s, measured under load (jsonschema: ~0.07 s more).
DEFERRED_BY_GX = ("scipy.stats", "altair", "jsonschema")
#: Libraries GX's base install does not require and binds stand-ins for when they are absent
#: (``great_expectations/compatibility/``), used only for what musim never asks of it: SQL databases (sqlalchemy,
#: psycopg2), S3 and Athena (boto3, botocore, pyathena); musim validates pandas frames in an ephemeral context.
#: Where the process has not imported them, GX's import does not see them: ~0.5 s of its ~2.3 s of CPU (fresh
#: processes, interleaved, under load).
HIDDEN_FROM_GX = ("sqlalchemy", "psycopg2", "boto3", "botocore", "pyathena")
#: GX's fluent datasources for Spark, SQL databases and pandas reading files: ``great_expectations.datasource.fluent``
#: imports every one of them to register its type (their pydantic models and ~60 generated asset classes: ~0.45 s of
#: the import's ~2 s of CPU), and musim asks GX for none: it validates pandas frames through ``add_pandas`` (the
#: ``PandasDatasource``, imported as usual) in an ephemeral context. Where the process has not imported them, GX's
#: import gets a :class:`GXStub` for each instead (:func:`import_gx`).
STUBBED_IN_GX = tuple(f"great_expectations.datasource.fluent.{name}" for name in (
    "alloy_datasource", "aurora_datasource", "bigquery_datasource", "citus_datasource", "databricks_sql_datasource",
    "fabric", "fabric_datasource", "neon_datasource", "postgres_datasource", "redshift_datasource",
    "snowflake_datasource", "sql_datasource", "sql_server_datasource", "sqlite_datasource",
    "spark_datasource", "spark_file_path_datasource", "spark_filesystem_datasource", "spark_dbfs_datasource",
    "spark_s3_datasource", "spark_google_cloud_storage_datasource", "spark_azure_blob_storage_datasource",
    "pandas_file_path_datasource", "pandas_filesystem_datasource", "pandas_dbfs_datasource",
    "pandas_s3_datasource", "pandas_google_cloud_storage_datasource", "pandas_azure_blob_storage_datasource",
))
#: The GX releases whose import is known to take the stubs (its package reads no more than the names it imports of
#: them; requirements.lock pins one): any other imports GX whole. GX cannot be imported a second time in one
#: process (pydantic keeps its validators' names), so a release is listed once checked, not tried and undone.
STUBS_CHECKED_WITH = ("1.24.1",)
#: What GX keeps per failed expectation of one batch (enough to show examples, bounded in size).
_PARTIAL = 20


class DeferredModule(types.ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet; the first attribute read imports the real one
    and every read is then answered by it. The import goes through the import system, whose lock per module
    makes threads that read at once import it once (the standard library's ``LazyLoader`` executes the module
    in place, which is not thread-safe before Python 3.12, and GX is imported in a preload thread)."""

    def __init__(self, name: str, spec: importlib.machinery.ModuleSpec | None = None):
        super().__init__(name)
        self.__dict__["_deferred_real"] = None
        # the real module's spec: ``importlib.util.find_spec(name)``, which reads ``sys.modules[name].__spec__``
        # (the usual "is it installed?"), raised ValueError for a stand-in without one
        self.__spec__ = spec

    def _deferred_load(self) -> types.ModuleType:
        real = self.__dict__["_deferred_real"]
        if real is None:
            if sys.modules.get(self.__name__) is self:
                sys.modules.pop(self.__name__, None)
            real = self.__dict__["_deferred_real"] = importlib.import_module(self.__name__)
        return real

    def __getattr__(self, name: str) -> Any:  # called only for names the stand-in itself lacks
        return getattr(self._deferred_load(), name)

    def __dir__(self) -> list[str]:
        return dir(self._deferred_load())


def defer(names: tuple[str, ...] = DEFERRED_BY_GX) -> list[str]:
    """Put a :class:`DeferredModule` in ``sys.modules`` for each of ``names`` not imported yet and installed;
    returns those deferred."""
    deferred = []
    for name in names:
        spec = None if name in sys.modules else importlib.util.find_spec(name)
        if spec is None:
            continue
        sys.modules.setdefault(name, DeferredModule(name, spec))
        deferred.append(name)
    return deferred


class HiddenFromThread(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path`` while one thread imports a module: that thread's imports of ``names`` fail as if
    they were not installed. A module imported already is left as it is (finders are asked only for modules not
    in ``sys.modules``), and other threads import them as usual: a preload imports GX beside a build that may
    import boto3 (``sys.modules[name] = None`` would fail that build's import)."""

    def __init__(self, names: tuple[str, ...]):
        self.names = frozenset(names)
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname in self.names and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden from this import)", name=fullname)
        return None


class GXStub(types.ModuleType):
    """Stands in ``sys.modules`` for one of GX's modules of :data:`STUBBED_IN_GX`: each name read from it is a class
    of that name that cannot be made (GX's package imports the names; musim never uses them)."""

    def __getattr__(self, name: str) -> type:
        if name.startswith("__"):  # module protocol (``__path__``, ``__file__``...): a plain module's answer
            raise AttributeError(name)
        stand_in = self.__dict__[name] = type(name, (_NotLoaded,), {"__module__": self.__name__})
        return stand_in


class _NotLoaded:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(f"{type(self).__module__}.{type(self).__name__} was not loaded: musim imports Great "
                          "Expectations without its Spark, SQL and file datasources (musim.quality.gx.STUBBED_IN_GX)")


class StubbedInThread(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """First on ``sys.meta_path`` while one thread imports GX: that thread's imports of ``names`` get a
    :class:`GXStub` (other threads, and modules imported already, as usual)."""

    def __init__(self, names: tuple[str, ...]):
        self.names = frozenset(names)
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in self.names and threading.get_ident() == self.thread:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return GXStub(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def import_gx() -> types.ModuleType:
    """``great_expectations``, imported (once per process) without what its import loads and musim never uses:
    the modules of :data:`DEFERRED_BY_GX` deferred, those of :data:`HIDDEN_FROM_GX` hidden from it, and, for the
    GX releases of :data:`STUBS_CHECKED_WITH`, those of :data:`STUBBED_IN_GX` stubbed."""
    if "great_expectations" in sys.modules:
        return importlib.import_module("great_expectations")
    defer()
    finders: list[importlib.abc.MetaPathFinder] = [HiddenFromThread(HIDDEN_FROM_GX)]
    if gx_version() in STUBS_CHECKED_WITH:
        finders.append(StubbedInThread(STUBBED_IN_GX))
    sys.meta_path[:0] = finders
    try:
        return importlib.import_module("great_expectations")
    finally:
        for finder in finders:
            sys.meta_path.remove(finder)


def gx_version() -> str | None:
    """The installed Great Expectations' version (from its metadata, without importing it), or None."""
    try:
        return importlib.metadata.version("great_expectations")
    except importlib.metadata.PackageNotFoundError:
        return None


def new_context(docs_dir: Path | None):
    """An ephemeral GX context (no files of its own), with progress bars off and, if ``docs_dir`` is
    given, a Data Docs site writing there."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # Before the import: under Airflow's logging GX would log ~200 "Skipping registering function" lines;
    # types.base sets itself to INFO (a line per ephemeral context). Keep GX to warnings and worse.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        ctx.add_data_docs_site(site_name=DOCS_SITE, site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": _view("CachedIndexPageView")},
            # the validation pages only: each shows every expectation with its result, so the suite pages
            # repeated them (and took a third of the time to build); musim records no profiling runs
            "site_section_builders": {"expectations": "0", "profiling": "0",
                                      "validations": {"view": _view("CachedPageView")}},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        })
    return ctx


def _view(class_name: str) -> dict[str, str]:
    """GX's page view ``class_name`` of :mod:`musim.quality.gx_views`: the same pages, templates compiled once."""
    return {"module_name": "musim.quality.gx_views", "class_name": class_name}


@dataclass
class ExpectationOutcome:
    """One expectation over every batch of a part."""

    key: str
    type: str
    kwargs: dict[str, Any]
    description: str | None
    success: bool = True
    element_count: int = 0
    unexpected_count: int = 0
    missing_count: int = 0
    observed: list[Any] = field(default_factory=list)
    exception: str | None = None
    mostly: float | None = None

    @property
    def columns(self) -> list[str]:
        kw = self.kwargs
        if "column" in kw:
            return [kw["column"]]
        if "column_A" in kw:
            return [kw["column_A"], kw["column_B"]]
        return list(kw.get("column_list") or [])

    def label(self) -> str:
        return f"{self.type}({', '.join(self.columns)})"


def _raised(info: Any) -> str | None:
    """The message of the exception GX met evaluating an expectation (a column not in the frame), or None. GX 1.x
    keys it by the metric that raised (``{MetricConfigurationID(...): {"raised_exception": True, ...}}``), not at
    the top of ``exception_info``; read only there, a column renamed away was a failure that said nothing."""
    if not isinstance(info, Mapping):
        return None
    for each in (info, *info.values()):
        if isinstance(each, Mapping) and each.get("raised_exception"):
            return str(each.get("exception_message"))
    return None


class PartValidator:
    """Validates successive DataFrames of one part against one suite and merges the outcomes."""

    def __init__(self, ctx, suite_name: str, expectations: list[Any], run_name: str):
        import great_expectations as gx

        self._run_name = run_name
        # the expectations given to the suite before it is stored: added one by one to a stored suite, GX
        # saves the whole suite again for each (0.5 s for the similarity suite's 30 expectations)
        suite = ctx.suites.add(gx.ExpectationSuite(name=suite_name, expectations=list(expectations)))
        try:
            source = ctx.data_sources.get("musim")
        except (KeyError, ValueError, LookupError):
            source = ctx.data_sources.add_pandas(name="musim")
        asset = source.add_dataframe_asset(name=suite_name)
        batch = asset.add_batch_definition_whole_dataframe("frame")
        self._definition = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
        self.outcomes: dict[str, ExpectationOutcome] = {}
        self.batches = 0

    def validate(self, df) -> None:
        from great_expectations.core.run_identifier import RunIdentifier

        result = self._definition.run(
            batch_parameters={"dataframe": widened(df)}, run_id=RunIdentifier(run_name=self._run_name),
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": _PARTIAL})
        self.batches += 1
        for r in result.results:
            cfg = r.expectation_config
            kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
            key = cfg.id or f"{cfg.type}:{json.dumps(kwargs, sort_keys=True, default=str)}"
            out = self.outcomes.get(key)
            if out is None:
                out = self.outcomes[key] = ExpectationOutcome(
                    key=key, type=cfg.type, kwargs=kwargs, description=cfg.description,
                    mostly=kwargs.get("mostly"))
            res = r.result or {}
            out.element_count += int(res.get("element_count") or 0)
            out.unexpected_count += int(res.get("unexpected_count") or 0)
            out.missing_count += int(res.get("missing_count") or 0)
            raised = _raised(r.exception_info)
            if raised is not None:
                out.exception = raised  # redacted, then cut, by Failure
            if not r.success:
                observed = res.get("partial_unexpected_list")
                if observed is None and "observed_value" in res:
                    observed = [res["observed_value"]]
                for value in observed or []:  # distinct values: 5 times the same bad id says less than 5 ids
                    if len(out.observed) < _PARTIAL and value not in out.observed:
                        out.observed.append(value)
                if out.mostly is None:
                    out.success = False
            if out.mostly is not None:  # 'mostly' is judged on all batches together, not per batch
                nonmissing = out.element_count - out.missing_count
                share = 1.0 if nonmissing == 0 else 1.0 - out.unexpected_count / nonmissing
                out.success = out.exception is None and share >= out.mostly

    def finish(self) -> list[ExpectationOutcome]:
        return list(self.outcomes.values())


def widened(df):
    """``df`` with its narrow numeric columns as int64/float64: GX compares a column with bounds in one
    vectorised step only for those two dtypes (its test is ``dtype in [int, float]``) and otherwise calls a
    Python function per value, and DuckDB hands INTEGER columns over as int32 (a 100,000-row sample: ~30 ms
    per expectation instead of ~1 ms). Values are unchanged."""
    narrow = {c: ("int64" if t.kind in "iu" else "float64") for c, t in df.dtypes.items()
              if getattr(t, "kind", None) in ("i", "u", "f") and t.itemsize < 8}
    return df.astype(narrow) if narrow else df


def build_docs(ctx) -> None:
    ctx.build_data_docs(site_names=[DOCS_SITE])


def _finite_or_text(value: Any) -> Any:
    """``value`` with every NaN or infinite float (nested in lists, tuples, dicts) written as text, and numpy's
    scalars as Python's (an aggregate's observed value is an ``np.int64``, which JSON would write as text)."""
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():  # a scalar (or 0-d array)
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_finite_or_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite_or_text(v) for k, v in value.items()}
    return value


def jsonable(value: Any) -> Any:
    """``value`` made JSON-safe (tuples, numpy scalars, timestamps; NaN and infinities as text), keeping its
    shape: a list of observed values stays a list when one of them is infinite."""
    try:
        return json.loads(json.dumps(_finite_or_text(value), default=str, allow_nan=False))
    except ValueError:  # e.g. a circular reference
        return str(value)
