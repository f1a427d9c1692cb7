"""``musim acquire`` and ``musim previews``: JSON contracts, the closing summary, the local folder."""

from __future__ import annotations

import json

import pytest

from musim.cli import main
from musim.synth.folders import write_music_folder
from tests.cli_output import run
from tests.fakes.provider_server import Fault

pytestmark = pytest.mark.server


def test_acquire_and_previews_json(snapshot, fake_env, capsys):
    code, out, _ = run(capsys, "acquire", "--provider", "deezer", "--top", "4", "--per-artist", "2", "--json")
    summary = json.loads(out)
    assert code == 0
    assert {k: summary[k] for k in ("planned", "matched", "no_match", "downloaded", "rejected", "failed")} == {
        "planned": 4, "matched": 3, "no_match": 1, "downloaded": 6, "rejected": 0, "failed": 0}
    assert summary["catalogue"]["artists"]["downloaded"] == 3 and summary["catalogue"]["tracks"] == 6

    code, out, _ = run(capsys, "previews", "--json")
    listed = json.loads(out)
    assert code == 0 and len(listed) == 6
    assert [r["artist"] for r in listed[:2]] == ["Radiohead", "Radiohead"]  # catalogue order
    assert {"artist", "title", "provider", "status", "duration_s", "object_key", "sha256", "track_id"} <= listed[0].keys()
    code, out, _ = run(capsys, "previews", "--all", "--json")  # and the artist that got none, with its status
    tried = json.loads(out)
    without = [r for r in tried if r["title"] is None]
    assert len(tried) == 7 and [(r["status"], r["provider"], r["object_key"]) for r in without] == [
        ("no_match", "deezer", None)]
    code, out, err = run(capsys, "previews", "--all")
    assert code == 0 and "no_match" in out and "(6 previews; 1 artist without one)" in err
    assert out.split("\n")[0].split() == ["artist", "title", "provider", "status", "seconds", "format", "track",
                                           "object"]
    assert listed[0]["track_id"] in out  # the id `musim similar-tracks --id` takes
    code, out, _ = run(capsys, "previews", "--artist", "BEYONC", "--json")
    assert {r["artist"] for r in json.loads(out)} == {"Beyoncé"}
    code, out, err = run(capsys, "previews", "--artist", "Radiohed")  # a typo: said, not an empty table
    assert code == 0 and out == "" and "no previews of 'Radiohed' (--all also lists" in err

    code, out, _ = run(capsys, "acquire", "--provider", "deezer", "--top", "4", "--per-artist", "2")
    assert code == 0 and "nothing to do" in out and "6 tracks of 3 artists stored" in out


def test_acquire_summary_and_reasons(snapshot, fake_env, capsys):
    from tests.fakes.provider_server import Fault

    fake_env.add_fault(r"^/audio/deezer/3000000\.mp3$", Fault("empty"))
    code, out, _ = run(capsys, "acquire", "--provider", "deezer", "--top", "1")
    assert code == 0
    assert "matched 1, no match 0, no preview 0, failed 0" in out
    assert "downloaded 3, already stored 0, rejected 1, failed 0" in out and "musim previews --all" in out
    code, out, _ = run(capsys, "previews", "--all", "--json")
    rejected = [r for r in json.loads(out) if r["status"] == "rejected"]
    assert len(rejected) == 1 and "empty" in rejected[0]["last_error"] and rejected[0]["object_key"] is None


def test_acquire_from_a_local_folder(snapshot, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUSIM_EXCERPT_S", "8")
    music = tmp_path / "music"
    write_music_folder(music, [("Radiohead", 0), ("Muse", 1), ("Someone Else", 2)], tracks_per_artist=2,
                       fmt="ogg", duration=12.0)
    code, out, _ = run(capsys, "acquire", "--path", str(music), "--top", "3", "--json")
    summary = json.loads(out)
    assert code == 0 and (summary["matched"], summary["no_match"], summary["downloaded"]) == (2, 1, 4)
    listed = json.loads(run(capsys, "previews", "--artist", "muse", "--json")[1])
    assert len(listed) == 2 and all(r["provider"] == "local" and r["format"] == "ogg" for r in listed)
    # the name as `musim similar` takes it (spacing, case): " MUSE " listed no preview, said "no previews of ' MUSE '"
    assert json.loads(run(capsys, "previews", "--artist", " MUSE ", "--json")[1]) == listed
    first = listed[0]
    assert first["duration_s"] == pytest.approx(12.0, abs=0.05) and first["sample_rate"] == 22050
    assert (first["excerpt_offset_s"], first["excerpt_duration_s"]) == (2.0, 8.0)  # the middle 8 s
    assert first["source_url"].startswith(str(music)) and first["object_key"].endswith(".ogg")
    from musim import warehouse
    from musim.features.builds import built_window

    with warehouse.writer() as con:  # what a version's publication records, so new audio is cut alike
        assert built_window(con) == (8.0, 0.5)


def test_audio_files_of_the_folder_offered_for_no_artist_are_reported_not_left_out_silently(snapshot, tmp_path, capsys):
    """A file that names no artist, or whose name is not UTF-8, was only logged at info level: without -v the user's
    file vanished, and its artist (if any) read as no match."""
    import os

    from tests.fakes.audio import tone_bytes

    music = tmp_path / "music"
    write_music_folder(music, [("Radiohead", 0)], tracks_per_artist=2, fmt="ogg", duration=12.0)
    (music / "untitled.mp3").write_bytes(tone_bytes("mp3", 6))  # no tag, no artist folder, no "Artist - Title"
    latin1 = os.fsdecode(bytes(music) + b"/Muse - caf\xe9.mp3")
    with open(latin1, "wb") as fh:
        fh.write(tone_bytes("mp3", 6))
    code, out, _ = run(capsys, "acquire", "--path", str(music), "--top", "3")
    assert code == 0
    said = [line for line in out.splitlines() if line.startswith("passed over")]
    assert said == [said[0]] and "2 audio files of the music folder" in said[0]
    assert "1 no artist" in said[0] and "1 unreadable" in said[0] and "--json lists every one" in said[0]
    code, out, _ = run(capsys, "acquire", "--path", str(music), "--top", "3", "--retry", "--json")
    over = {f["path"]: f["reason"] for f in json.loads(out)["passed_over"]}
    assert sorted(over) == ["Muse - caf\\xe9.mp3", "untitled.mp3"]
    assert over["untitled.mp3"].startswith("no artist:") and "name not UTF-8" in over["Muse - caf\\xe9.mp3"]


def test_unknown_provider_and_no_runnable_provider(snapshot, capsys):
    with pytest.raises(SystemExit):
        main(["acquire", "--provider", "napster"])
    capsys.readouterr()
    code, _, err = run(capsys, "acquire", "--provider", "local")
    assert code == 2 and err == ("musim: error: no audio provider can run with providers=['local']: local provider "
                                 "skipped: MUSIM_LOCAL_MUSIC_DIR is not set (or pass --path)\n")


def test_a_provider_given_twice_is_refused_in_one_line(snapshot, capsys, monkeypatch):
    """`--provider deezer,itunes --provider deezer` (or MUSIM_ACQUIRE_PROVIDERS=itunes,deezer,itunes) asked the same
    API twice for every artist and said each of its failures twice."""
    code, out, err = run(capsys, "acquire", "--provider", "deezer,itunes", "--provider", "deezer", "--match-only")
    assert (code, out) == (2, "")
    assert err == ("musim: error: provider deezer is given twice (deezer,itunes,deezer): give each provider once, in "
                   "the order to ask them\n")
    monkeypatch.setenv("MUSIM_ACQUIRE_PROVIDERS", "itunes,deezer,itunes")
    code, _, err = run(capsys, "acquire", "--match-only")
    assert code == 2 and "(itunes is listed twice), got 'itunes,deezer,itunes'" in err and err.count("\n") == 1


def test_no_runnable_provider_is_one_line_naming_only_the_providers_asked_for(snapshot, capsys, monkeypatch):
    """Spotify without credentials printed a logged WARNING with the help, then an error that also blamed the
    local folder, which was not asked for."""
    for name in ("MUSIM_SPOTIFY_CLIENT_ID", "MUSIM_SPOTIFY_CLIENT_SECRET", "SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET",
                 "AIRFLOW_CONN_MUSIM_SPOTIFY"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, "acquire", "--provider", "spotify")
    assert code == 2 and len(err.splitlines()) == 1 and "local" not in err
    assert err.startswith("musim: error: no audio provider can run with providers=['spotify']: spotify provider "
                          "skipped: no credentials; set MUSIM_SPOTIFY_CLIENT_ID and MUSIM_SPOTIFY_CLIENT_SECRET")


def test_retry_replans_an_artist_that_matched_nothing_once_its_files_are_there(snapshot, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUSIM_EXCERPT_S", "8")
    music = tmp_path / "music"
    write_music_folder(music, [("Radiohead", 0), ("Muse", 1)], tracks_per_artist=2, fmt="ogg", duration=10.0)
    summary = json.loads(run(capsys, "acquire", "--path", str(music), "--top", "3", "--json")[1])
    assert (summary["planned"], summary["no_match"], summary["downloaded"]) == (3, 1, 4)  # Beyoncé: nothing

    write_music_folder(music / "later", [("Beyoncé", 2)], tracks_per_artist=2, fmt="ogg", duration=10.0)
    again = json.loads(run(capsys, "acquire", "--path", str(music), "--top", "3", "--json")[1])
    assert again["planned"] == 0  # given up: a plain rerun plans nothing
    code, out, _ = run(capsys, "acquire", "--path", str(music), "--top", "3", "--retry", "--json")
    retried = json.loads(out)
    assert code == 0 and (retried["planned"], retried["matched"], retried["downloaded"]) == (1, 1, 2)
    assert retried["catalogue"]["artists"]["downloaded"] == 3 and retried["catalogue"]["tracks"] == 6
    assert json.loads(run(capsys, "acquire", "--path", str(music), "--top", "3", "--retry", "--json")[1])["planned"] == 0


def test_an_empty_catalogue_says_what_to_do_first(fake_env, capsys):
    """Acquire before any dump: not "every catalogue artist is done", which reads as if the work were over."""
    from musim import serving, warehouse

    with warehouse.writer() as con:
        serving.publish(con)
    code, out, _ = run(capsys, "acquire", "--provider", "deezer")
    assert code == 0 and "the catalogue is empty" in out and "musim similarity build" in out
    assert "every catalogue artist is done" not in out


def test_a_provider_that_cannot_be_reached_is_left_out_and_none_stops_the_run_at_once(snapshot, fake_env, capsys,
                                                                                    monkeypatch, caplog):
    """Without the network every artist was retried five times (minutes), then recorded as failed, exit 0."""
    import socket

    from musim.acquire import http

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        dead = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MUSIM_ITUNES_API_URL", dead)
    connects, calls, waits = [], [], []
    connect = socket.create_connection

    def counted_connect(address, *args, **kwargs):
        connects.append(address)
        return connect(address, *args, **kwargs)

    def counted_call(fn, **kwargs):  # a request with retries; its backoff recorded, not slept
        calls.append(kwargs.get("what"))
        return call_with_retries(fn, **{**kwargs, "sleep": waits.append})

    call_with_retries = http.call_with_retries
    monkeypatch.setattr(socket, "create_connection", counted_connect)
    monkeypatch.setattr(http, "call_with_retries", counted_call)
    code, _, err = run(capsys, "acquire", "--provider", "itunes", "--top", "2")
    # one connection to the dead port (the reachability check), no request, so no retry and no backoff
    assert code == 2 and [a for a in connects if a[1] == port] == [("127.0.0.1", port)]
    assert calls == [] and waits == []
    monkeypatch.setattr(socket, "create_connection", connect)
    assert err.startswith("musim: error: itunes: cannot reach any provider (itunes: nothing answers on 127.0.0.1:")
    assert "nothing was tried, every artist stays pending" in err
    code, out, _ = run(capsys, "previews", "--all", "--json")
    assert json.loads(out) == []  # no artist was recorded as failed
    with pytest.raises(SystemExit) as stop:  # an unset $MUSIC: not the network
        main(["acquire", "--path", "", "--top", "1"])
    assert stop.value.code == 2 and "argument --path: is empty (an unset variable?)" in capsys.readouterr().err
    code, out, err = run(capsys, "acquire", "--provider", "itunes,deezer", "--top", "1")
    assert code == 0 and "matched 1" in out and "left out itunes: nothing answers on 127.0.0.1" in caplog.text


def test_an_empty_local_folder_from_a_dag_or_python_is_refused_too():
    """The DAG's local_path '' fell through to the network providers, as `--path ''` did."""
    from musim.acquire.providers import provider_settings
    from musim.errors import ParameterError

    with pytest.raises(ParameterError, match=r"the local music folder is empty \(an unset variable\?\)"):
        provider_settings(["local"], " ")


def test_credentials_the_token_url_refuses_stop_the_provider_at_once_and_its_artists_stay_pending(
        snapshot, fake_env, capsys, caplog, monkeypatch):
    """Spotify credentials the token URL refused: one WARNING per artist (1000 at the default --top), `failed 10`,
    exit 0, and the artists given up after 3 runs. A refusal is a configuration error: one line, exit 2."""
    monkeypatch.setenv("MUSIM_SPOTIFY_CLIENT_ID", "fake-client-id")
    monkeypatch.setenv("MUSIM_SPOTIFY_CLIENT_SECRET", "not-the-secret")
    for _ in range(2):  # and again: still nothing counted against the artists
        code, out, err = run(capsys, "acquire", "--provider", "spotify", "--top", "4", "--concurrency", "2")
        assert (code, out) == (2, "") and len(err.splitlines()) == 1, err
        assert err.startswith("musim: error: no provider is left: spotify refused musim's configuration "
                              "(client-credentials token refused (invalid_client)): check the client id and secret")
        assert "the artists not done stay pending" in err and "not-the-secret" not in err
    assert fake_env.count(r"^/spotify/api/token$") <= 2 * 2 and fake_env.count(r"^/spotify/v1/") == 0
    assert not [r for r in caplog.records if r.levelno >= 30]  # no warning per artist, nor at all
    assert json.loads(run(capsys, "previews", "--all", "--json")[1]) == []  # no artist recorded, none failed

    caplog.clear()  # with another provider: left out with one warning, the other one does the work
    code, out, err = run(capsys, "acquire", "--provider", "spotify,deezer", "--top", "4", "--json")
    summary = json.loads(out)
    assert code == 0 and (summary["planned"], summary["matched"], summary["artists_failed"]) == (4, 3, 0)
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].startswith("spotify refused musim's configuration")
    assert "left out for the rest of this run" in refusals[0]
    tried = {r["provider"] for r in json.loads(run(capsys, "previews", "--all", "--json")[1])}
    assert tried == {"deezer"}


def test_a_run_where_every_artist_failed_exits_2(snapshot, fake_env, capsys):
    """Every artist failed (the provider answered 500 to every artist's top tracks, its search answered): exit 2."""
    from tests.fakes.provider_server import Fault

    fake_env.add_fault(r"^/deezer/artist/", Fault("status", status=500))
    for json_flag in ([], ["--json"]):
        code, out, err = run(capsys, "acquire", "--provider", "deezer", "--top", "2", "--max-attempts", "5",
                             *json_flag)
        assert (code, out) == (2, "")
        line = [x for x in err.splitlines() if x.startswith("musim: error:")]
        assert line == [line[0]] and line[0].startswith("musim: error: all 2 artists planned failed (deezer: ")
        assert "HTTP 500" in line[0] and "musim previews --all" in line[0]
    fake_env.clear_faults()  # some succeed, some fail: a partial run is no failure
    fake_env.add_fault(r"^/audio/deezer/3000000\.mp3$", Fault("status", status=500))
    code, out, _ = run(capsys, "acquire", "--provider", "deezer", "--top", "2", "--max-attempts", "5")
    assert code == 0 and "matched 2" in out


def test_a_provider_left_out_is_said_once_at_info_unless_asked_for(snapshot, fake_env, capsys, caplog, monkeypatch):
    """Default `musim acquire` warned "spotify provider skipped: no credentials" twice per run."""
    import logging

    caplog.set_level(logging.INFO)
    for asked, level in ((None, logging.INFO), ("deezer,spotify", logging.WARNING)):
        caplog.clear()
        argv = ["acquire", "--top", "1", "--match-only"] + (["--provider", asked] if asked else [])
        code, _, _ = run(capsys, *argv)
        said = [r for r in caplog.records if "spotify provider skipped" in r.getMessage()]
        assert code == 0 and [r.levelno for r in said] == [level], (asked, said)


def test_a_provider_that_times_out_is_down_one_line_exit_2_its_artists_not_counted(snapshot, fake_env, capsys,
                                                                                    monkeypatch):
    """The service answers a TCP connection (the check before the run passes) but every lookup times out: the first
    batch's artist was recorded failed (an attempt counted: after --max-attempts runs of an outage, given up) and the
    line said to run --retry. Now Deezer is down as if it answered 503: the one line of a provider down, exit 2, the
    batches left not tried, no artist counted."""
    import re

    from musim import warehouse
    from tests.fakes.provider_server import Fault

    monkeypatch.setenv("MUSIM_HTTP_TIMEOUT_S", "0.2")
    monkeypatch.setenv("MUSIM_RETRY_ATTEMPTS", "2")
    fake_env.add_fault(r"^/deezer/", Fault("slow", delay_s=0.6))
    code, out, err = run(capsys, "acquire", "--provider", "deezer", "--top", "3", "--batch-size", "1", "--json",
                         "--max-attempts", "1")
    assert code == 2 and out == ""
    (line,) = [ln for ln in err.splitlines() if ln.startswith("musim: error:")]
    assert re.fullmatch(r"musim: error: deezer unavailable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(gave up after 2 "
                        r"attempts: timeout on GET /search/artist\), 3 artists left for the next run \(not counted as "
                        r"failed attempts\)", line), line
    assert fake_env.count(r"^/deezer/search/artist$") == 2  # one artist's two tries; the other batches never asked
    with warehouse.writer() as con:
        assert con.execute("SELECT status, attempts FROM acquire_artist").fetchall() == [("pending", 0)] * 3
    fake_env.clear_faults()
    monkeypatch.setenv("MUSIM_HTTP_TIMEOUT_S", "10")  # a preview is generated as it is asked: give it time
    code, out, _ = run(capsys, "acquire", "--provider", "deezer", "--top", "3", "--max-attempts", "1")
    assert code == 0 and "9 previews downloaded" in out  # no --retry needed: nobody was given up


class HangUp:
    """A server on 127.0.0.1 that accepts each connection and closes it at once, answering nothing (a provider's host
    whose service is dead behind a live port): the check before a run passes, every request fails on the network."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


def test_a_provider_that_hangs_up_opens_its_breaker_after_the_setting_and_the_others_answer(snapshot, fake_env,
                                                                                           capsys, monkeypatch):
    """Deezer's port accepts connections and closes them unanswered; iTunes answers. Deezer was asked again for every
    artist (its network errors never opened its breaker) and Metallica, whom only Deezer could have known, was counted
    failed, exit 0. Now MUSIM_OUTAGE_AFTER (1 here) such calls open it: iTunes answers the others, Metallica is left for
    the next run, and the run ends on the one line naming Deezer, exit 2."""
    import re

    from musim import warehouse

    hangup = HangUp()
    try:
        monkeypatch.setenv("MUSIM_DEEZER_API_URL", f"{hangup.url}/deezer")
        monkeypatch.setenv("MUSIM_ITUNES_RATE_LIMIT", "1000/1")
        monkeypatch.setenv("MUSIM_RETRY_ATTEMPTS", "2")
        monkeypatch.setenv("MUSIM_OUTAGE_AFTER", "1")
        code, out, err = run(capsys, "acquire", "--provider", "deezer,itunes", "--top", "4", "--concurrency", "1",
                             "--max-attempts", "1")
        accepted = hangup.accepted
    finally:
        hangup.close()
    assert (code, out) == (2, "")
    (line,) = [ln for ln in err.splitlines() if ln.startswith("musim: error:")]
    assert re.fullmatch(r"musim: error: deezer unavailable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(gave up after 2 "
                        r"attempts: connection error on GET /search/artist: ConnectionError\), 1 artist left for the "
                        r"next run \(not counted as failed attempts\)", line), line
    assert accepted == 1 + 2  # the check before the run, then the first artist's two tries: nothing more
    with warehouse.writer() as con:
        assert dict(con.execute("SELECT name, status || ' ' || attempts FROM acquire_artist").fetchall()) == {
            "Radiohead": "downloaded 0", "Beyoncé": "downloaded 0", "Muse": "downloaded 0", "Metallica": "pending 0"}
        assert con.execute("SELECT DISTINCT provider FROM track").fetchall() == [("itunes",)]
    monkeypatch.setenv("MUSIM_OUTAGE_AFTER", "0")
    code, out, err = run(capsys, "acquire", "--provider", "itunes", "--top", "4")
    assert (code, out) == (2, "") and err.strip() == ("musim: error: MUSIM_OUTAGE_AFTER must be a positive integer, "
                                                      "got '0'"), err


def test_an_empty_music_folder_stops_the_run_and_records_no_artist(snapshot, tmp_path, capsys, monkeypatch):
    """An empty folder (a drive not mounted at its mount point) recorded every artist "no match", exit 0: given up,
    so the run after mounting it planned nothing (only --retry did)."""
    monkeypatch.setenv("MUSIM_EXCERPT_S", "8")
    music = tmp_path / "music"
    music.mkdir()
    (music / "README.txt").write_text("mount the music drive here\n")
    code, out, err = run(capsys, "acquire", "--path", str(music), "--top", "3")
    assert (code, out) == (2, "") and len(err.splitlines()) == 1, err
    assert err.startswith(f"musim: error: no provider is left: local refused musim's configuration (the music folder "
                          f"{music} holds no audio file that names an artist (1 other file)): check --path")
    assert json.loads(run(capsys, "previews", "--all", "--json")[1]) == []  # nobody given up
    write_music_folder(music, [("Radiohead", 0), ("Muse", 1)], tracks_per_artist=2, fmt="ogg", duration=10.0)
    summary = json.loads(run(capsys, "acquire", "--path", str(music), "--top", "3", "--json")[1])
    assert (summary["planned"], summary["matched"], summary["downloaded"]) == (3, 2, 4)  # no --retry needed


@pytest.mark.parametrize(("present", "missing"), [("MUSIM_SPOTIFY_CLIENT_ID", "MUSIM_SPOTIFY_CLIENT_SECRET"),
                                                  ("SPOTIPY_CLIENT_SECRET", "SPOTIPY_CLIENT_ID")])
def test_half_a_pair_of_spotify_credentials_names_the_missing_one(snapshot, capsys, monkeypatch, present, missing):
    """An id set without its secret (a typo in the other name) was told "no credentials", as if nothing were set."""
    monkeypatch.setenv(present, "set-but-alone")
    code, _, err = run(capsys, "acquire", "--provider", "spotify")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"musim: error: no audio provider can run with providers=['spotify']: spotify provider "
                          f"skipped: {missing} is not set ({present} is): set both; set MUSIM_SPOTIFY_CLIENT_ID")


def test_the_summary_does_not_say_audio_was_acquired_when_none_was(snapshot, tmp_path, capsys, monkeypatch):
    """"acquired audio for 3 artists" opened the summary of a run that matched none of them and stored nothing."""
    monkeypatch.setenv("MUSIM_EXCERPT_S", "8")
    music = tmp_path / "music"
    write_music_folder(music, [("Someone Else", 0)], tracks_per_artist=1, fmt="ogg", duration=10.0)
    code, out, _ = run(capsys, "acquire", "--path", str(music), "--top", "3")
    first = out.splitlines()[0]
    assert code == 0 and first.startswith("tried 3 artists in ") and ": 0 previews downloaded (" in first
    assert "acquired" not in out and "matched 0, no match 3" in out


def test_a_provider_down_is_one_line_exit_2_and_its_artists_stay_pending(snapshot, fake_env, capsys):
    """Deezer answers 500 to everything: one line saying since when it is unavailable and how many artists are left
    for the next run, nothing on stdout, exit 2; no artist counted failed, whatever --max-attempts."""
    import re

    from musim import warehouse
    from tests.fakes.provider_server import Fault

    fake_env.add_fault(r"^/deezer/", Fault("status", status=500))
    for json_flag in ([], ["--json"]):
        code, out, err = run(capsys, "acquire", "--provider", "deezer", "--top", "2", "--max-attempts", "1",
                             *json_flag)
        assert (code, out) == (2, "")
        (line,) = [x for x in err.splitlines() if x.startswith("musim: error:")]
        assert re.fullmatch(r"musim: error: deezer unavailable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(gave up after "
                            r"\d attempts: HTTP 500 server error on GET /search/artist\), 2 artists left for the next run "
                            r"\(not counted as failed attempts\)", line), line
    with warehouse.writer() as con:
        assert con.execute("SELECT status, attempts FROM acquire_artist").fetchall() == [("pending", 0)] * 2
    fake_env.clear_faults()
    code, out, _ = run(capsys, "acquire", "--provider", "deezer", "--top", "2", "--max-attempts", "1")
    assert code == 0 and "6 previews downloaded" in out


def test_a_preview_url_that_does_not_parse_fails_that_preview_not_the_artist(snapshot, fake_env, capsys):
    """A top list whose one preview URL does not parse (``http://[::1``: an unbalanced bracket) failed the whole artist
    with "ValueError: Invalid IPv6 URL" (a traceback logged, its other previews not fetched): the URL is cut of what
    signs it before it is stored, and that raised. Now that one preview fails, the others are stored."""
    radiohead = fake_env.catalogue[0]
    aid = fake_env.artist_id("deezer", radiohead.name)
    good = fake_env._track_id("deezer", 0, 1)

    def track(tid, preview):
        return {"id": int(tid), "title": f"Song {tid}", "preview": preview, "duration": 200, "rank": 1,
                "artist": {"id": int(aid), "name": radiohead.name}, "album": {"id": 1, "genres": {"data": [{"name": "Rock"}]}}}

    fake_env.add_fault(r"^/deezer/artist/.*/top$", Fault("answer", answer={"data": [
        track(1, "http://u:pw-0f-the-cdn@[::1/p.mp3?token=abc"), track(good, fake_env.audio_url("deezer", good, "mp3", radiohead))]}))
    code, out, _ = run(capsys, "acquire", "--provider", "deezer", "--top", "1", "--per-artist", "2", "--json")
    summary = json.loads(out)
    assert code == 0 and (summary["downloaded"], summary["failed"], summary["artists_failed"]) == (1, 1, 0)
    code, out, _ = run(capsys, "previews", "--all", "--json")
    failed = [r for r in json.loads(out) if r["status"] == "failed"]
    assert len(failed) == 1 and "InvalidURL" in failed[0]["last_error"]
    assert failed[0]["source_url"] == "http://[::1/p.mp3"  # neither its user info nor its token kept


@pytest.mark.parametrize("fault", [Fault("status", status=429), Fault("status", status=429, retry_after="0"),
                                   Fault("deezer_error", code=4)], ids=["429", "429-retry-after-0", "quota"])
def test_a_provider_that_keeps_rate_limiting_is_down_not_the_artists_failure(snapshot, fake_env, capsys, fault):
    """Deezer answering 429 (or its quota error) to every call, past the retries: the error after them was a plain one
    with status 429, no rate limit any more, so each artist was counted failed (and given up after --max-attempts runs)
    where a provider answering 5xx leaves them. Now a rate limit it stays: the provider is down, its artists pending."""
    from musim import warehouse

    fake_env.add_fault(r"^/deezer/", fault)
    code, out, err = run(capsys, "acquire", "--provider", "deezer", "--top", "2", "--max-attempts", "1")
    assert (code, out) == (2, "")
    (line,) = [x for x in err.splitlines() if x.startswith("musim: error:")]
    assert "deezer unavailable since" in line and "2 artists left for the next run" in line, line
    with warehouse.writer() as con:
        assert con.execute("SELECT status, attempts FROM acquire_artist").fetchall() == [("pending", 0)] * 2
