from musim import warehouse


def test_migrations_apply_once(musim_home):
    con = warehouse.connect()
    names = [r[0] for r in con.execute("SELECT name FROM schema_migrations ORDER BY version").fetchall()]
    assert names == [m[1] for m in warehouse.available_migrations()]
    assert warehouse.migrate(con) == []
    settings = dict(con.execute("""SELECT name, value FROM duckdb_settings()
                                   WHERE name IN ('threads', 'preserve_insertion_order', 'memory_limit')""").fetchall())
    assert settings["threads"] == "2" and settings["preserve_insertion_order"] == "false"
    assert settings["memory_limit"].startswith("1.8") or "GiB" in settings["memory_limit"]


def test_a_failing_migration_leaves_nothing(monkeypatch, tmp_path, musim_home):
    import musim.warehouse as wh

    good = wh.available_migrations()
    bad = tmp_path / "999_broken.sql"
    bad.write_text("CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;\n")
    monkeypatch.setattr(wh, "available_migrations", lambda: [*good, (999, "999_broken", bad)])
    try:
        wh.connect()
    except Exception as exc:  # noqa: BLE001
        assert "syntax" in str(exc).lower() or "parser" in str(exc).lower()
    monkeypatch.setattr(wh, "available_migrations", lambda: good)
    con = wh.connect()
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half_done'").fetchone()[0] == 0
