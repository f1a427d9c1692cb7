"""The query door's rules for one user statement, and how it words DuckDB's errors.

:func:`check_statement` lets exactly one statement through, and only one that reads: ``SELECT`` (with
``FROM``-first, ``DESCRIBE``, ``SHOW``, ``SUMMARIZE``, ``VALUES``, ``WITH``), ``EXPLAIN [ANALYZE]`` of a SELECT, and
the read-only ``PRAGMA``\\s of :data:`READ_PRAGMAS`. :func:`door_line` and :func:`hint` turn a DuckDB error into the
one line the door says, without advice it would refuse (``SET``, ``INSTALL``). The sandbox itself is
:mod:`musim.sandbox`.
"""

from __future__ import annotations

import re

import duckdb

from musim import sql
from musim.errors import QueryError

__all__ = ["READ_PRAGMAS", "check_statement", "door_line", "first_line", "hint"]

#: PRAGMAs that only read (every other PRAGMA is refused; those that change settings are SET statements).
READ_PRAGMAS = frozenset({"show_tables", "show_tables_expanded", "table_info", "show", "database_list",
                          "database_size", "storage_info", "version", "platform", "functions", "collations",
                          "metadata_info"})
_READING = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN, duckdb.StatementType.PRAGMA}
_VERB = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z]+)", re.DOTALL)
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?(?:\([^)]*\)\s*)?", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*PRAGMA\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
#: DuckDB's advice to change a setting ('Use "SET max_expression_depth TO x" to increase ...'), which the door refuses.
_SET_ADVICE = re.compile(r"\s*\b(?:Use|Try|Consider)\b[^.]*?\bSET\b[^.]*\.?", re.IGNORECASE)
#: A function of an extension DuckDB would install and load on the fly (``iceberg_scan``, ``sql_auto_complete``): its
#: message's first line is cut in the middle ("... install the required extension 'iceberg:"); or one not loaded
#: ("... but it exists in the spatial extension."), whose advice (INSTALL, LOAD) the door refuses.
_AUTOINSTALL = re.compile(r"automatically install the required extension '([A-Za-z0-9_]+)")
_IN_EXTENSION = re.compile(r"exists in the ([A-Za-z0-9_]+) extension")


def _kind(stmt: duckdb.Statement) -> duckdb.StatementType | None:
    """DuckDB's type of ``stmt``; None for a type its Python enum does not name (``UPDATE EXTENSIONS``: reading
    ``.type`` raises ValueError), which is no reading statement."""
    try:
        return stmt.type
    except ValueError:
        return None


def _verb(stmt: duckdb.Statement) -> str:
    """The statement's kind as the user wrote it (INSTALL, RESET, USE, CHECKPOINT...), not DuckDB's grouping of it
    (LOAD, SET, CALL...); DuckDB's name where the text starts otherwise (WITH ... INSERT)."""
    m = _VERB.match(stmt.query)
    word = m.group(1).upper() if m else ""
    kind = _kind(stmt)
    name = kind.name if kind is not None else "such"
    if word == "PRAGMA":  # PRAGMA name = value is DuckDB's SET
        return f"{name} (PRAGMA name = value)"
    return word if word and word != "WITH" else name


def check_statement(query: str) -> duckdb.Statement:
    """The one reading statement in ``query``; :class:`QueryError` for anything else (see the module doc)."""
    if (bad := sql.not_utf8(query, "the query")) is not None:
        raise QueryError(bad)
    try:
        found = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(f"the query does not parse: {door_line(exc)}") from None
    if not found:
        raise QueryError('the query is empty: give one SQL statement, e.g. "SHOW TABLES"')
    if len(found) != 1:
        raise QueryError(f"give exactly one SQL statement (got {len(found)}); run several queries one by one")
    stmt = found[0]
    kind = _kind(stmt)
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _EXPLAIN.sub("", stmt.query, count=1)
        try:
            inner_found = duckdb.extract_statements(inner)
        except duckdb.Error:
            inner_found = []
        if len(inner_found) != 1 or _kind(inner_found[0]) != duckdb.StatementType.SELECT:
            raise QueryError("only EXPLAIN of a SELECT is allowed through `musim sql` (the snapshot is read-only)")
    elif kind == duckdb.StatementType.PRAGMA:
        m = _PRAGMA.match(stmt.query)
        if not m or m.group(1).lower() not in READ_PRAGMAS:
            raise QueryError(f"only the read-only PRAGMAs ({', '.join(sorted(READ_PRAGMAS))}) are allowed; "
                             "use SELECT * FROM duckdb_settings() to read settings")
    elif kind not in _READING:
        raise QueryError(f"{_verb(stmt)} statements are not allowed: `musim sql` runs one SELECT (or DESCRIBE, "
                         "SHOW, SUMMARIZE, EXPLAIN) on the published snapshot, without file, ATTACH or setting "
                         "changes")
    return stmt


def door_line(exc: duckdb.Error) -> str:
    """DuckDB's first line without advice to change a setting: the door refuses SET, so it says that instead."""
    line = first_line(exc)
    needed = _AUTOINSTALL.search(line)
    if needed is not None:
        return f"it needs DuckDB's {needed.group(1)} extension, which the query door does not install or load"
    plain = _SET_ADVICE.sub("", line)
    if plain == line:
        return line
    return f"{plain} (settings cannot be changed through the query door: simplify the query)"


def hint(exc: duckdb.Error) -> str:
    """What to do about a failed query, by the kind of DuckDB error."""
    if isinstance(exc, duckdb.PermissionException):
        return " (the query door reads only the published snapshot: no files, ATTACH, COPY or extensions)"
    if isinstance(exc, duckdb.CatalogException) and _IN_EXTENSION.search(first_line(exc)):
        return " (the query door loads no extension: the snapshot's tables and DuckDB's built-in functions only)"
    if isinstance(exc, duckdb.CatalogException):
        return ' (list the tables with `musim sql "SHOW TABLES"`, a table\'s columns with `DESCRIBE name`)'
    if isinstance(exc, duckdb.InvalidInputException) and "configuration has been locked" in str(exc):
        return " (settings cannot be changed through the query door)"
    return ""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (DuckDB adds context lines and carets)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
