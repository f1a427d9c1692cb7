"""SQL files of ``sql/``: one place that finds and reads them.

Transformations are SQL files with DuckDB named parameters (``$min_listeners``), bound by DuckDB. Table
functions such as ``read_csv`` cannot take bound parameters, so their arguments are written ``${path}``
and replaced by a quoted SQL string literal (:func:`literal`) — file paths and settings only, never data.
DuckDB binds values, not names: a table or database that musim's code chooses from a fixed few (a staging
table, an attached database's alias) is written ``{{table}}`` and replaced by a quoted identifier
(:func:`identifier`, plain names only), never a name from a request; nothing else is filled in.
A file may hold several statements; DuckDB's own parser splits them and names their parameters
(``duckdb.extract_statements``), so semicolons and ``--`` inside strings are data.

An expression more than one file needs (``name_norm(text)``, the warehouse's normal form of a name) is a DuckDB
macro of :data:`MACROS`, defined there once; :func:`install_macros` puts them on a connection (every connection
:func:`musim.warehouse.configure` sets up, and each cursor that reads a snapshot: DuckDB keeps a TEMP macro per
connection, and a cursor is a connection of its own).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path

import duckdb

from musim.errors import ParameterError

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
#: The file of musim's SQL macros (:func:`install_macros`).
MACROS = "warehouse/macros.sql"
_LITERAL = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")
_IDENTIFIER = re.compile(r"\{\{([a-z_][a-z0-9_]*)\}\}")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: What DuckDB's binder says of a table or column it cannot find (DuckDB 1.x-2.x), the name in a group.
_MISSING_TABLE = re.compile(r'^Catalog Error: Table with name "?([^\s"!]+)"? does not exist')
_MISSING_COLUMN = re.compile(r'^Binder Error: (?:Referenced column "([^"]+)" not found|[A-Za-z ]+ "[^"]*" does not '
                             r'have a column named "([^"]+)"|Column "([^"]+)" does not exist on (?:left|right) side of '
                             r'join)')
#: The ``sql/`` folders whose files lay out a snapshot: the warehouse's tables, and what publishing adds.
_LAYOUT_DIRS = ("migrations", "serving")
_NAME_AT = re.compile(r'"?([A-Za-z_][A-Za-z0-9_]*)')
#: A byte that is not UTF-8, as Python keeps it in a command-line argument (``surrogateescape``): DuckDB takes none.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


@cache
def load(name: str) -> str:
    """Text of ``sql/<name>`` (e.g. ``"similarity/pairs.sql"``)."""
    path = SQL_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {path} is missing: the musim installation is incomplete")
    return path.read_text(encoding="utf-8")


def _without_terminator(statement: str) -> str:
    """``statement`` without its final ``;`` and the comments after it (found by DuckDB's tokenizer, whose offsets
    count the bytes of the statement's UTF-8 text, not its characters)."""
    text = statement.encode()
    tokens = [t for t in duckdb.tokenize(statement) if t[1] != duckdb.token_type.comment]
    if tokens and tokens[-1][1] == duckdb.token_type.operator and text[tokens[-1][0]:tokens[-1][0] + 1] == b";":
        text = text[:tokens[-1][0]]
    elif tokens:  # no terminator: drop trailing comments only
        last = tokens[-1][0]
        following = [t[0] for t in duckdb.tokenize(statement) if t[0] > last]
        text = text[:following[0]] if following else text
    return text.decode().strip()


def statements(text: str) -> list[str]:
    """The statements of ``text`` as DuckDB's parser splits them, each without its terminating ``;``."""
    return list(_statements(text))


@lru_cache(maxsize=4096)
def _statements(text: str) -> tuple[str, ...]:  # parsed once per text: a hot query pays no parse in Python
    return tuple(_without_terminator(st.query) for st in duckdb.extract_statements(text))


def params_of(statement: str) -> set[str]:
    """Names of the ``$named`` parameters a statement uses (DuckDB's parser tells)."""
    return set(_params_of(statement))


@lru_cache(maxsize=4096)
def _params_of(statement: str) -> frozenset[str]:
    return frozenset().union(*(st.named_parameters for st in duckdb.extract_statements(statement)))


def literal(value: object) -> str:
    """``value`` as a DuckDB string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def identifier(value: object) -> str:
    """``value`` as a quoted DuckDB identifier; a ValueError unless it is a plain name (letters, digits, ``_``)."""
    text = str(value)
    if not _PLAIN_NAME.fullmatch(text):
        raise ValueError(f"{text!r} is not a plain SQL name (letters, digits and _ only)")
    return f'"{text}"'


def _filled(name: str, params: dict) -> str:
    """The text of ``sql/<name>`` with its ``${...}`` literals and ``{{...}}`` identifiers from ``params``."""
    def value(m: re.Match[str]) -> object:
        if m.group(1) not in params:
            raise KeyError(f"sql/{name} needs parameters {[m.group(1)]}")
        return params[m.group(1)]

    text = _LITERAL.sub(lambda m: literal(value(m)), load(name))
    return _IDENTIFIER.sub(lambda m: identifier(value(m)), text)


def _one(name: str, text: str) -> str:
    found = statements(text)
    if len(found) != 1:
        raise ValueError(f"sql/{name} must hold exactly one statement")
    return found[0]


def single(name: str) -> str:
    """The one statement of ``sql/<name>`` (a file meant to hold exactly one)."""
    return _one(name, load(name))


def _bound(name: str, stmt: str, params: dict) -> dict | None:
    used = params_of(stmt)
    missing = used - params.keys()
    if missing:
        raise KeyError(f"sql/{name} needs parameters {sorted(missing)}")
    return {k: params[k] for k in used} if used else None


def _execute(con, stmt: str, bound: dict | None):
    """``con.execute(stmt, bound)``; a bound text that is not UTF-8 (a command-line argument typed in a terminal of
    another encoding: DuckDB refused it as "Python Conversion Failure", an unexpected error) is a
    :class:`~musim.errors.ParameterError` naming it."""
    try:
        return con.execute(stmt, bound)
    except duckdb.InvalidInputException:
        texts = [v for v in (bound or {}).values() for v in (v if isinstance(v, list | tuple) else [v])]
        bad = next((v for v in texts if isinstance(v, str) and _NOT_UTF8.search(v)), None)
        if bad is None:
            raise
        raise ParameterError(not_utf8(bad)) from None


def not_utf8(text: str, what: str | None = None) -> str | None:
    """What is wrong with ``text`` where it holds a byte that is not UTF-8 (see :data:`_NOT_UTF8`), in one line
    naming it (or calling it ``what``: "the query"); ``None`` for text DuckDB takes."""
    found = _NOT_UTF8.search(text)
    if found is None:
        return None
    shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")  # each such byte as \\xNN
    return (f"{what or chr(39) + shown + chr(39)} is not UTF-8 text (byte 0x{ord(found.group()) - 0xDC00:02X} at "
            f"character {found.start() + 1}: typed in a terminal or read from a file of another encoding, such as "
            "Latin-1?): give it in UTF-8")


def run(con, name: str, /, **params) -> None:
    """Execute every statement of ``sql/<name>``, binding only the parameters each statement uses (and
    filling its ``${...}`` literals and ``{{...}}`` identifiers from the same ``params``)."""
    for stmt in statements(_filled(name, params)):
        _execute(con, stmt, _bound(name, stmt, params))


def rows(con, name: str, /, **params) -> list[dict]:
    """The rows of the single statement of ``sql/<name>`` as dicts keyed by column name (bound as by
    :func:`query`): the one way musim reads a query's rows by name."""
    cur = query(con, name, **params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def query(con, name: str, /, **params):
    """Execute the single statement of ``sql/<name>``, binding the parameters it uses (literals and
    identifiers filled as by :func:`run`); the result to fetch."""
    stmt = _one(name, _filled(name, params))
    return _execute(con, stmt, _bound(name, stmt, params))


def install_macros(con):
    """Define musim's SQL macros (:data:`MACROS`: ``name_norm(text)``...) on ``con`` as TEMP macros, kept in that
    connection only (so a read-only or locked-down one takes them too, and no file is written); ``con``."""
    run(con, MACROS)
    return con


def missing_name(exc: BaseException) -> tuple[str, str] | None:
    """``("table", name)`` or ``("column", name)`` where ``exc`` is DuckDB's error for a table (or view) or a column
    that is not there; ``None`` for any other error (a function or macro missing, a wrong type, a bug)."""
    text = str(exc)
    table = _MISSING_TABLE.match(text)
    if table:
        return "table", table.group(1)
    column = _MISSING_COLUMN.match(text)
    if column:
        return "column", next(g for g in column.groups() if g)
    return None


def earlier_layout(con: duckdb.DuckDBPyConnection, exc: BaseException) -> bool:
    """Whether ``exc``, raised reading the snapshot of ``con``, is that snapshot's layout being an earlier one: a table
    (or view) or a column that this version's layout has (:func:`in_current_layout`) is not there (a
    table: not in the snapshot's catalog either). Not a missing function or macro, a wrong type, or a name no layout
    has (a bug of the query). A bug that reads a column the layout has from a relation that lacks it is still called
    an earlier layout: DuckDB's error names the query's alias for the relation, not the relation."""
    missing = missing_name(exc)
    if missing is None or not in_current_layout(missing[1]):
        return False
    kind, name = missing
    if kind == "column":  # DuckDB found no such column where the query looked: the snapshot lacks it there
        return True
    try:
        relations = {table.lower() for table, *_ in query(con, "queries/relations.sql").fetchall()}
    except duckdb.Error:  # the catalog cannot be read either: not a layout to judge
        return False
    return name.lower() not in relations


def in_current_layout(name: str) -> bool:
    """Whether this version's migrations or publishing SQL (``sql/migrations``, ``sql/serving``) name ``name`` (a
    table, view or column; case folded): what a snapshot of the current layout can hold."""
    return name.lower() in _layout_names()


@cache
def _layout_names() -> frozenset[str]:
    names: set[str] = set()
    for folder in _LAYOUT_DIRS:
        for path in sorted((SQL_DIR / folder).glob("*.sql")):
            text = path.read_text(encoding="utf-8")
            for start, kind in duckdb.tokenize(text):  # names, not the words of comments or strings
                word = _NAME_AT.match(text, start) if kind in (duckdb.token_type.identifier,
                                                               duckdb.token_type.keyword) else None
                if word:
                    names.add(word.group(1).lower())
    return frozenset(names)
