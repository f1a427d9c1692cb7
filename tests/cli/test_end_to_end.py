"""The musim CLI end to end on a small synthetic dump."""

from __future__ import annotations

import json

import pytest

from tests.cli_output import run


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
    code, out, _ = run(capsys, "ingest", "lastfm", dump["plays_path"], "--json")
    again = json.loads(out)  # nothing loaded this time: no engine (it said "", which is no engine's name)
    assert first["engine"] in ("c", "duckdb") and again["already_ingested"] is True and again["engine"] is None


def test_similarity_build_says_its_quality_gate_ran(dump, capsys):
    """`features build` printed "quality gate passed (...)"; `similarity build` never said its gate ran."""
    run(capsys, "ingest", "lastfm", dump["plays_path"])
    code, out, _ = run(capsys, "similarity", "build", "--min-listeners", "1")
    gate_line = next(line for line in out.splitlines() if line.startswith("quality gate passed"))
    assert code == 0 and gate_line.startswith("quality gate passed (similarity passed; run q")
    assert "quality/docs/q" in gate_line and out.index(gate_line) < out.index("published ")
    code, out, _ = run(capsys, "similarity", "build", "--min-listeners", "1", "--force", "--json")
    assert code == 0 and json.loads(out)["check_run"].startswith("q")
    code, out, _ = run(capsys, "similarity", "build", "--min-listeners", "1", "--force", "--no-publish")
    assert code == 0 and "quality gate" not in out  # nothing published: no gate


def test_rejects_similar_and_sql(dump, capsys):
    run(capsys, "ingest", "lastfm", dump["plays_path"])
    code, out, _ = run(capsys, "rejects", "--json")
    rejects = json.loads(out)
    assert code == 0 and rejects and all({"line_no", "reason", "raw"} <= r.keys() for r in rejects)

    code, out, _ = run(capsys, "similarity", "build", "--min-listeners", "1")
    assert code == 0 and "published" in out

    name = json.loads(run(capsys, "sql", "SELECT name FROM artist_listeners JOIN artist USING (artist_id) "
                                         "ORDER BY listeners DESC LIMIT 1", "--json")[1])["rows"][0]["name"]
    code, out, _ = run(capsys, "similar", name.upper(), "--k", "3", "--metric", "jaccard", "--json")
    answer = json.loads(out)
    rows = answer["rows"]
    assert code == 0 and len(rows) == 3 and {"artist", "score", "co_listeners"} <= rows[0].keys()
    assert (answer["metric"], answer["k"], answer["build_k"]) == ("jaccard", 3, 100) and len(answer["dump_id"]) == 64
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


def test_a_build_with_no_pair_to_serve_says_which_thresholds_to_lower(dump, capsys):
    run(capsys, "ingest", "lastfm", dump["plays_path"])
    for publish in ((), ("--no-publish",)):  # refused either way: an empty build was stored unchecked, published
        code, _, err = run(capsys, "similarity", "build", "--min-listeners", "100000", *publish)  # and broke `similar`
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert "no co-listened pairs in dump" in err and "with min_listeners=100000 and min_co_listeners=2: 0 of its" in err
        assert err.rstrip().endswith("nothing was stored. Lower --min-listeners or --min-co-listeners")
    code, _, err = run(capsys, "similar", "anyone")
    assert code == 2 and "nothing has been published" in err


def test_synth_arguments_it_cannot_honour_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder\n")
    cases = [("d", ("--artists", "1"), "need at least 1 user and 2 artists"),
             ("d", ("--artists", "10", "--communities", "20"), "20 communities need at least as many artists"),
             ("a-file", (), "is a file: give a folder")]
    for out, extra, says in cases:
        code, _, err = run(capsys, "synth", "lastfm", str(tmp_path / out), "--users", "5", *extra)
        assert code == 2 and says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "d").exists()


def test_a_path_that_cannot_be_made_is_one_line_naming_it(tmp_path, capsys):
    """An OSError about a path (not found, in the way, no permission) is the path and why, not a type name."""
    (tmp_path / "a-file").write_text("")
    code, _, err = run(capsys, "synth", "lastfm", str(tmp_path / "a-file" / "dump"), "--users", "5", "--artists", "4")
    assert code == 2 and err.startswith(f"musim: error: {tmp_path / 'a-file'}") and len(err.splitlines()) == 1, err
    assert "Error" not in err and "Not a directory" in err
    code, _, err = run(capsys, "-v", "synth", "lastfm", str(tmp_path / "a-file" / "dump"), "--users", "5")
    assert code == 2 and "Traceback" in err  # -v still shows where it came from


def test_rejects_of_a_clean_dump_says_every_line_was_loaded(tmp_path, capsys):
    from tests.lastfm_files import tiny_dump

    assert run(capsys, "ingest", "lastfm", str(tiny_dump(tmp_path / "d.tsv")))[0] == 0
    code, out, _ = run(capsys, "rejects")
    assert code == 0 and "has no rejected line: every line of its files was loaded" in out
    code, out, _ = run(capsys, "rejects", "--json")
    assert code == 0 and out.strip() == "[]"


def test_the_hint_for_an_artist_without_neighbours_is_safe_to_paste_into_a_shell(tmp_path, capsys):
    """The name was quoted as Python does ("Guns N' Roses $(touch x)"), so a pasted hint ran $(...)."""
    import shlex

    from tests.lastfm_files import tiny_dump

    plays = tiny_dump(tmp_path / "d.tsv")
    name = "Guns N' Roses $(touch pwned)"
    with open(plays, "a") as fh:
        fh.write(f"{'e' * 40}\t\t{name}\t5\n")
    run(capsys, "ingest", "lastfm", str(plays))
    assert run(capsys, "similarity", "build", "--min-listeners", "1", "--min-co-listeners", "1")[0] == 0
    code, _, err = run(capsys, "similar", name)
    assert code == 0 and err.rstrip().endswith(f"by sound: musim similar {shlex.quote(name)} --audio")
    assert shlex.split(err.rstrip().split("by sound: ")[1])[2] == name
