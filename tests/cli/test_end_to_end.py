"""The musim CLI end to end on a small synthetic dump."""

from __future__ import annotations

import json

import pytest

from musim.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def dump(tmp_path, capsys):
    code, out, _ = run(capsys, "synth", "lastfm", str(tmp_path / "d"), "--users", "600", "--artists", "80",
                       "--communities", "4", "--quirks", "0.01", "--seed", "4", "--json")
    assert code == 0
    return json.loads(out)


def test_ingest_json_contract_and_idempotency(dump, capsys):
    code, out, _ = run(capsys, "ingest", "lastfm", dump["plays_path"], "--profiles", dump["profiles_path"], "--json")
    first = json.loads(out)
    assert code == 0
    assert {"dump_id", "format", "lines", "loaded", "rejected", "users", "artists", "already_ingested"} <= first.keys()
    assert first["loaded"] + first["rejected"] == first["lines"] == dump["lines"]
    code, out, _ = run(capsys, "ingest", "lastfm", dump["plays_path"])
    assert code == 0 and "already ingested" in out and "nothing changed" in out


def test_rejects_similar_and_sql(dump, capsys):
    run(capsys, "ingest", "lastfm", dump["plays_path"])
    code, out, _ = run(capsys, "rejects", "--json")
    rejects = json.loads(out)
    assert code == 0 and rejects and all({"line_no", "reason", "raw"} <= r.keys() for r in rejects)

    code, out, _ = run(capsys, "similarity", "build", "--min-listeners", "1")
    assert code == 0 and "published" in out

    name = json.loads(run(capsys, "sql", "SELECT name FROM artist_listeners JOIN artist USING (artist_id) "
                                         "ORDER BY listeners DESC LIMIT 1", "--json")[1])[0]["name"]
    code, out, _ = run(capsys, "similar", name.upper(), "--k", "3", "--metric", "jaccard", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3 and {"artist", "score", "co_listeners"} <= rows[0].keys()
    assert rows[0]["score"] >= rows[1]["score"] >= rows[2]["score"]

    code, out, _ = run(capsys, "similar", name, "--k", "3")
    assert code == 0 and f"artists most similar to {name}" in out

    code, _, err = run(capsys, "similar", name[:-1] + "zz")
    assert code == 2 and "did you mean" in err


def test_sql_is_read_only(dump, capsys):
    run(capsys, "ingest", "lastfm", dump["plays_path"])
    run(capsys, "similarity", "build", "--min-listeners", "1")
    code, _, err = run(capsys, "sql", "DELETE FROM artist")
    assert code == 2 and err.startswith("musim: error: DELETE statements are not allowed")
