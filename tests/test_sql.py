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


def test_statements_holding_characters_of_several_bytes_are_cut_where_the_parser_says():
    # DuckDB's tokenizer counts UTF-8 bytes: cutting the text by those offsets as characters took the wrong end
    # (or raised IndexError) wherever a name or a comment held an accent or a dash
    text = "SELECT 'é' AS café; -- une fin…\nSELECT 1 -- …… et plus\n, 2; -- ça\nSELECT 'ü' -- trailing «note»"
    assert sql.statements(text) == ["SELECT 'é' AS café", "SELECT 1 -- …… et plus\n, 2", "SELECT 'ü'"]


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


# --- the name_norm macro ----------------------------------------------------------------------------------------

#: The expression sql/ingest/load_dump.sql and sql/acquire/previews.sql spelled out before the name_norm macro (as
#: migration 023 still does): the macro must give exactly what it gave.
OLD_NAME_NORM = ("lower(nfc_normalize(trim(regexp_replace(s, '[\\s\\x{0B}\\x{1C}-\\x{1F}\\x{85}\\p{Zs}\\x{2028}"
                 "\\x{2029}]+', ' ', 'g'))))")
#: sql/queries/track_search.sql's, which kept the title's outer space (its ORDER BY trimmed it).
OLD_TITLE_NORM = ("lower(nfc_normalize(regexp_replace(s, '[\\s\\x{0B}\\x{1C}-\\x{1F}\\x{85}\\p{Zs}\\x{2028}"
                  "\\x{2029}]+', ' ', 'g')))")
#: Names no normalisation may trip on: empty, blank, 'The', punctuation, every kind of space, decomposed and
#: compatibility forms, case folds that are not one character to one, format and control characters, SQL marks.
HOSTILE = ["", " ", "  ", "\t\n\r", "The", "the", "THE", " The ", "The The", "The  Beatles", "Beatles, The",
           "AC/DC", "Guns N' Roses", "Guns N’ Roses", "!!!", "...And You Will Know Us by the Trail of Dead",
           "Sigur\u00a0Rós", "Sigur Ro\u0301s", "Sigur\u3000\u2028\u2029Rós\u205f", "a\x0bb\x0cc\x1cd\x1de\x1ef\x1fg",
           "a\x85b", "Beyoncé", "BEYONCE\u0301", "ＡＢＣ ｄｅｆ", "ﬁnal", "Ǆemal ǅ ǆ", "İstanbul", "ΟΔΟΣ ΣΑ", "STRASSE ẞ ß",
           "\u200bzero\u200b width", "\ufeffBOM", "e\u0301\u0301", "\u1100\u1161\u11a8", "日本語 の 名前", "ガガ", "👍🏽 🇸🇪",
           "'; DROP TABLE artist; --", "%_\\*?[]", "x" * 2000, " \u00a0 ", "\u2003lead and trail\u2003",
           "Ω Å K", "\u212b\u2126\u212a"]


def _strings() -> list[str]:
    """:data:`HOSTILE`, then every code point but NUL and the surrogates inside a name, doubled, and at its end."""
    return HOSTILE + [f"A{c}b{c}{c}" for c in map(chr, range(1, 0x110000)) if not 0xD800 <= ord(c) < 0xE000]


def _normed(con, expressions: list[str]) -> list[tuple]:
    return con.execute(f"SELECT s, {', '.join(expressions)} FROM unnest($s) WITH ORDINALITY AS t(s, i) ORDER BY i",
                       {"s": _strings()}).fetchall()


@pytest.fixture
def macro_con():
    con = sql.install_macros(duckdb.connect())
    try:
        yield con
    finally:
        con.close()


def test_the_name_norm_macro_gives_what_the_inline_expressions_gave(macro_con):
    """sql/ingest/load_dump.sql, sql/acquire/previews.sql and sql/queries/track_search.sql each spelled the name
    rule out; now they call the macro. It gives what the first two gave on every string, and the title search's
    (untrimmed) form differs from it by an outer space at most, which its $q (trimmed, not empty) never matches."""
    rows = _normed(macro_con, ["name_norm(s)", OLD_NAME_NORM, OLD_TITLE_NORM])
    assert len(rows) > 1_000_000
    assert [r for r in rows if r[1] != r[2]] == []
    assert [r for r in rows if r[3] not in {r[1], " " + r[1], r[1] + " ", " " + r[1] + " "}] == []
    assert macro_con.execute("SELECT name_norm(NULL)").fetchone() == (None,)


def test_the_name_norm_macro_agrees_with_musim_names(macro_con):
    """musim.names.name_norm (what a lookup normalises the name typed by) and the macro (what the warehouse's
    names are normalised by) agree on every string but two case rules Python has and DuckDB lacks: U+0130 (İ) lower
    cases to i + a combining dot in Python, to i in DuckDB, and Python writes a Greek capital sigma at a word's end
    as the final ς. Both were so before the macro (ingest took the same expression)."""
    from musim.names import name_norm

    rows = _normed(macro_con, ["name_norm(s)"])
    differ = [(s, sql_norm, name_norm(s)) for s, sql_norm in rows if sql_norm != name_norm(s)]
    assert {(s, sql_norm) for s, sql_norm, _ in differ} == {
        ("\u0130stanbul", "istanbul"), ("ΟΔΟΣ ΣΑ", "οδοσ σα"), ("A\u0130b\u0130\u0130", "aibii"),
        ("A\u03a3b\u03a3\u03a3", "a\u03c3b\u03c3\u03c3")}
    assert {s: py for s, _, py in differ}["ΟΔΟΣ ΣΑ"] == "οδος σα"
    for s in ("", " ", "The", " The ", "The  Beatles", "AC/DC", "Sigur\u00a0Rós", "Sigur Ro\u0301s", "ＡＢＣ"):
        assert macro_con.execute("SELECT name_norm($s)", {"s": s}).fetchone()[0] == name_norm(s), s


def test_the_name_rule_is_written_once():
    """The name rule (NFC, lower case, whitespace collapsed) is the name_norm macro of sql/warehouse/macros.sql:
    no other SQL file (but the applied migrations, kept as they ran) writes it out."""
    macros = sql.SQL_DIR / sql.MACROS
    spelled = [p for p in sorted(sql.SQL_DIR.rglob("*.sql"))
               if p != macros and "migrations" not in p.parts and "nfc_normalize(" in p.read_text()]
    assert spelled == []
    assert "CREATE OR REPLACE TEMP MACRO name_norm(" in macros.read_text()
    # ingest's check of a blank name keeps its own copy of the whitespace (its macro runs in staging cursors, which
    # have no TEMP macro): the same characters
    whitespace = re.compile(r"'\[\\s[^']*\]")
    found = whitespace.findall(macros.read_text())
    assert len(found) == 1 and whitespace.findall((sql.SQL_DIR / "ingest" / "scratch.sql").read_text()) == found


def test_the_macros_are_the_connections_own_not_the_files(tmp_path):
    """TEMP macros: a read-only file takes them, and none is written into a file (a snapshot read by `duckdb` or an
    older musim would hold a function it does not have)."""
    path = tmp_path / "f.duckdb"
    duckdb.connect(str(path)).close()
    for read_only in (False, True):
        con = sql.install_macros(duckdb.connect(str(path), read_only=read_only))
        assert con.execute("SELECT name_norm(' The  Beatles ')").fetchone() == ("the beatles",)
        con.close()
    con = duckdb.connect(str(path))
    assert con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'name_norm'").fetchone() == (0,)
    con.close()


# --- DuckDB's errors for a missing name ---------------------------------------------------------------------------

def test_missing_name_tells_a_missing_table_or_column_from_other_binder_errors():
    con = duckdb.connect()
    con.execute("CREATE TABLE artist (artist_id INTEGER, name VARCHAR)")

    def error(query: str) -> duckdb.Error:
        with pytest.raises(duckdb.Error) as caught:
            con.execute(query)
        return caught.value

    assert sql.missing_name(error("SELECT * FROM track")) == ("table", "track")
    assert sql.missing_name(error("SELECT a.artist_id FROM artist a JOIN track USING (artist_id)")) == ("table", "track")
    assert sql.missing_name(error("SELECT name_key FROM artist")) == ("column", "name_key")
    assert sql.missing_name(error("SELECT a.name_key FROM artist a")) == ("column", "name_key")
    assert sql.missing_name(error("WITH t AS (SELECT * FROM artist) SELECT t.name_key FROM t")) == ("column", "name_key")
    assert sql.missing_name(error("SELECT * FROM artist a JOIN artist b USING (name_key)")) == ("column", "name_key")
    for other in ("SELECT lower(1)", "SELECT nosuch(name) FROM artist", "SELECT name_norm(name) FROM artist",
                  "SELECT artist_id + 'x' FROM artist", "INSERT INTO artist SELECT 1, 2, 3"):
        assert sql.missing_name(error(other)) is None, other
    con.close()
    assert sql.in_current_layout("name_key") and sql.in_current_layout("TRACK_NEIGHBORS")
    assert not sql.in_current_layout("artst_id") and not sql.in_current_layout("the")
