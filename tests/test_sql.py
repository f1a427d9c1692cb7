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


def test_every_sql_file_parses():
    for path in sorted(sql.SQL_DIR.rglob("*.sql")):
        text = re.sub(r"\$\{[a-z_][a-z0-9_]*\}", "'x'", path.read_text())
        if "{{" in text:  # the UI's fragments (identifiers, expressions): parsed once filled, in tests/ui
            continue
        assert sql.statements(text), path
