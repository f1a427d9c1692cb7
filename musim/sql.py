"""SQL files of ``sql/``: one place that finds and reads them.

Transformations are SQL files with DuckDB named parameters (``$min_listeners``), bound by DuckDB. Table
functions such as ``read_csv`` cannot take bound parameters, so their arguments are written ``${path}``
and replaced by a quoted SQL string literal (:func:`literal`) — file paths and settings only, never data.
A file may hold several statements separated by ``;`` at line end.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_PARAM = re.compile(r"(?<![\w$])\$([a-z_][a-z0-9_]*)")
_LITERAL = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")


@cache
def load(name: str) -> str:
    """Text of ``sql/<name>`` (e.g. ``"similarity/pairs.sql"``)."""
    path = SQL_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file {path} is missing: the musim installation is incomplete")
    return path.read_text(encoding="utf-8")


def statements(text: str) -> list[str]:
    """Split a SQL file into statements on ``;`` at the end of a line (our files never put one elsewhere)."""
    text = re.sub(r"(?m)^\s*--[^\n]*\n", "", text + "\n")  # whole-line comments
    text = re.sub(r"(?m)[ \t]+--[^'\n]*$", "", text)  # trailing comments (never inside our strings)
    parts = re.split(r";[ \t]*\n", text)
    return [p.strip() for p in parts if p.strip()]


def params_of(statement: str) -> set[str]:
    """Names of the ``$named`` parameters a statement uses."""
    return set(_PARAM.findall(statement))


def literal(value: object) -> str:
    """``value`` as a DuckDB string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def single(name: str) -> str:
    """The one statement of ``sql/<name>`` (a file meant to hold exactly one)."""
    found = statements(load(name))
    if len(found) != 1:
        raise ValueError(f"sql/{name} must hold exactly one statement")
    return found[0]


def render(name: str, **literals) -> str:
    """The one statement of ``sql/<name>`` with its ``${...}`` literals filled in (to embed in a statement
    the caller completes, e.g. ``INSERT INTO <scratch table> <this SELECT>``); it may have no ``$named``
    parameters."""
    text = _LITERAL.sub(lambda m: literal(literals[m.group(1)]), single(name))
    if params_of(text):
        raise ValueError(f"sql/{name} has parameters {sorted(params_of(text))}: use sql.run for it")
    return text


def run(con, name: str, **params) -> None:
    """Execute every statement of ``sql/<name>``, binding only the parameters each statement uses."""
    for stmt in statements(load(name)):
        stmt = _LITERAL.sub(lambda m: literal(params[m.group(1)]), stmt)
        used = params_of(stmt)
        missing = used - params.keys()
        if missing:
            raise KeyError(f"sql/{name} needs parameters {sorted(missing)}")
        con.execute(stmt, {k: params[k] for k in used} if used else None)


def query(con, name: str, **params):
    """Execute the single statement of ``sql/<name>``, binding the parameters it uses; the result to fetch."""
    stmt = single(name)
    used = params_of(stmt)
    missing = used - params.keys()
    if missing:
        raise KeyError(f"sql/{name} needs parameters {sorted(missing)}")
    return con.execute(stmt, {k: params[k] for k in used} if used else None)
