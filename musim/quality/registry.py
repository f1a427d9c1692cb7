"""The registry of dataset suites: what each dataset is, where its frames come from, what they must satisfy.

A :class:`DatasetSuite` is a named dataset (``lastfm_plays``, ``similarity``, ``previews``, ...) made of
:class:`Part` s. A part is one GX expectation suite plus a function producing the pandas DataFrames it
validates (one or several batches). Two kinds of part cover almost everything:

- :func:`sql_invariants`: whole-table facts computed in SQL over *all* rows (counts, bad-row counts,
  uniqueness, symmetry), returned as a one-row frame and checked by GX; when one fails, an examples query
  fetches a few offending values to show;
- :func:`table_rows`: the rows themselves, validated by GX row by row: every row when the table is small
  (``full_rows_max``), else a reproducible reservoir sample, in batches of ``batch_rows``.

Any other source works too (:class:`Part` with your own ``frames``), e.g. objects opened from the store.

Adding a suite (for a new table, or a frame no table holds, such as a training set)::

    from musim.quality.registry import DatasetSuite, register, sql_invariants, table_rows

    def _expect_rows(ctx):
        import great_expectations.expectations as gxe     # GX is imported inside functions only
        return [gxe.ExpectColumnValuesToBeBetween(column="x", min_value=0)]

    register(DatasetSuite(
        name="my_dataset", description="...", tables=("my_table",),
        parts=(table_rows("rows", base="quality/my_table_base.sql", rows="quality/my_table_rows.sql",
                          expectations=_expect_rows),)))

and import the module from :mod:`musim.quality.suites`. ``musim quality check --dataset my_dataset``, the
DAG gates, the results table and Data Docs then handle it like the built-in ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

from musim import sql, warehouse
from musim.config import QualityThresholds
from musim.errors import MusimError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd

#: Scopes: a ``dump`` dataset is checked for one Last.FM dump; a ``global`` one for the whole warehouse.
SCOPES = ("dump", "global")


@dataclass
class CheckContext:
    """What a part needs: the warehouse connection, the dump (for ``dump`` datasets), the thresholds."""

    con: duckdb.DuckDBPyConnection
    thresholds: QualityThresholds
    dump_id: str | None = None
    store_url: str | None = None  # the object store's URL (default: the settings'); see :meth:`object_store`
    payload: Mapping[str, Any] = field(default_factory=dict)  # data with no table, by dataset name
    _cache: dict[str, Any] = field(default_factory=dict)

    def params(self, **extra: Any) -> dict[str, Any]:
        """Named parameters for SQL files: ``dump_id``, the facts of :meth:`facts`, ``extra``."""
        return {"dump_id": self.dump_id, **self.facts(), **extra}

    def facts(self) -> dict[str, Any]:
        """Facts about the dump and its similarity build that expectations depend on (cached)."""
        if "facts" not in self._cache:
            facts: dict[str, Any] = {}
            if self.dump_id is not None:
                row = sql.query(self.con, "quality/dump_format.sql", dump_id=self.dump_id).fetchone()
                if row is None:
                    raise NotFoundError(f"dump {self.dump_id} is not in the warehouse")
                facts["format"], facts["profiles_file"], facts["dump_seq"] = row
                facts["user_key_regex"] = USER_KEY_REGEX[row[0]]
                build = sql.query(self.con, "quality/similarity_build_params.sql", dump_id=self.dump_id).fetchone()
                facts["has_build"] = build is not None
                facts["min_listeners"], facts["min_co_listeners"], facts["k"], facts["catalogue_size"] = (
                    build if build is not None else (1, 1, 1, 1))
            facts["tolerance"] = self.thresholds.score_tolerance
            self._cache["facts"] = facts
        return self._cache["facts"]

    def object_store(self):
        """The object store (opened on first use)."""
        if "store" not in self._cache:
            from musim.storage import open_store

            self._cache["store"] = open_store(self.store_url)
        return self._cache["store"]


#: User keys per dump format: sha1 hex in the 360K dump, ``user_000001`` in the 1K dump.
USER_KEY_REGEX = {"360k": r"^[0-9a-f]{40}$", "1k": r"^user_[0-9]{6}$"}


class SuiteSQLError(MusimError):
    """A suite's SQL file failed in DuckDB (e.g. a table that lacks a column the suite reads)."""


@contextlib.contextmanager
def sql_file(name: str) -> Iterator[None]:
    """DuckDB's errors in the SQL of ``sql/name`` as one line naming the file: DuckDB's own message spans several
    (its candidates, the statement's line with a caret), and named no file (the whole of it: ``musim -v``)."""
    try:
        yield
    except duckdb.Error as exc:
        raise sql_error(name, exc) from exc


def sql_error(name: str, exc: duckdb.Error) -> SuiteSQLError:
    """``exc``, raised by the SQL of ``sql/name``, as one line naming the file (see :func:`sql_file`)."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return SuiteSQLError(f"sql/{name}: {first}")


Expectations = Callable[[CheckContext], list[Any]]
Frames = Callable[[CheckContext], Iterator["pd.DataFrame"]]


@dataclass
class Coverage:
    """How much of a part's data GX saw: filled by the frames function while it yields."""

    rows_total: int | None = None
    rows_validated: int = 0
    sampled: bool = False
    how: str = ""


@dataclass(frozen=True)
class Part:
    """One GX suite over the frames ``frames`` yields (all batches are validated against the same suite).

    ``frames(ctx, coverage)`` yields DataFrames and records in ``coverage`` what they cover;
    ``examples(ctx, failed_columns)`` returns example bad values per failed column (optional).
    """

    name: str
    expectations: Expectations
    frames: Callable[[CheckContext, Coverage], Iterable[pd.DataFrame]]
    examples: Callable[[CheckContext, set[str]], dict[str, list[str]]] | None = None
    description: str = ""
    #: the frames need nothing but their context's connection and fit in memory together: the runner may
    #: fetch them on a cursor of their own while the parts before them are validated
    prefetch: bool = False
    #: the frames are one row of whole-table facts (:func:`sql_invariants`): a failed expectation's count is a fact's
    #: value, not rows of the table
    facts: bool = False


@dataclass(frozen=True)
class DatasetSuite:
    """A dataset and its parts. ``tables`` must all exist for it to apply; ``applies`` may skip it
    for a reason (e.g. a dump without a profiles file). An ``on_demand`` suite is left out of "every
    suite" runs: it runs when named, usually with a ``payload`` (a model run's training split)."""

    name: str
    description: str
    parts: tuple[Part, ...]
    tables: tuple[str, ...] = ()
    scope: str = "global"
    applies: Callable[[CheckContext], str | None] | None = None
    version: Callable[[CheckContext], str | None] | None = None
    on_demand: bool = False

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"suite {self.name}: scope must be one of {SCOPES}, got {self.scope!r}")
        names = [p.name for p in self.parts]
        if len(names) != len(set(names)) or not names:
            raise ValueError(f"suite {self.name}: parts need distinct names (and there must be at least one)")


_REGISTRY: dict[str, DatasetSuite] = {}


def register(suite: DatasetSuite, *, replace: bool = False) -> DatasetSuite:
    """Add ``suite`` to the registry (``replace=True`` to redefine one, e.g. in tests)."""
    if suite.name in _REGISTRY and not replace and _REGISTRY[suite.name] is not suite:
        raise ValueError(f"a quality suite named {suite.name!r} is already registered")
    _REGISTRY[suite.name] = suite
    return suite


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def all_suites() -> dict[str, DatasetSuite]:
    """Every registered suite by name (the built-in ones are registered on first call)."""
    import musim.quality.suites  # noqa: F401  (registers the built-in suites)

    return dict(_REGISTRY)


def get_suite(name: str) -> DatasetSuite:
    known = all_suites()
    if name not in known:
        raise NotFoundError(f"no quality suite named {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


# -- the two common kinds of part ------------------------------------------------------------------------

def sql_invariants(name: str, *, query: str, expectations: Expectations, examples: str | None = None,
                   facts: Callable[[CheckContext], dict[str, Any]] | None = None, in_order: bool = False,
                   params: Callable[[CheckContext], dict[str, Any]] | None = None,
                   description: str = "") -> Part:
    """A part checking whole-table facts computed by the SQL file ``query`` (one row, one column per fact).

    ``in_order``: the query reads tables in their storage order (e.g. ``lag() OVER ()`` proving rows unique by
    finding them strictly increasing), so it runs under :func:`musim.warehouse.in_order`.

    ``facts`` computes more of them in Python, where that is cheaper than in SQL (added as columns).
    ``examples`` is an SQL file returning ``(check_name, example)`` rows, ``check_name`` naming a column of
    the facts (at most ``$limit`` rows each); it runs only when an expectation on such a column failed.
    ``params`` gives more named parameters for both SQL files (e.g. lists from the code's definitions).
    """

    def bound(ctx: CheckContext, **extra: Any) -> dict[str, Any]:
        return ctx.params(**(params(ctx) if params is not None else {}), **extra)

    def ordered(ctx: CheckContext):
        return warehouse.in_order(ctx.con) if in_order else contextlib.nullcontext()

    def fetch(ctx: CheckContext) -> pd.DataFrame:
        with ordered(ctx), sql_file(query):
            return _fetch_df(ctx.con, query, bound(ctx))

    def frames(ctx: CheckContext, coverage: Coverage) -> Iterator[pd.DataFrame]:
        if facts is None:
            df = fetch(ctx)
        else:  # the Python facts on their own cursor, beside the SQL
            cursor = ctx.con.cursor()
            try:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="musim-facts") as pool:
                    more = pool.submit(facts, dataclasses.replace(ctx, con=cursor))
                    df = fetch(ctx)
                    for column, value in more.result().items():
                        df[column] = value
            finally:
                cursor.close()
        coverage.rows_total = None
        coverage.rows_validated = 0
        coverage.how = "all rows, aggregated in SQL"
        yield df

    def fetch_examples(ctx: CheckContext, failed: set[str]) -> dict[str, list[str]]:
        if examples is None or not failed:
            return {}
        out: dict[str, list[str]] = {}
        with ordered(ctx), sql_file(examples):
            df = _fetch_df(ctx.con, examples, bound(ctx, limit=ctx.thresholds.examples))
        for check, example in zip(df["check_name"], df["example"], strict=True):
            if check in failed:
                out.setdefault(check, []).append(str(example))
        return out

    return Part(name=name, expectations=expectations, frames=frames, examples=fetch_examples, prefetch=True,
                description=description or f"whole-table invariants ({query})", facts=True)


def fact_between(column: str, *, min_value: float | None = None, max_value: float | None = None,
                 description: str) -> Any:
    """The expectation that the whole-table fact ``column`` of a :func:`sql_invariants` part (one row) lies between
    ``min_value`` and ``max_value`` (inclusive; None: unbounded), described by ``description``.

    GX's column-maximum expectation: on one row the maximum is the fact's value, which a failure shows as its
    observed value, as the row-by-row expectation did. GX computes one aggregate for it where the row-by-row
    ``ExpectColumnValuesToBeBetween`` builds and resolves ~10 metrics (unexpected counts, lists, value counts,
    indexes): ~5 ms of CPU per fact instead of ~15 (the similarity suite's 15 facts: ~0.07 s instead of ~0.22 s).
    A fact the SQL left NULL or NaN fails here; the row-by-row expectation counted it as missing and passed.
    """
    import great_expectations.expectations as gxe

    return gxe.ExpectColumnMaxToBeBetween(column=column, min_value=min_value, max_value=max_value,
                                          description=description)


def fact_zero(column: str, description: str) -> Any:
    """The expectation that the whole-table count ``column`` of a :func:`sql_invariants` part is zero (bad rows,
    duplicates): :func:`fact_between` 0 and 0."""
    return fact_between(column, min_value=0, max_value=0, description=description)


def table_rows(name: str, *, base: str, rows: str, expectations: Expectations, by_rowid: bool = False,
               params: Callable[[CheckContext], dict[str, Any]] | None = None,
               examples: Callable[[CheckContext, set[str]], dict[str, list[str]]] | None = None,
               description: str = "") -> Part:
    """A part validating rows row by row with GX.

    ``base`` is an SQL file selecting the dataset's rows from its table (cheap: no joins), ``rows`` one
    selecting the columns GX sees from the relation ``q_base`` (it may join other tables). Up to
    ``full_rows_max`` rows every row is validated; above, a sample of ``sample_rows`` rows (repeatable with
    ``seed``): a reservoir sample, or with ``by_rowid`` (``base`` then also selects the table's ``rowid AS
    q_rowid``), where the rows' ids are contiguous, as for rows inserted together, a simple random sample of
    their ids (a third of the reservoir's cost on 16M rows). Both go to GX in frames of ``batch_rows``, and
    may be fetched while the parts before are validated (at most ``max(full_rows_max, sample_rows)`` rows).
    ``params`` gives more named parameters for both SQL files; ``examples`` as for :class:`Part` (e.g. the
    tracks behind a failed row count).
    """
    extra_params = params

    def frames(ctx: CheckContext, coverage: Coverage) -> Iterator[pd.DataFrame]:
        running = [base]  # the sql/ file whose statement runs: named by an error
        try:
            yield from _frames(ctx, coverage, running)
        except duckdb.Error as exc:
            raise sql_error(running[-1], exc) from exc

    def _frames(ctx: CheckContext, coverage: Coverage, running: list[str]) -> Iterator[pd.DataFrame]:
        t = ctx.thresholds
        params = ctx.params(**(extra_params(ctx) if extra_params is not None else {}))
        base_stmt = sql.single(base)
        base_params = {k: params[k] for k in sql.params_of(base_stmt)}
        span = "max(q_rowid) - min(q_rowid) + 1, min(q_rowid)" if by_rowid else "NULL, NULL"
        # sql-in-python: wraps the statement of the sql/ file `base`; `span` is one of two fixed expressions
        total, ids, first_id = ctx.con.execute(f"SELECT count(*), {span} FROM ({base_stmt})", base_params).fetchall()[0]
        coverage.rows_total = int(total)
        coverage.sampled = total > t.full_rows_max
        if coverage.sampled and ids == total:
            picked = np.random.default_rng(t.seed).choice(int(total), size=min(int(t.sample_rows), int(total)),
                                                           replace=False)
            # the sampled ids as a registered array: bound as a list parameter, 100,000 ids took longer to bind
            # than the whole semi-join takes
            with warehouse.registered(ctx.con, "q_sample_ids", {"q_rowid": np.sort(picked) + int(first_id)}):
                # sql-in-python: wraps the statement of the sql/ file `base`; the ids are the registered array
                ctx.con.execute(f"""CREATE OR REPLACE TEMP TABLE q_base AS SELECT * FROM ({base_stmt})
                                    WHERE q_rowid IN (SELECT q_rowid FROM q_sample_ids)""", base_params)
            coverage.how = f"simple random sample of {len(picked):,} of {total:,} rows (seed {t.seed})"
        elif coverage.sampled:
            # sample the base rows before any join; the sample size and seed are integers of our settings
            ctx.con.execute(  # sql-in-python: wraps the sql/ file `base`; sample size and seed are ints
                f"""CREATE OR REPLACE TEMP TABLE q_base AS SELECT * FROM ({base_stmt})
                    USING SAMPLE reservoir({int(t.sample_rows)} ROWS) REPEATABLE ({int(t.seed)})""", base_params)
            coverage.how = f"reservoir sample of {min(t.sample_rows, total):,} of {total:,} rows (seed {t.seed})"
        else:
            # sql-in-python: copies the rows of the statement of the sql/ file `base`
            ctx.con.execute(f"CREATE OR REPLACE TEMP TABLE q_base AS {base_stmt}", base_params)
            coverage.how = f"all {total:,} rows"
        running.append(rows)
        try:
            rows_stmt = sql.single(rows)
            used = {k: params[k] for k in sql.params_of(rows_stmt)}
            reader = ctx.con.sql(rows_stmt, params=used or None).to_arrow_reader(t.batch_rows)
            # the reader's batches are as the parallel scan made them: regrouped into frames of batch_rows
            # (each frame is one GX run, with its fixed cost)
            pending: pa.Table | None = None
            yielded = False
            for batch in itertools.chain(reader, [None]):
                if batch is not None:
                    more = pa.Table.from_batches([batch])
                    pending = more if pending is None else pa.concat_tables([pending, more])
                while pending is not None and pending.num_rows and (
                        pending.num_rows >= t.batch_rows or batch is None):
                    df = pending.slice(0, t.batch_rows).to_pandas()
                    pending = pending.slice(t.batch_rows)
                    coverage.rows_validated += len(df)
                    yielded = True
                    yield df
            if not yielded:  # an empty table still gets validated (column-existence expectations)
                yield _fetch_df(ctx.con, rows, params)
        finally:
            ctx.con.execute("DROP TABLE IF EXISTS q_base")  # sql-in-python: cleanup of musim's temp table

    return Part(name=name, expectations=expectations, frames=frames, examples=examples, prefetch=True,
                description=description or f"row-level expectations ({rows})")


def _fetch_df(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> pd.DataFrame:
    return sql.query(con, name, **params).df()
