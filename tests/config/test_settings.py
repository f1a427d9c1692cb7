"""The one Settings: defaults under MUSIM_HOME, one-line errors naming the variable, re-read when the environment
changes, secrets unprintable, and the README's table of variables generated from the fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from musim.config import QualityThresholds, TransferOptions, get_settings, markdown_table, variables
from musim.config.__main__ import main
from musim.errors import ConfigError
from musim.models.ann import search_mode

REPO = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- settings-table:begin -->", "<!-- settings-table:end -->"


def test_defaults_live_under_home(tmp_path):
    s = get_settings({"MUSIM_HOME": str(tmp_path)})
    assert (s.home, s.tmp_dir, s.serving_dir) == (tmp_path, tmp_path / "tmp", tmp_path / "serving")
    assert s.warehouse.path == tmp_path / "warehouse.duckdb" and s.library.landing == str(tmp_path / "landing" / "library")
    assert s.storage.object_store == (tmp_path / "objects").as_uri()
    assert s.ingest.landing == str(tmp_path / "landing" / "lastfm") and s.ingest.engine == "auto"
    assert s.warehouse.threads >= 1 and s.warehouse.memory_limit.endswith("MB")
    assert (s.models.promotion_min_queries, s.models.ann_min_tracks, s.quality.sample_rows) == (10, 20_000, 100_000)
    assert s.storage.transfer == TransferOptions() and s.acquire.order == ("local", "deezer", "itunes", "spotify")
    moved = get_settings({"MUSIM_HOME": str(tmp_path), "MUSIM_WAREHOUSE": "~/w.duckdb", "MUSIM_LANDING": "s3://b/l",
                          "MUSIM_PROMOTION_MIN_QUERIES": "4", "MUSIM_DUCKDB_THREADS": " 3 "})
    assert moved.warehouse.path == Path("~/w.duckdb").expanduser() and moved.ingest.landing == "s3://b/l"
    assert (moved.models.promotion_min_queries, moved.warehouse.threads) == (4, 3)
    for limit in ("8GB", "512 MiB", "80%"):  # every form DuckDB takes
        assert get_settings({"MUSIM_HOME": str(tmp_path), "MUSIM_DUCKDB_MEMORY": f" {limit} "}).warehouse.memory_limit == limit
    assert get_settings({"MUSIM_HOME": str(tmp_path), "MUSIM_TMP": ""}).tmp_dir == tmp_path / "tmp"  # empty = unset


@pytest.mark.parametrize(("env", "message"), [
    ({"MUSIM_DUCKDB_THREADS": "two"}, "MUSIM_DUCKDB_THREADS must be a positive integer up to 1,024, got 'two'"),
    ({"MUSIM_DUCKDB_THREADS": "1000000"}, "MUSIM_DUCKDB_THREADS must be a positive integer up to 1,024, got '1000000'"),
    ({"MUSIM_QUALITY_BATCH_ROWS": "99999999999999999999"},
     "MUSIM_QUALITY_BATCH_ROWS must be a positive integer, got '99999999999999999999'"),
    ({"MUSIM_QUALITY_SEED": "-1"}, "MUSIM_QUALITY_SEED must be a non-negative integer up to 4,294,967,295, got '-1'"),
    ({"MUSIM_HTTP_TIMEOUT_S": "inf"}, "MUSIM_HTTP_TIMEOUT_S must be a number between 0.001 and 86400, got 'inf'"),
    ({"MUSIM_EXCERPT_S": "0.001"}, "MUSIM_EXCERPT_S must be a number between 5 and 3600, got '0.001'"),
    ({"MUSIM_RETRY_MAX_S": "nan"}, "MUSIM_RETRY_MAX_S must be a number between 0 and 86400, got 'nan'"),
    ({"MUSIM_DEEZER_RATE_LIMIT": "1/inf"}, r"MUSIM_DEEZER_RATE_LIMIT must be CALLS/SECONDS with CALLS from 1 to "
                                           r"1,000,000 and SECONDS above 0, up to a day \(86400\), got '1/inf'"),
    ({"MUSIM_ANN_MIN_TRACKS": "-1"}, "MUSIM_ANN_MIN_TRACKS must be a non-negative integer, got '-1'"),
    ({"MUSIM_QUALITY_PROFILE_MOSTLY": "95"}, "MUSIM_QUALITY_PROFILE_MOSTLY must be a number between 0 and 1, got '95'"),
    ({"MUSIM_S3_READ_TIMEOUT": "0"}, "MUSIM_S3_READ_TIMEOUT must be a number between 0.001 and 86400, got '0'"),
    ({"MUSIM_AUDIO_SEARCH": "fast"}, "MUSIM_AUDIO_SEARCH must be one of auto, exact, ann, got 'fast'"),
    ({"MUSIM_DEEZER_RATE_LIMIT": "fast"}, r"MUSIM_DEEZER_RATE_LIMIT must be CALLS/SECONDS \(e.g. 50/5\), got 'fast'"),
    ({"MUSIM_DUCKDB_MEMORY": "lots"}, r"MUSIM_DUCKDB_MEMORY must be a DuckDB memory limit such as 8GB or 80% "
                                      r"\(Memory must have a number \(e.g. 1GB\)\), got 'lots'"),
    ({"MUSIM_DUCKDB_MEMORY": "8"}, r"MUSIM_DUCKDB_MEMORY must be a DuckDB memory limit .*Unknown unit.*, got '8'"),
    ({"MUSIM_DEEZER_API_URL": "api.deezer.com"}, r"MUSIM_DEEZER_API_URL must be an http:// or https:// URL with a "
                                                 r"host \(e.g. https://api.example.com/v1/\), got 'api.deezer.com'"),
    ({"MUSIM_SPOTIFY_TOKEN_URL": "http://:80/token"}, r"MUSIM_SPOTIFY_TOKEN_URL must be an http:// .*, got 'http://:80/token'"),
    ({"MUSIM_ITUNES_COUNTRY": "USA"}, r"MUSIM_ITUNES_COUNTRY must be a two-letter country code \(ISO 3166-1, e.g. US, "
                                      r"GB, DE\), got 'USA'"),
    ({"MUSIM_TRAIN_QUEUE": "default,gpu"}, r"MUSIM_TRAIN_QUEUE must be one Celery queue name \(e.g. default or gpu\), "
                                          r"got 'default,gpu'"),
    ({"MUSIM_LOCAL_FSYNC": "ture"}, r"MUSIM_LOCAL_FSYNC must be 1 or 0 \(or true/false, yes/no, on/off\), got 'ture'"),
])
def test_a_bad_value_is_one_line_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        get_settings(env)


@pytest.mark.parametrize(("raw", "on"), [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False),
                                         ("false", False), ("No", False), ("off", False), ("", False)])
def test_switches_take_the_usual_words(raw, on):
    assert get_settings({"MUSIM_LOCAL_FSYNC": raw}).storage.transfer.fsync is on


def test_the_training_queue_is_read_on_its_own():
    from musim.config import train_queue

    assert train_queue({}) == get_settings({}).models.train_queue == "default"
    assert train_queue({"MUSIM_TRAIN_QUEUE": " gpu ", "MUSIM_DUCKDB_MEMORY": "lots"}) == "gpu"
    with pytest.raises(ConfigError, match="^MUSIM_TRAIN_QUEUE must be one Celery queue name"):
        train_queue({"MUSIM_TRAIN_QUEUE": "default gpu"})


def test_store_countries_are_two_letters_in_upper_case():
    assert get_settings({"MUSIM_SPOTIFY_MARKET": " gb "}).acquire.spotify_market == "GB"


def test_sections_built_in_python_say_which_field():
    with pytest.raises(ConfigError, match="^max_reject_share must be a number between 0 and 1, got 2.0$"):
        QualityThresholds(max_reject_share=2.0)
    with pytest.raises(ConfigError, match="no_such_knob is not a setting"):
        QualityThresholds(no_such_knob=1)
    assert QualityThresholds(sample_rows=7).sample_rows == 7


def test_the_environment_is_read_again_when_it_changes(monkeypatch):
    monkeypatch.setenv("MUSIM_ANN_MIN_TRACKS", "100")
    assert get_settings().models.ann_min_tracks == 100 and search_mode(100) == "ann"
    monkeypatch.setenv("MUSIM_ANN_MIN_TRACKS", "200")
    assert get_settings().models.ann_min_tracks == 200 and search_mode(100) == "exact"
    monkeypatch.delenv("MUSIM_ANN_MIN_TRACKS")
    assert get_settings().models.ann_min_tracks == 20_000


def test_secrets_never_show():
    s = get_settings({"AWS_SECRET_ACCESS_KEY": "aws-secret-1234", "SPOTIPY_CLIENT_SECRET": "spotify-secret-1234"})
    assert s.storage.secret_access_key.get_secret_value() == "aws-secret-1234"
    for text in (repr(s), str(s), s.model_dump_json()):
        assert "aws-secret-1234" not in text and "spotify-secret-1234" not in text
    from musim.redact import redact

    assert redact("key aws-secret-1234 leaked") == "key *** leaked"  # registered when read


def test_every_variable_the_code_names_is_a_setting():
    known = {n for names, *_ in variables() for n in re.findall(r"`([A-Z0-9_]+)`", names)}
    named = {m for folder in ("musim", "dags", "plugins") for path in (REPO / folder).rglob("*.py")
             for m in re.findall(r"\bMUSIM_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())}
    named -= {"MUSIM_PRESCAN_RULES_H"}  # the C header's include guard
    from musim.config import NOT_SETTINGS

    named -= NOT_SETTINGS  # listed as read elsewhere (benchmarks, tests, compose): never taken for a typo
    assert named <= known, f"variables read outside the settings: {sorted(named - known)}"
    assert all(meaning for *_, meaning in variables())


def test_readme_table_is_the_generated_one(capsys):
    readme = (REPO / "README.md").read_text()
    assert BEGIN in readme and END in readme, f"README.md lost its {BEGIN} ... {END} markers"
    table = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert table == markdown_table(), "README's table of variables is stale: paste `python -m musim.config --markdown`"
    assert main(["--markdown"]) == 0 and capsys.readouterr().out == markdown_table()


def test_printing_the_values_says_a_bad_one_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv("MUSIM_DUCKDB_THREADS", "two")
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ("python -m musim.config: error: MUSIM_DUCKDB_THREADS must be a "
                                                   "positive integer up to 1,024, got 'two'\n")
    monkeypatch.delenv("MUSIM_DUCKDB_THREADS")
    assert main([]) == 0 and '"threads"' in capsys.readouterr().out
    assert "`MUSIM_DUCKDB_THREADS must be a positive integer up to 1,024, got 'two'`" in (REPO / "README.md").read_text()


def test_a_reader_that_went_away_ends_it_quietly(tmp_path):
    """`python -m musim.config | head -1` ended with a BrokenPipeError traceback; the musim command exits 141
    without a word."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    try:
        done = subprocess.run([sys.executable, "-m", "musim.config"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=60, env=os.environ | {"MUSIM_HOME": str(tmp_path)})
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


@pytest.mark.parametrize("variable", ["MUSIM_HOME", "MUSIM_TMP", "MUSIM_SERVING_DIR", "MUSIM_REAL_MUSIC"])
def test_a_folder_setting_that_is_a_file_is_named(tmp_path, variable):
    """MUSIM_HOME=<a file> was "nothing has been published under FILE/serving yet"; MUSIM_TMP=<a file>
    "FILE: exists and is not a folder", without the variable."""
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match=f"^{variable} must be a folder; that path is a file, got "
                                          f"'{tmp_path / 'a-file'}'$"):
        get_settings({"MUSIM_HOME": str(tmp_path), variable: str(tmp_path / "a-file")})
    assert get_settings({"MUSIM_HOME": str(tmp_path), variable: str(tmp_path / "new")})  # made when needed


def test_printing_the_values_hides_credentials_in_urls(monkeypatch, capsys):
    """`python -m musim.config` printed s3://KEY:SECRET@..., http://user:password@... and ?token=... as they were."""
    for variable, value in (("MUSIM_OBJECT_STORE", "s3://AK:PLANTED1@bucket/p"),
                            ("MUSIM_S3_ENDPOINT_URL", "http://u:PLANTED2@minio:9000"),
                            ("MUSIM_LANDING", "s3://AK:PLANTED3@bucket/l"),
                            ("MUSIM_DEEZER_API_URL", "http://u:PLANTED4@h/?token=PLANTED5")):
        monkeypatch.setenv(variable, value)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "PLANTED" not in out and '"object_store": "s3://AK:***@bucket/p"' in out


def test_a_folder_setting_that_cannot_be_made_is_named_where_it_is_made(tmp_path, monkeypatch, capsys):
    """`MUSIM_TMP=/proc/nope musim features list` said only "/proc/nope: No such file or directory"."""
    from musim.cli import main as musim

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MUSIM_TMP", str(blocker / "tmp"))
    assert musim(["dumps"]) == 2
    assert capsys.readouterr().err.startswith(f"musim: error: MUSIM_TMP (or MUSIM_HOME): cannot make the folder "
                                              f"{blocker / 'tmp'} (")


def test_a_bad_value_that_holds_a_secret_read_after_it_does_not_show_it(tmp_path):
    """A section's bad value stops the reading at that section, so the secrets of the sections after it were not
    registered yet, and the error quoted the value as given: `MUSIM_DUCKDB_THREADS=$AWS_SECRET_ACCESS_KEY` (a slip in
    an env file) printed the S3 secret key."""
    secret = "wJalrXUtnFEMI-K7MDENG-planted-4c1e"
    for variable in ("MUSIM_DUCKDB_THREADS", "MUSIM_S3_PART_SIZE"):  # a section before; the same section, read first
        env = {"MUSIM_HOME": str(tmp_path), "AWS_SECRET_ACCESS_KEY": secret, variable: secret}
        with pytest.raises(ConfigError) as raised:
            get_settings(env)
        assert str(raised.value).startswith(variable) and secret not in str(raised.value)


def test_blanks_around_a_path_are_dropped_as_around_a_number(tmp_path):
    """`MUSIM_HOME=/data/musim ` (a stray blank in an env file) made a folder "/data/musim " beside the real one, and
    `MUSIM_WAREHOUSE= /data/w.duckdb` a warehouse under "<working folder>/ /data/": a new, empty warehouse, silently,
    while `MUSIM_DUCKDB_THREADS= 4 ` is read as 4."""
    s = get_settings({"MUSIM_HOME": f"{tmp_path} ", "MUSIM_WAREHOUSE": f" {tmp_path / 'w.duckdb'}",
                      "MUSIM_LANDING": f"{tmp_path / 'landing'}\t", "MUSIM_LIBRARY_LANDING": " s3://bucket/music ",
                      "MUSIM_SERVING_DIR": f" {tmp_path / 'serving'}\n", "MUSIM_DUCKDB_THREADS": " 4 "})
    assert (s.home, s.tmp_dir, s.warehouse.path) == (tmp_path, tmp_path / "tmp", tmp_path / "w.duckdb")
    assert (s.serving_dir, s.ingest.landing, s.library.landing) == (tmp_path / "serving", str(tmp_path / "landing"),
                                                                    "s3://bucket/music")
    assert s.warehouse.threads == 4
    assert get_settings({"MUSIM_HOME": f" {tmp_path}"}).warehouse.path == tmp_path / "warehouse.duckdb"


def test_a_misspelt_variable_is_named_with_the_setting_it_was_meant_for(tmp_path):
    """`MUSIM_DUCKDB_THREAD=2` (or `MUSIM_S3_ENDPOINT=...`, `MUSIM_TEMP=...`) was ignored without a word: the setting
    kept its default and nothing said why the value did not apply."""
    import os
    import subprocess
    import sys

    env = os.environ | {"MUSIM_HOME": str(tmp_path), "MUSIM_DUCKDB_THREAD": "2", "MUSIM_S3_ENDPOINT": "http://m:9000"}
    done = subprocess.run([sys.executable, "-m", "musim.cli", "publish", "--list"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert "MUSIM_DUCKDB_THREAD is not a musim setting and is ignored: did you mean MUSIM_DUCKDB_THREADS?" in err
    assert "MUSIM_S3_ENDPOINT is not a musim setting and is ignored: did you mean MUSIM_S3_ENDPOINT_URL?" in err
    from musim.config import misspelt

    assert misspelt({"MUSIM_TEMP": "/x", "MUSIM_HOME": "/x", "MUSIM_DUCKDB_THREAD": " "}) == [
        "MUSIM_TEMP is not a musim setting and is ignored: did you mean MUSIM_TMP?"]
    # no variable the project uses is taken for a typo: the settings, and those read by benchmarks, tests, compose
    used = {m for path in REPO.rglob("*") if path.suffix in (".py", ".md", ".yaml", ".sh", ".toml")
            and not {".git", ".venv", "node_modules"} & set(path.parts) and path.is_file()
            for m in re.findall(r"\bMUSIM_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(errors="replace"))}
    assert misspelt(dict.fromkeys(used - {"MUSIM_DUCKDB_THREAD", "MUSIM_TEMP", "MUSIM_S3_ENDPOINT"}, "x")) == []


def test_a_connection_that_is_no_uri_is_shown_the_form_of_its_own_kind(tmp_path):
    """AIRFLOW_CONN_MUSIM_SPOTIFY=notaurl was told to look like ``aws://KEY:SECRET@/?endpoint_url=...``: the S3
    connection's form, for the Spotify credentials."""
    from musim.acquire.providers.spotify import spotify_credentials

    settings = get_settings({"MUSIM_HOME": str(tmp_path), "AIRFLOW_CONN_MUSIM_SPOTIFY": "notaurl"})
    with pytest.raises(ConfigError) as info:
        spotify_credentials(settings)
    assert "aws://" not in str(info.value) and "TYPE://LOGIN:PASSWORD@HOST/" in str(info.value)
    s3 = get_settings({"MUSIM_HOME": str(tmp_path), "AIRFLOW_CONN_MUSIM_S3": "notaurl"})
    with pytest.raises(ConfigError, match=r"aws://KEY:SECRET@/\?endpoint_url="):
        s3.connection("musim_s3", types=("aws", "s3"))


def test_a_setting_in_the_wrong_case_or_a_misspelt_spotipy_variable_is_named_too():
    """`musim_http_timeout_s=5` (a compose file in lower case) and `SPOTIPY_CLIENT_SECRT` were ignored without a word,
    where a misspelt MUSIM_ name was: names are case-sensitive, so the setting kept its default."""
    from musim.config import misspelt

    assert misspelt({"musim_http_timeout_s": "5", "SPOTIPY_CLIENT_SECRT": "x", "Musim_Tmp": "/x",
                     "SPOTIPY_REDIRECT_URI": "http://x", "musim_home": " "}) == [
        "Musim_Tmp is not a musim setting and is ignored: did you mean MUSIM_TMP?",
        "SPOTIPY_CLIENT_SECRT is not a musim setting and is ignored: did you mean SPOTIPY_CLIENT_SECRET?",
        "musim_http_timeout_s is not a musim setting and is ignored: did you mean MUSIM_HTTP_TIMEOUT_S?"]


def test_a_bad_spotify_or_itunes_address_is_not_shown_deezer_s_as_the_example():
    """MUSIM_SPOTIFY_TOKEN_URL=ftp://x was told "must be an http:// or https:// URL with a host (e.g.
    https://api.deezer.com)": another provider's address, for Spotify's token URL."""
    for variable in ("MUSIM_SPOTIFY_TOKEN_URL", "MUSIM_ITUNES_API_URL", "MUSIM_SPOTIFY_API_URL"):
        with pytest.raises(ConfigError) as info:
            get_settings({variable: "ftp://x"})
        assert str(info.value).startswith(f"{variable} must be an http:// or https:// URL with a host")
        assert "deezer" not in str(info.value)
