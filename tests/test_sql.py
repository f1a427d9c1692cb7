"""musim.sql: statements split and parameters named by DuckDB's parser, literals quoted, every file parses."""

from __future__ import annotations

import re

import duckdb
import pytest

from musim import sql


def test_semicolons_and_comment_marks_inside_strings_are_data():
    text = "SELECT 'a;b' AS x, '--not a comment' AS y; -- the end\n  INSERT INTO t VALUES ($v, ';');\nSELECT 1"
    assert sql.statements(text) == ["SELECT 'a;b' AS x, '--not a comment' AS y",
                                    "INSERT INTO t VALUES ($v, ';')", "SELECT 1"]
    assert sql.params_of("SELECT $a, '$b', $c_2 FROM t WHERE x = '$$'") == {"a", "c_2"}


def test_run_binds_each_statement_its_own_parameters(tmp_path, monkeypatch):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "two.sql").write_text(
        "CREATE OR REPLACE TABLE t AS SELECT $n::INTEGER AS n, 'x;--y' AS s;\n-- a comment; with a semicolon\n"
        "INSERT INTO t SELECT $n + $m, ${label};\n")
    monkeypatch.setattr(sql, "SQL_DIR", tmp_path)
    sql.load.cache_clear()
    con = duckdb.connect()
    try:
        sql.run(con, "t/two.sql", n=1, m=2, label="it's")
        assert con.execute("SELECT n, s FROM t ORDER BY n").fetchall() == [(1, "x;--y"), (3, "it's")]
        with pytest.raises(KeyError, match=r"needs parameters \['m'\]"):
            sql.run(con, "t/two.sql", n=1, label="z")
    finally:
        con.close()
        sql.load.cache_clear()


def test_identifiers_are_quoted_plain_names_only(tmp_path, monkeypatch):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "fill.sql").write_text("CREATE TABLE {{table}} AS SELECT $v AS v;\n")
    monkeypatch.setattr(sql, "SQL_DIR", tmp_path)
    sql.load.cache_clear()
    con = duckdb.connect()
    try:
        sql.run(con, "t/fill.sql", table="Staged_2", v=7)
        assert con.execute('SELECT v FROM "Staged_2"').fetchall() == [(7,)]
        for bad in ('x"; DROP TABLE t; --', "a.b", "", "1st"):
            with pytest.raises(ValueError, match="not a plain SQL name"):
                sql.run(con, "t/fill.sql", table=bad, v=1)
        with pytest.raises(KeyError, match=r"needs parameters \['table'\]"):
            sql.query(con, "t/fill.sql", v=1)
    finally:
        con.close()
        sql.load.cache_clear()


def test_every_sql_file_parses():
    for path in sorted(sql.SQL_DIR.rglob("*.sql")):
        text = re.sub(r"\$\{[a-z_][a-z0-9_]*\}", "'x'", path.read_text())
        text = re.sub(r"\{\{[a-z_][a-z0-9_]*\}\}", '"x"', text)
        assert sql.statements(text), path


# --- SQL left in Python strings --------------------------------------------------------------------------------

#: Modules not yet converted to sql/ files, with how many unmarked statements each still holds (issue 16, item 4).
#: Shrink this as they are converted; a module not listed here may hold none.
STILL_TO_CONVERT = {
}
#: At most this many statements may stay in Python, each marked ``# sql-in-python: <reason>`` (issue 16).
MARKED_MAX = 15
MARKER = "# sql-in-python:"
_SQL_START = re.compile(r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|WITH|ALTER|COPY|SET|BEGIN|COMMIT|ROLLBACK"
                        r"|CHECKPOINT|ATTACH|DETACH|PRAGMA|INSTALL|LOAD|EXPORT|IMPORT|DESCRIBE|SUMMARIZE|TRUNCATE"
                        r"|VACUUM|ANALYZE|CALL|USE)\s")
_EXECUTE = {"execute", "executemany", "sql"}
#: Pieces of a statement (a join, an ordering, a cast, a window) that Python may be assembling: an f-string or a
#: string joined by ``+``/``%`` that holds one of these is SQL built in Python even when it does not start like SQL.
_SQL_FRAGMENT = re.compile(r"\b(?:(?:LEFT |RIGHT |INNER |CROSS |FULL )?JOIN \w|ORDER BY|GROUP BY|PARTITION BY|"
                           r"OVER \(|SELECT \S|FROM \w|WHERE \S|CAST\(|UNION ALL|INSERT INTO|DELETE FROM)|::[A-Z]{3,}\b|"
                           r"[\w)}] (?:DESC|ASC)\b")


def _text(node) -> str | None:
    """The text of a string expression (``{}`` for an f-string's fields), or None if it is not one."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        left, right = _text(node.left), _text(node.right)
        return None if left is None and right is None else (left or "{}") + (right or "")
    return None


def _tells_a_person(func) -> bool:
    """Whether a call's function shows its text to a person: ``print`` or an error (``…Error(``)."""
    import ast

    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name == "print" or name.endswith(("Error", "Exception"))


def sql_in_python(source: str) -> list[tuple[int, int, bool]]:
    """``(first line, last line, marked)`` of every SQL statement written in a Python string of ``source``: the
    text passed to ``.execute/.executemany/.sql``, any other string (not a docstring) that starts like SQL, and
    any f-string or joined string that holds a piece of a statement (``_SQL_FRAGMENT``: a join, an ordering…).
    The marker may be on the statement's lines or be the comment line above."""
    import ast

    tree = ast.parse(source)
    lines = source.splitlines()
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    module_text = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign)
                   for t in n.targets if isinstance(t, ast.Name) and _text(n.value) is not None}
    spans: dict[int, tuple[int, int]] = {}  # by the string node's id: one statement each
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _EXECUTE
                and node.args):
            arg = node.args[0]
            arg = module_text.get(arg.id, arg) if isinstance(arg, ast.Name) else arg
            if _text(arg) is not None:
                spans[id(arg)] = (node.lineno, node.end_lineno)
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr | ast.BinOp)
             for v in ast.walk(n) if v is not n}
    prose = {id(v) for n in ast.walk(tree) if isinstance(n, ast.Call) and _tells_a_person(n.func)
             for a in n.args for v in ast.walk(a)}  # an example query in a message is not one being built
    for node in ast.walk(tree):
        if id(node) in spans or id(node) in docstrings or id(node) in inner:
            continue
        text = _text(node) if isinstance(node, ast.Constant | ast.JoinedStr | ast.BinOp) else None
        if text is not None and (_SQL_START.match(text) or (not isinstance(node, ast.Constant) and id(node) not in prose
                                                            and _SQL_FRAGMENT.search(text))):
            spans[id(node)] = (node.lineno, node.end_lineno)
    def marked(first: int, last: int) -> bool:
        above = lines[first - 2].strip() if first > 1 else ""
        return above.startswith(MARKER) or any(MARKER in line for line in lines[first - 1:last])

    return sorted((a, b, marked(a, b)) for a, b in spans.values())


def test_the_statement_counter_finds_sql_in_strings_and_its_marks():
    source = '''"""SELECT in a docstring is prose."""
Q = """
SELECT 1
"""
def f(con, table):
    """DELETE in a docstring is prose."""
    con.execute(Q)
    con.execute(f"DROP TABLE IF EXISTS {table}")  # sql-in-python: cleanup of a temp table
    con.execute("select 2")
    # sql-in-python: transaction control
    con.execute("BEGIN TRANSACTION")
    rows(con, "SELECT a FROM t WHERE x = ?" + " AND y = ?")
    con.execute(sql.single("a.sql"))
    print("Selected nothing", f"{table}: SELECT")
    join = f"LEFT JOIN track t ON t.track_id = n.{table}"
    order = f"n.{table} DESC" if table else f"row_number() OVER (ORDER BY n.{table})"
    score = "n." + table + "::DOUBLE"
    print(f"no rows FROM {table}: run the DAG", "Order by rank, then by name")
    raise QueryError(f"try SELECT * FROM {table}")
'''
    assert sql_in_python(source) == [(7, 7, False), (8, 8, True), (9, 9, False), (11, 11, True), (12, 12, False),
                                     (15, 15, False), (16, 16, False), (16, 16, False), (17, 17, False)]


def test_sql_left_in_python_is_marked_with_a_reason():
    """Every statement in a Python string of musim/ (not musim/synth/, the data generator) carries the marker
    with its reason, except in the modules still to convert, which may not gain any; at most MARKED_MAX stay."""
    from pathlib import Path

    root = Path(sql.__file__).resolve().parent.parent
    unmarked: dict[str, int] = {}
    marked: list[str] = []
    for path in sorted((root / "musim").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("musim/synth/"):
            continue
        for first, _, ok in sql_in_python(path.read_text(encoding="utf-8")):
            if ok:
                marked.append(f"{rel}:{first}")
            else:
                unmarked[rel] = unmarked.get(rel, 0) + 1
    total = len(marked) + sum(unmarked.values())
    print(f"\nSQL statements in Python strings: {total} ({len(marked)} marked, "
          f"{sum(unmarked.values())} unmarked in {len(unmarked)} modules still to convert)")
    grown = {f: n for f, n in unmarked.items() if n > STILL_TO_CONVERT.get(f, 0)}
    assert not grown, (f"SQL in Python strings without a '{MARKER} <reason>' comment: {grown} (allowed: "
                       f"{ {f: STILL_TO_CONVERT.get(f, 0) for f in grown} }); move it to a sql/ file "
                       "(musim.sql.run/query) or mark it with its reason")
    assert len(marked) <= MARKED_MAX, f"{len(marked)} statements marked to stay in Python: {marked}"


def test_rows_are_dicts_by_column_name_bound_like_query(tmp_path, monkeypatch):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "pick.sql").write_text("-- numbers up to $n\nSELECT i AS n, 'x' || i AS label FROM range(1, $n + 1) r(i)"
                                             " ORDER BY i;\n")
    monkeypatch.setattr(sql, "SQL_DIR", tmp_path)
    sql.load.cache_clear()
    con = duckdb.connect()
    try:
        assert sql.rows(con, "t/pick.sql", n=2, unused="ignored") == [{"n": 1, "label": "x1"}, {"n": 2, "label": "x2"}]
        assert sql.rows(con, "t/pick.sql", n=0) == []
        with pytest.raises(KeyError, match=r"needs parameters \['n'\]"):
            sql.rows(con, "t/pick.sql")
    finally:
        con.close()
        sql.load.cache_clear()


def test_no_two_sql_files_hold_the_same_statements():
    """One file per query: two files whose statements are the same (comments and spacing aside) are one too many."""
    seen: dict[str, str] = {}
    twins = []
    for path in sorted(sql.SQL_DIR.rglob("*.sql")):
        body = " ".join(re.sub(r"--[^\n]*", "", path.read_text()).split())
        rel = path.relative_to(sql.SQL_DIR).as_posix()
        if body in seen:
            twins.append((seen[body], rel))
        seen.setdefault(body, rel)
    assert not twins, f"the same SQL in two files (keep one): {twins}"


def test_rows_as_dicts_are_read_in_one_place():
    """musim.sql.rows is the one reader of a query's rows by column name: no other module of musim names the
    columns of a cursor (musim.sandbox, the `musim sql` door, returns its columns and rows as they are)."""
    from pathlib import Path

    root = Path(sql.__file__).resolve().parent
    copies = [p.relative_to(root.parent).as_posix() for p in sorted(root.rglob("*.py"))
              if p.name not in ("sql.py", "sandbox.py") or p.parent != root
              if re.search(r"for \w+ in \w+\.description\b", p.read_text(encoding="utf-8"))]
    assert not copies, f"rows read by column name outside musim.sql.rows: {copies}"
