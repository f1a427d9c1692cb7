"""``musim quality check/report/suites``: exit codes, JSON, failure messages, Data Docs in the object store."""

from __future__ import annotations

import json

import pytest

from musim import warehouse
from musim.cli import main
from musim.errors import QualityError
from musim.quality import gate
from musim.storage import open_store


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_passes_with_json_and_publishes_data_docs(good, capsys):
    code, out, _ = cli(capsys, "quality", "check", "--dataset", "lastfm_plays", "--dataset", "similarity", "--json")
    report = json.loads(out)
    assert code == 0 and report["success"] is True
    assert [d["dataset"] for d in report["datasets"]] == ["lastfm_plays", "similarity"]
    assert all(d["status"] == "passed" and d["failures"] == [] for d in report["datasets"])
    run_id = report["run_id"]
    assert report["docs_url"].endswith(f"quality/docs/{run_id}/index.html")
    store = open_store()
    keys = [o.key for o in store.list(f"quality/docs/{run_id}/")]
    assert f"quality/docs/{run_id}/index.html" in keys
    assert any("/validations/lastfm_plays/invariants/" in k for k in keys)
    assert not any(f"quality/docs/{run_id}/expectations/" in k for k in keys)  # each validation page shows its suite
    assert not any(k.endswith(".gif") for k in keys)  # GX's unused tutorial images are left out
    assert b"lastfm_plays.rows" in store.get_bytes(f"quality/docs/{run_id}/index.html")

    code, out, _ = cli(capsys, "quality", "report")
    assert code == 0 and run_id in out and "Data Docs: file://" in out and "index.html" in out
    code, out, _ = cli(capsys, "quality", "report", "--json")
    assert json.loads(out)["docs_url"] == report["docs_url"]


def test_check_fails_with_exit_2_naming_expectations_and_bad_values(good, capsys):
    with warehouse.writer() as con:
        con.execute("UPDATE lastfm_plays SET plays = -5 WHERE user_id = 1")
    code, out, err = cli(capsys, "quality", "check", "--dataset", "lastfm_plays", "--no-docs")
    assert code == 2 and err.startswith("musim: error: data quality check failed: lastfm_plays (")
    assert "FAILED" in out
    assert "plays are integers >= 0" in out and "plays -5" in out  # the invariant with an example row
    assert "plays >= 0" in out and "-5" in out                      # GX's row-level expectation too

    code, out, err = cli(capsys, "quality", "check", "--dataset", "lastfm_plays", "--no-docs", "--json")
    report = json.loads(out)  # the check's product is its result: printed, and the failure said on stderr as always
    assert code == 2 and report["success"] is False
    assert err.startswith("musim: error: data quality check failed: lastfm_plays (") and err.count("\n") == 1
    failed = report["datasets"][0]["failures"]
    assert {"part", "expectation", "columns", "examples", "observed", "unexpected_count"} <= failed[0].keys()
    assert any(f["columns"] == ["bad_plays_rows"] and "plays -5" in f["examples"][0] for f in failed)

    code, out, _ = cli(capsys, "quality", "report", "--dataset", "lastfm_plays", "--json")
    stored = json.loads(out)
    assert code == 0 and stored["success"] is False and stored["docs_url"] is None
    assert stored["datasets"][0]["failures"] == failed


def test_gate_raises_with_the_report(good):
    with warehouse.writer() as con:
        con.execute("UPDATE artist_pair_counts SET co_listeners = 0 WHERE artist_a = (SELECT min(artist_a) FROM artist_pair_counts)")
    with pytest.raises(QualityError, match=r"similarity[\s\S]*pairs have >= 2 co-listeners[\s\S]*43 found"):
        gate(["similarity"])


def test_unknown_dataset_and_empty_warehouse(musim_home, capsys):
    code, _, err = cli(capsys, "quality", "check", "--dataset", "nope")
    assert code == 2 and "no quality suite named 'nope'" in err and "lastfm_plays" in err
    code, out, _ = cli(capsys, "quality", "check", "--dataset", "artists", "--no-docs")
    assert code == 0 and "artists: PASSED" in out  # nothing ingested: an empty catalogue is consistent
    code, _, err = cli(capsys, "quality", "check", "--dataset", "lastfm_plays")
    assert code == 2 and "no dump has been ingested" in err
    code, out, _ = cli(capsys, "quality", "suites", "--json")
    assert {"lastfm_plays", "lastfm_profiles", "artists", "similarity", "previews", "features"} <= {
        s["name"] for s in json.loads(out)}


def test_dump_with_datasets_not_checked_per_dump_is_refused_not_ignored(good, capsys):
    """`quality check --dataset artists --dump zz` ran and passed as if --dump were not given, even for a dump id that
    matches no dump: the user asked for a dump's check and got another."""
    code, out, err = cli(capsys, "quality", "check", "--dataset", "artists", "--dump", "zz", "--no-docs")
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out, err)
    assert err.startswith("musim: error: --dump applies only to the datasets checked per dump (") and "artists" in err
    code, out, err = cli(capsys, "quality", "check", "--dataset", "artists", "--dataset", "lastfm_plays", "--dump",
                         "zz", "--no-docs")
    assert code == 2 and "dump id 'zz' matches no dump" in err  # a dump dataset among them: the dump is resolved


def test_a_failed_build_blocks_publishing_until_it_is_rebuilt_dropped_or_forced(good, capsys):
    """The refusal named a way out that did not exist ("fix the data": a dump is its content) and blocked every
    other dump's publish; dropping the failed build leaves that dump out of the next snapshot."""
    from musim import serving

    with warehouse.writer() as con:
        dump_id = con.execute("SELECT dump_id FROM similarity_build").fetchone()[0]
        con.execute("UPDATE artist_pair_counts SET co_listeners = 0 WHERE artist_a = (SELECT min(artist_a) FROM artist_pair_counts)")
    with pytest.raises(QualityError):
        gate(["similarity"])
    code, _, err = cli(capsys, "publish")
    assert code == 2 and f"musim similarity drop --dump {dump_id[:12]}" in err and "force=True" not in err
    code, out, _ = cli(capsys, "similarity", "drop", "--dump", dump_id[:8])
    assert code == 0 and f"dropped the similarity build of dump {dump_id[:12]}" in out
    code, _, err = cli(capsys, "similarity", "drop", "--dump", dump_id[:8])
    assert code == 2 and "has no similarity build to drop" in err
    code, out, _ = cli(capsys, "publish")
    assert code == 0
    with serving.open_snapshot() as snap:
        assert snap.execute("SELECT count(*) FROM similarity_build").fetchone()[0] == 0
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_plays WHERE dump_id = ?", [dump_id]).fetchone()[0] > 0


def test_a_check_of_named_datasets_that_all_were_skipped_says_nothing_was_checked(good, capsys, tmp_path):
    """It printed `PASSED` and exited 0 for a dump with no similarity build."""
    from musim.ingest.lastfm import ingest_lastfm
    from tests.lastfm_files import tiny_dump

    new = ingest_lastfm(tiny_dump(tmp_path / "d.tsv")).dump_id
    code, out, err = cli(capsys, "quality", "check", "--dataset", "similarity", "--dump", new[:12], "--no-docs")
    assert code == 2 and ": NOTHING CHECKED" in out.splitlines()[0]
    assert err.startswith("musim: error: nothing was checked: no similarity build for dump")


def test_the_report_names_the_local_data_docs_file_as_it_is_on_disk(good, tmp_path, monkeypatch, capsys):
    """A home with a space or a '%' in its path was shown percent-encoded (a file that does not exist)."""
    import shutil

    home = tmp_path / "rev C%20home"
    shutil.copytree(good, home)
    monkeypatch.setenv("MUSIM_HOME", str(home))
    assert cli(capsys, "quality", "check", "--dataset", "lastfm_plays")[0] == 0
    code, out, _ = cli(capsys, "quality", "report")
    local = out.split("(local file: ", 1)[1].split(")")[0]
    assert code == 0 and local.startswith(str(home)) and __import__("os").path.isfile(local)


def test_a_build_whose_check_never_finished_is_not_published_until_it_is_checked(good, capsys, monkeypatch):
    """`similarity build` killed during its quality check left the build committed and unchecked, and a plain
    `musim publish` then served it (only a *failed* check was refused)."""
    import musim.quality

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies here: no quality result is recorded

    with monkeypatch.context() as patch:  # only the gate (undo() would drop the test's MUSIM_HOME too)
        patch.setattr(musim.quality, "gate", killed)
        code, _, err = cli(capsys, "similarity", "build", "--min-listeners", "5", "--min-co-listeners", "2", "--k",
                           "5", "--catalogue-size", "20")
    assert code == 130 and "interrupted" in err
    code, _, err = cli(capsys, "publish")
    assert code == 2 and "has not been checked: its quality check did not finish" in err
    assert "musim quality check --dataset similarity --dump" in err
    # nor are models trained on it by default (they were trained, evaluated and promoted on it)
    from musim import warehouse
    from musim.errors import NotFoundError
    from musim.models.data import latest_dump

    with warehouse.writer() as con, pytest.raises(NotFoundError, match="no similarity build has passed its quality"):
        latest_dump(con)
    code, _, _ = cli(capsys, "quality", "check", "--dataset", "similarity")
    assert code == 0
    with warehouse.writer() as con:
        assert len(latest_dump(con)) == 64  # once checked, it is the default again
    assert cli(capsys, "publish")[0] == 0
    # a build made to be published without a check is not held back
    assert cli(capsys, "similarity", "build", "--min-listeners", "5", "--no-publish")[0] == 0
    assert cli(capsys, "publish")[0] == 0


def test_the_report_shows_every_datasets_latest_result_with_docs_where_the_home_is_now(good, tmp_path, monkeypatch,
                                                                                     capsys):
    """`quality report` showed the last run only (the demo ran 8 gates), and printed the Data Docs URL recorded at run
    time: under another MUSIM_HOME, after a restore or a moved home, a file:// URL of the old place (so did the
    snapshot's quality_result and /api/quality)."""
    import shutil

    from musim import queries, serving

    code, out, _ = cli(capsys, "quality", "check", "--dataset", "lastfm_plays", "--json")
    plays_run = json.loads(out)["run_id"]
    code, out, _ = cli(capsys, "quality", "check", "--dataset", "artists", "--no-docs", "--json")
    artists_run = json.loads(out)["run_id"]
    with warehouse.writer() as con:
        serving.publish(con)
    moved = tmp_path / "moved home"
    shutil.copytree(good, moved, symlinks=True)
    monkeypatch.setenv("MUSIM_HOME", str(moved))
    key = f"quality/docs/{plays_run}/index.html"
    where = (moved / "objects" / key).as_uri()

    code, out, _ = cli(capsys, "quality", "report", "--json")
    report = json.loads(out)
    assert code == 0 and report["runs"][:2] == [artists_run, plays_run] and report["run_id"] is None
    by = {r["dataset"]: r for r in report["datasets"]}
    assert {"lastfm_plays", "artists"} <= by.keys() and by["artists"]["docs_url"] is None
    assert (by["lastfm_plays"]["docs_url"], by["lastfm_plays"]["docs_key"]) == (where, key)
    assert report["docs_url"] == where
    code, out, _ = cli(capsys, "quality", "report")
    assert code == 0 and f"Data Docs of run {plays_run} (lastfm_plays): {where}" in out and str(good) not in out
    code, out, _ = cli(capsys, "quality", "report", "--run", plays_run)
    assert code == 0 and f"quality run {plays_run}" in out and f"Data Docs: {where}" in out
    code, out, _ = cli(capsys, "quality", "report", "--dataset", "lastfm_plays", "--json")
    assert [r["run_id"] for r in json.loads(out)["datasets"]] == [plays_run]

    api = {r["dataset"]: r for r in queries.ask(queries.quality)["rows"]}  # the web page's /api/quality
    assert (api["lastfm_plays"]["docs_url"], api["lastfm_plays"]["docs_key"]) == (where, key)
    with serving.open_snapshot() as snap:  # and a DuckDB client of the snapshot gets the key beside the old URL
        assert snap.execute("SELECT docs_key FROM quality_result WHERE run_id = ?", [plays_run]).fetchone() == (key,)


def test_an_empty_run_dataset_or_dump_is_refused_not_read_as_any(musim_home):
    """`musim quality report --run "$RUN"` with RUN unset showed the latest run."""
    from musim.errors import ParameterError
    from musim.quality.report import latest_results

    with warehouse.writer() as con:
        for given in ({"run_id": ""}, {"dataset": " "}, {"dump_id": ""}):
            with pytest.raises(ParameterError, match=r"is empty \(an unset variable\?\)"):
                latest_results(con, **given)


def test_a_failed_gate_prints_nothing_on_stdout_json_or_not(good, capsys, monkeypatch):
    """The CLI's failure rule (README, Output): exit 2, empty stdout, `musim: error:` and the gate's report on stderr,
    with --json too; only `quality check`, whose product is the result, prints it (test above)."""
    import musim.quality

    def failed(datasets, **kwargs):
        raise QualityError("the similarity quality gate failed (similarity): nothing was published\n  similarity FAILED")

    monkeypatch.setattr(musim.quality, "gate", failed)
    for json_flag in ([], ["--json"]):
        code, out, err = cli(capsys, "similarity", "build", "--min-listeners", "1", "--force", *json_flag)
        assert (code, out) == (2, "") and err.startswith("musim: error: the similarity quality gate failed")
        assert err.splitlines()[1:] == ["  similarity FAILED"]


def test_report_of_one_run_keeps_to_the_dataset_and_dump_asked_for(good, capsys):
    """`quality report --run R --dataset D` showed every dataset of the run, and its JSON success covered them all;
    `--run nosuch` said to run a check though results existed."""
    with warehouse.writer() as con:
        con.execute("UPDATE lastfm_plays SET plays = -5 WHERE user_id = 1")
    code, out, _ = cli(capsys, "quality", "check", "--dataset", "lastfm_plays", "--dataset", "artists", "--no-docs",
                       "--json")
    run = json.loads(out)
    assert code == 2 and {d["dataset"]: d["success"] for d in run["datasets"]} == {"lastfm_plays": False,
                                                                                   "artists": True}
    code, out, _ = cli(capsys, "quality", "report", "--run", run["run_id"], "--dataset", "artists", "--json")
    report = json.loads(out)
    assert code == 0 and [d["dataset"] for d in report["datasets"]] == ["artists"] and report["success"] is True
    code, out, _ = cli(capsys, "quality", "report", "--run", run["run_id"], "--dataset", "artists")
    assert code == 0 and "artists" in out and "lastfm_plays" not in out
    dump = run["datasets"][0]["dump_id"]
    code, out, _ = cli(capsys, "quality", "report", "--run", run["run_id"], "--dump", dump[:8], "--json")
    assert code == 0 and {d["dump_id"] for d in json.loads(out)["datasets"]} == {dump}
    code, out, err = cli(capsys, "quality", "report", "--run", run["run_id"], "--dump", "ffffffffff", "--json")
    assert (code, out) == (2, "") and err == (f"musim: error: run {run['run_id']} checked: artists, "
                                              f"lastfm_plays (dump {dump[:12]}); nothing matching dump=ffffffffff\n")

    code, out, err = cli(capsys, "quality", "report", "--run", "nosuch")
    assert (code, out) == (2, "") and err == (f"musim: error: run id 'nosuch' matches no quality run; "
                                              f"recent runs: {run['run_id']}\n")


def test_report_names_the_suites_or_what_the_run_checked_not_to_run_a_check(good, capsys):
    """`quality report --dataset nosuch` and `--run R --dataset similarity` (not checked by R) said "no quality results
    matching ... yet: run `musim quality check` first", though no check could ever give them."""
    from musim.quality.registry import all_suites

    code, out, _ = cli(capsys, "quality", "check", "--dataset", "lastfm_plays", "--dataset", "artists", "--no-docs",
                       "--json")
    run_id = json.loads(out)["run_id"]
    code, out, err = cli(capsys, "quality", "report", "--dataset", "nosuch")
    assert (code, out) == (2, "") and err == (f"musim: error: no quality suite named 'nosuch'; known: "
                                              f"{', '.join(sorted(all_suites()))}\n")
    code, out, err = cli(capsys, "quality", "report", "--run", run_id[:10], "--dataset", "similarity")
    assert (code, out) == (2, "") and err == (f"musim: error: run {run_id} checked: artists, lastfm_plays; nothing "
                                              "matching dataset=similarity\n")
    code, out, err = cli(capsys, "quality", "report", "--dataset", "similarity")  # a suite never run: run a check
    assert (code, out) == (2, "") and err.startswith("musim: error: no quality results matching dataset=similarity "
                                                     "yet: run `musim quality check` first")


def test_a_failed_check_says_in_one_line_the_dataset_the_expectations_and_how_many_rows(good, capsys):
    """`quality check` ended with `musim: error: data quality check failed: lastfm_plays`, the gates' errors began
    so too: which expectation failed, and on how many rows, was only in the report above (or in the task log)."""
    with warehouse.writer() as con:
        bad = con.execute("SELECT count(*) FROM lastfm_plays WHERE user_id = 1").fetchone()[0]
        total = con.execute("SELECT count(*) FROM lastfm_plays").fetchone()[0]
        con.execute("UPDATE lastfm_plays SET plays = -5 WHERE user_id = 1")
    assert bad > 1
    code, out, err = cli(capsys, "quality", "check", "--dataset", "lastfm_plays", "--no-docs")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("musim: error: data quality check failed: lastfm_plays (2 of ")
    assert f"invariants: plays are integers >= 0 (rows with NULL or negative plays) ({bad} found)" in err
    assert f"rows: plays >= 0 ({bad} of {total:,} rows)" in err
    assert f"| {bad} found; examples: [" in out  # the report: the count of bad rows, not "observed [N]"

    with pytest.raises(QualityError) as raised:
        gate(["lastfm_plays"])
    first = str(raised.value).splitlines()[0]
    assert first.startswith("data quality gate failed: lastfm_plays (") and f"({bad} of {total:,} rows)" in first
    assert raised.value.failed == ("lastfm_plays",) and raised.value.run_id


def test_a_mostly_expectation_that_fails_says_how_many_rows_and_the_share_allowed(good, capsys):
    """A `mostly` failure (profile ages) was reported as `ages are plausible where given; e.g. [500.0]` by `quality
    report`: neither how many rows were bad nor that a share of them was allowed."""
    with warehouse.writer() as con:
        n = con.execute("SELECT count(*) FROM lastfm_profile").fetchone()[0]
        con.execute("UPDATE lastfm_profile SET age = 500 WHERE rowid % 10 = 0")
        bad = con.execute("SELECT count(*) FROM lastfm_profile WHERE age = 500").fetchone()[0]
    assert bad / n > 0.05
    code, _, err = cli(capsys, "quality", "check", "--dataset", "lastfm_profiles", "--no-docs")
    assert code == 2 and f"ages are plausible where given ({bad} of {n:,} rows, at most 5% may be)" in err
    code, out, _ = cli(capsys, "quality", "report", "--dataset", "lastfm_profiles")
    line = next(line for line in out.splitlines() if "FAILED" in line)
    assert code == 0 and "ages are plausible where given" in line and "mostly=0.95" in line
    assert f"{bad} of {n:,} rows unexpected, e.g. [500" in line


def test_the_report_says_when_the_data_docs_it_links_to_are_missing(good, capsys):
    """`quality report` printed `(local file: …)` for Data Docs no longer there (a restored warehouse, the objects
    folder emptied): a link to nothing."""
    import shutil

    code, out, _ = cli(capsys, "quality", "check", "--dataset", "artists", "--json")
    run_id = json.loads(out)["run_id"]
    code, out, _ = cli(capsys, "quality", "report", "--run", run_id)
    assert code == 0 and "(local file: " in out and "missing" not in out
    shutil.rmtree(good / "objects" / "quality" / "docs" / run_id)
    code, out, _ = cli(capsys, "quality", "report", "--run", run_id)
    assert code == 0 and "(local file: " not in out
    assert f"(missing: no local file {good / 'objects' / 'quality' / 'docs' / run_id / 'index.html'};" in out


def test_data_docs_templates_are_compiled_once_and_then_loaded(good, monkeypatch, tmp_path):
    """Every Data Docs build compiled GX's page templates again (a Jinja environment of its own per build: 0.1-0.15 s
    of a similarity gate's ~0.2 s of docs); the second build, here or in another process, now loads them from
    Jinja's bytecode cache, and publishes the same pages."""
    import tempfile

    import jinja2

    from musim.quality import check
    from musim.quality.gx import import_gx

    import_gx()
    from musim.quality import gx_views

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # Jinja's per-user cache folder: under this test's
    gx_views.bytecode_cache.cache_clear()
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        if name is not None:  # a template file (GX also compiles some template strings while it renders)
            compiled.append(name)
        return real(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    try:
        runs = []
        for _ in range(2):
            compiled.clear()
            runs.append((check(["similarity"]), list(compiled)))
    finally:
        gx_views.bytecode_cache.cache_clear()
    (first, compiled_first), (second, compiled_second) = runs
    assert "index_page.j2" in compiled_first and compiled_second == []
    store = open_store()
    for run in (first, second):
        assert run.docs_url and run.docs_error is None
        page = store.get_bytes(f"quality/docs/{run.run_id}/index.html")
        assert b"similarity.invariants" in page and b"similarity.pair_rows" in page
    assert list((tmp_path).glob("_jinja2-cache-*/__jinja2_*.cache"))


@pytest.mark.parametrize("table, column, sql_file", [
    ("artist", "is_placeholder", "sql/quality/artists_base.sql"),  # the rows part alone reads it
    # both parts read it, and the invariants' SQL too: whichever fails first (the parts' SQL runs side by side)
    ("artist_name_variant", "lines", ("sql/quality/artist_variants_", "sql/quality/artists_invariants.sql")),
])
def test_a_suite_whose_sql_fails_says_so_in_one_line_naming_the_file(good, capsys, table, column, sql_file):
    """A suite's SQL failed in DuckDB (a table without a column it reads): the report's FAILED line went on over five
    lines (DuckDB's candidates, the statement's line and a caret) and named no SQL file, nor did the error line."""
    with warehouse.writer() as con:
        con.execute(f"ALTER TABLE {table} RENAME COLUMN {column} TO {column}_gone")
    code, out, err = cli(capsys, "quality", "check", "--dataset", "artists", "--no-docs")
    assert code == 2
    files = (sql_file,) if isinstance(sql_file, str) else sql_file
    failed = [line for line in out.splitlines() if "FAILED (suite)" in line]
    assert len(failed) == 1 and any(f in failed[0] for f in files) and f'"{column}"' in failed[0], out
    assert "LINE" not in out and "^" not in out and "Candidate" not in out, out
    errors = err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("musim: error:") and any(f in errors[0] for f in files), err


def test_data_docs_that_cannot_all_be_uploaded_leave_none_behind(good, monkeypatch):
    """A store that failed midway through the Data Docs upload (full, gone away) kept the pages uploaded before it:
    half a site under quality/docs/<run>/ that no result links to and nothing removes. They are taken back; the
    run is judged and recorded all the same, the docs' error named."""
    from musim.config import get_settings
    from musim.quality import check
    from musim.storage.local import LocalStore

    put_file, calls = LocalStore.put_file, []

    def full_after_two(self, key, path, **kw):
        calls.append(key)
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        return put_file(self, key, path, **kw)

    monkeypatch.setattr(LocalStore, "put_file", full_after_two)
    run = check(["artists"])
    assert run.success and run.docs_url is None and "No space left on device" in run.docs_error and len(calls) == 3
    store = open_store(get_settings().storage.object_store)
    assert [o.key for o in store.list(f"quality/docs/{run.run_id}/")] == []
