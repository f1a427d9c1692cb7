"""The acquisition pipeline against the fake provider services: plan → fetch → record, resumable."""

from __future__ import annotations

import logging
import re
import time

import pytest

from musim import warehouse
from musim.acquire.errors import ProvidersUnavailable
from musim.acquire.outage import fetch_in_run, left_over, refuse_left_over
from musim.acquire.pipeline import (
    acquire,
    catalogue,
    fetch_batch,
    plan,
    record,
    status_counts,
)
from musim.storage import open_store
from tests.acquire.conftest import REAL, breaker_after
from tests.fakes.provider_server import Fault

pytestmark = pytest.mark.server
AUDIO = r"^/audio/"


def rows(query: str, *params):
    with warehouse.writer() as con:
        return con.execute(query, list(params)).fetchall()


def _forget_previews() -> None:
    """Lose the preview state (previews, tracks, every artist pending again), keeping the source -> object mapping
    and the objects."""
    with warehouse.writer() as con:
        con.execute("DELETE FROM preview")
        con.execute("DELETE FROM track")
        con.execute("UPDATE acquire_artist SET status = 'pending'")


def test_catalogue_skips_junk_and_keeps_listener_order(snapshot):
    got = catalogue(10)
    assert [r["name"] for r in got] == REAL
    assert [r["catalogue_rank"] for r in got] == [1, 2, 3, 4, 5]
    assert [r["name"] for r in catalogue(2)] == ["Radiohead", "Beyoncé"]


def test_full_pipeline_stores_objects_and_rows(snapshot, fake_server):
    summary = acquire(10, providers=["deezer"], acquire_settings=fake_server.settings(), batch_size=2)
    assert summary.planned == 5 and summary.batches == 3
    assert (summary.matched, summary.no_match, summary.downloaded, summary.rejected, summary.failed) == (4, 1, 12, 0, 0)
    assert fake_server.count(AUDIO) == 12
    assert summary.catalogue["artists"]["downloaded"] == 4 and summary.catalogue["artists"]["no_match"] == 1
    assert summary.catalogue["tracks"] == 12
    tracks = rows("""SELECT t.title, t.object_key, t.sha256, t.format, t.duration_s, t.sample_rate, t.channels,
                            t.excerpt_offset_s, t.excerpt_duration_s, t.genre, t.provider_rank
                     FROM track t JOIN acquire_artist a USING (artist_id) WHERE a.name = 'Muse'
                     ORDER BY t.provider_rank""")
    assert [t[0] for t in tracks] == ["First Song", "Second Song", "Third Song"]  # the most popular three
    store = open_store()
    for _title, key, sha, fmt, dur, sr, ch, off, win, genre, _ in tracks:
        assert key == f"audio/previews/{sha}.mp3" and store.exists(key) and fmt == "mp3"
        assert dur == pytest.approx(8.0, abs=0.1) and sr == 22050 and ch == 1
        assert (off, win) == (0.0, dur) and genre == "Rock"
    artist = rows("""SELECT provider, provider_artist_id, match_score, match_method, status, attempts
                     FROM acquire_artist WHERE name = 'Muse'""")[0]
    assert artist == ("deezer", fake_server.artist_id("deezer", "Muse"), 1.0, "exact", "downloaded", 0)
    assert not list(store.list("acquire/journal/"))  # applied and removed

    again = acquire(10, providers=["deezer"], acquire_settings=fake_server.settings())
    assert again.planned == 0 and fake_server.count(AUDIO) == 12  # nothing left to do


def test_resumes_after_a_kill_between_fetch_and_record_without_downloading_twice(snapshot, fake_server):
    settings = fake_server.settings()
    batches = plan(10, providers=["deezer"], acquire_settings=settings, batch_size=2)
    assert len(batches) == 3
    for batch in batches[:2]:  # fetched (objects + journals stored), then the process "dies": no record
        fetch_batch(batch, settings=settings)
    assert fake_server.count(AUDIO) == 9
    assert rows("SELECT count(*) FROM preview") == [(0,)]  # nothing recorded yet

    summary = acquire(10, providers=["deezer"], acquire_settings=settings)  # a fresh run
    assert summary.planned == 1 and summary.downloaded == 3  # only Björk was left
    assert fake_server.count(AUDIO) == 12  # every preview downloaded exactly once
    assert status_counts()["tracks"] == 12
    assert rows("SELECT count(*) FROM acquire_journal") == [(5,)]
    assert not list(open_store().list("acquire/journal/"))


def test_journal_applied_once_even_if_its_delete_was_lost(snapshot, fake_server):
    settings = fake_server.settings()
    (batch,) = plan(1, providers=["deezer"], acquire_settings=settings)
    fetched = fetch_batch(batch, settings=settings)
    store = open_store()
    (key,) = fetched["journals"]
    data = store.get_bytes(key)
    assert record([fetched])["journals"] == 1
    store.put_bytes(key, data)  # as if the process died after the commit, before deleting the journal
    second = record()
    assert second == {"journals": 0, "already_applied": 1, "artists": {}, "previews": {}}
    assert rows("SELECT attempts FROM preview ORDER BY provider_rank") == [(1,), (1,), (1,)]
    assert not store.exists(key)


def test_downloaded_never_again_and_stored_sources_reused(snapshot, fake_server):
    settings = fake_server.settings()
    acquire(2, per_artist=2, providers=["deezer"], acquire_settings=settings)
    assert fake_server.count(AUDIO) == 4
    more = acquire(2, per_artist=3, providers=["deezer"], acquire_settings=settings)
    assert (more.planned, more.downloaded) == (2, 2) and fake_server.count(AUDIO) == 6  # only the third ones

    # The preview state is lost but the source -> object mapping is kept: nothing is downloaded again.
    _forget_previews()
    again = acquire(2, per_artist=3, providers=["deezer"], acquire_settings=settings)
    assert (again.downloaded, again.reused) == (0, 6) and fake_server.count(AUDIO) == 6
    assert status_counts()["tracks"] == 6

    # ... unless the object itself is gone from the store.
    store = open_store()
    key = rows("SELECT object_key FROM track ORDER BY track_id LIMIT 1")[0][0]
    store.delete(key)
    _forget_previews()
    last = acquire(2, per_artist=3, providers=["deezer"], acquire_settings=settings)
    assert (last.downloaded, last.reused) == (1, 5) and store.exists(key)


def test_rejects_recorded_not_stored_and_replaced_by_the_next_track(snapshot, fake_server):
    muse = 2  # index in the fake catalogue
    bad = fake_server._track_id("deezer", muse, 1)
    fake_server.add_fault(rf"^/audio/deezer/{bad}\.mp3$", Fault("corrupt"))
    summary = acquire(3, providers=["deezer"], acquire_settings=fake_server.settings())
    assert (summary.downloaded, summary.rejected, summary.failed) == (9, 1, 0)
    (rejected,) = rows("""SELECT title, status, last_error, object_key, attempts FROM preview
                          WHERE status <> 'downloaded'""")
    assert rejected[:2] == ("Second Song", "rejected") and "not_audio" in rejected[2]
    assert rejected[3] is None and rejected[4] == 1
    titles = [t for (t,) in rows("""SELECT title FROM track JOIN acquire_artist USING (artist_id)
                                    WHERE name = 'Muse' ORDER BY provider_rank""")]
    assert titles == ["First Song", "Third Song", "Fourth Song"]  # the next most popular instead
    assert len(list(open_store().list("audio/previews/"))) == 9
    again = acquire(3, providers=["deezer"], acquire_settings=fake_server.settings())
    assert again.planned == 0  # a rejected track is never fetched again


def test_failed_is_retried_on_the_next_run_until_max_attempts(snapshot, fake_server):
    settings = fake_server.settings()  # 3 tries per download (tenacity), tiny waits
    beyonce = [fake_server._track_id("deezer", 1, j) for j in range(3)]
    fake_server.add_fault(rf"^/audio/deezer/({'|'.join(beyonce)})\.mp3$", Fault("status", status=503, times=9))
    fake_server.add_fault(r"^/audio/deezer/3000001\.mp3$", Fault("status", status=503))  # Radiohead #2: always
    first = acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=2)
    assert (first.downloaded, first.failed) == (2, 4)
    state = dict((r[0], r[1:]) for r in rows("SELECT name, status, attempts, last_error FROM acquire_artist"))
    assert state["Beyoncé"][:2] == ("failed", 1) and state["Radiohead"][:2] == ("failed", 1)
    assert "HTTP 503" in state["Beyoncé"][2] and "gave up after 3 attempts" in state["Beyoncé"][2]
    assert fake_server.count(AUDIO) == 4 * 3 + 2

    second = acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=2)  # both retried
    assert (second.planned, second.downloaded, second.failed) == (2, 3, 1)
    state = dict((r[0], r[1:]) for r in rows("SELECT name, status, attempts FROM acquire_artist"))
    # Beyoncé's previews came through; Radiohead's second one failed twice: given up, the other two count.
    assert state == {"Beyoncé": ("downloaded", 1), "Radiohead": ("downloaded", 1)}
    assert rows("SELECT title, attempts FROM preview WHERE status = 'failed'") == [("Second Song", 2)]
    assert acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=2).planned == 0
    assert status_counts()["tracks"] == 5 and fake_server.count(AUDIO) == 4 * 3 + 2 + 3 + 3


def test_an_artist_failing_every_run_is_given_up_after_max_attempts(snapshot, fake_server):
    """The provider fails for one artist only (a 500 on Radiohead's top tracks, every run) and answers the others: that
    is the artist's failure, counted, and it is given up after --max-attempts."""
    fake_server.add_fault(r"^/deezer/artist/1000/top$", Fault("status", status=500))  # Radiohead's, always
    radiohead = "SELECT status, attempts FROM acquire_artist WHERE name = 'Radiohead'"
    for attempt, planned in ((1, 2), (2, 1)):
        summary = acquire(2, providers=["deezer"], acquire_settings=fake_server.settings(), max_attempts=2)
        assert (summary.planned, summary.artists_failed, summary.left, summary.unavailable) == (planned, 1, 0, {})
        assert rows(radiohead) == [("failed", attempt)]
    assert acquire(2, providers=["deezer"], acquire_settings=fake_server.settings(), max_attempts=2).planned == 0
    assert rows("SELECT status FROM acquire_artist WHERE name = 'Beyoncé'") == [("downloaded",)]
    fake_server.clear_faults()
    later = acquire(2, providers=["deezer"], acquire_settings=fake_server.settings(), max_attempts=3)
    assert (later.planned, later.downloaded) == (1, 3)
    assert rows(radiohead.replace("attempts", "attempts, last_error")) == [("downloaded", 2, None)]


def test_a_provider_answering_503_to_everything_is_down_not_the_artists(snapshot, fake_server):
    """Deezer answers 503 to every call for days: no artist's attempt is counted (none given up after --max-attempts
    runs), the run stops asking it (a circuit breaker after calls in a row; a batch with nothing but its 503s), says it
    is unavailable since when and leaves the artists for the next run, which gets them all once it is back."""
    fake_server.add_fault(r"^/deezer/", Fault("status", status=503))
    settings = fake_server.settings()  # 3 tries a call
    # two calls in a row failed: asked nothing more
    first = acquire(10, providers=["deezer"], acquire_settings=breaker_after(settings, 2), max_attempts=1,
                    concurrency=1)
    assert fake_server.count(r"^/deezer/") == 2 * 3  # the first two artists' searches, then nothing
    assert (first.planned, first.left, first.artists_failed, first.downloaded) == (5, 5, 0, 0)
    outage = first.unavailable["deezer"]
    assert outage["left"] == 5 and outage["reason"] == "gave up after 3 attempts: HTTP 503 server error on GET /search/artist"
    second = acquire(10, providers=["deezer"], acquire_settings=settings, max_attempts=1, batch_size=2)
    assert fake_server.count(r"^/deezer/") == 2 * 3 + 2 * 3  # its first batch only: nothing but 503s, the rest untried
    assert (second.planned, second.left, second.batches) == (5, 5, 3) and second.unavailable["deezer"]["left"] == 5
    assert rows("SELECT status, attempts FROM acquire_artist") == [("pending", 0)] * 5  # nothing counted
    assert rows("SELECT count(*) FROM preview") == [(0,)] and not list(open_store().list("acquire/journal/"))

    fake_server.clear_faults()  # back: every artist is asked, although --max-attempts 1 runs have passed twice
    back = acquire(10, providers=["deezer"], acquire_settings=settings, max_attempts=1)
    assert (back.planned, back.downloaded, back.left, back.unavailable) == (5, 12, 0, {})
    assert status_counts()["artists"]["downloaded"] == 4 and status_counts()["artists"]["no_match"] == 1


def test_the_dag_s_batches_left_by_a_provider_down_end_in_the_command_s_line(snapshot, fake_server, caplog):
    """The DAG's path (each batch fetched with its own providers, as each mapped `fetch` task is): Deezer answering
    503 to everything left every artist of both batches, but `record` only applied what was fetched and the run ended
    green. Now the batches' outages are merged (artists summed, the first `since`) and the run ends on the line of
    `musim acquire`, after recording, with no attempt counted; a normal run passes."""

    fake_server.add_fault(r"^/deezer/", Fault("status", status=503))
    settings = fake_server.settings()  # 3 tries a call
    batches = plan(4, providers=["deezer"], batch_size=2, max_attempts=1, acquire_settings=settings)
    with caplog.at_level(logging.INFO, logger="musim.acquire.fetch"):
        fetched = [fetch_batch(b, settings=settings, concurrency=1) for b in batches]
    assert [f["unavailable"]["deezer"]["left"] for f in fetched] == [2, 2]
    said = [r.getMessage() for r in caplog.records if "unavailable since" in r.getMessage()]
    assert len(said) == 2 and all("deezer unavailable since" in line and "2 artists left" in line for line in said), \
        said  # each batch's task log says so, not only the run's last task
    assert fetched[0]["unavailable"]["deezer"]["since"] < fetched[1]["unavailable"]["deezer"]["since"]
    record(fetched, max_attempts=1)
    recorded = left_over(reversed(fetched))  # in whatever order the batches come
    assert recorded == {"artists_left": 4, "unavailable": {"deezer": {
        "since": fetched[0]["unavailable"]["deezer"]["since"], "left": 4,
        "reason": "gave up after 3 attempts: HTTP 503 server error on GET /search/artist"}}}
    with pytest.raises(ProvidersUnavailable) as caught:
        refuse_left_over(recorded)
    assert re.fullmatch(r"deezer unavailable since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(gave up after 3 attempts: HTTP 503 "
                        r"server error on GET /search/artist\), 4 artists left for the next run \(not counted as failed "
                        r"attempts\)", str(caught.value)), str(caught.value)
    assert rows("SELECT status, attempts FROM acquire_artist") == [("pending", 0)] * 4  # nothing counted

    asked = fake_server.count(r"^/deezer/")
    again = plan(4, providers=["deezer"], batch_size=2, max_attempts=1, acquire_settings=settings)
    first = fetch_in_run(again[0], [], settings=settings, concurrency=1)  # asked as fetch_batch: down again
    assert first["counts"]["artists_left"] == 2 and fake_server.count(r"^/deezer/") > asked
    asked = fake_server.count(r"^/deezer/")
    second = fetch_in_run(again[1], [first, None], settings=settings, concurrency=1)  # every provider down: not asked
    assert fake_server.count(r"^/deezer/") == asked and second["journals"] == []
    assert left_over([first, second])["unavailable"]["deezer"]["left"] == 4
    assert second["unavailable"]["deezer"]["since"] == first["unavailable"]["deezer"]["since"]

    fake_server.clear_faults()
    batches = plan(4, providers=["deezer"], batch_size=2, max_attempts=1, acquire_settings=settings)
    fetched = [fetch_batch(b, settings=settings, concurrency=1) for b in batches]
    record(fetched, max_attempts=1)
    assert left_over(fetched) == {"artists_left": 0, "unavailable": {}}
    refuse_left_over(left_over(fetched))  # returns: nothing left
    assert status_counts()["artists"]["downloaded"] == 3


def test_an_audio_host_answering_503_leaves_the_artists_and_keeps_what_they_stored(snapshot, fake_server):
    """The lookups answer, the preview host answers 503 from Beyoncé's second preview on (after Radiohead's three and
    her first were stored): the host is down (downloads in a row failed), so no preview or artist is counted failed;
    Beyoncé is left for the next run, which downloads only her two missing previews."""
    beyonce = [fake_server._track_id("deezer", 1, j) for j in range(3)]
    fake_server.add_fault(rf"^/audio/deezer/({beyonce[1]}|{beyonce[2]})\.mp3$", Fault("status", status=503))
    settings = fake_server.settings()
    first = acquire(2, providers=["deezer"], acquire_settings=breaker_after(settings, 2), max_attempts=1, concurrency=1, batch_size=1)
    assert (first.downloaded, first.failed, first.left) == (3, 0, 1) and set(first.unavailable) == {"deezer"}
    assert "HTTP 503 server error on preview of track" in first.unavailable["deezer"]["reason"]
    assert dict(rows("SELECT name, status FROM acquire_artist")) == {"Radiohead": "downloaded", "Beyoncé": "pending"}
    assert rows("SELECT count(*) FROM preview WHERE status = 'failed'") == [(0,)]
    fake_server.clear_faults()
    again = acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=1)
    assert (again.planned, again.downloaded, again.failed, again.left) == (1, 3, 0, 0)
    assert [fake_server.count(rf"^/audio/deezer/{t}\.mp3$") for t in beyonce] == [1, 3 + 1, 3 + 1]  # the first: once
    assert status_counts()["tracks"] == 6 and status_counts()["artists"]["downloaded"] == 2


def test_provider_outage_fails_the_artist_and_the_next_provider_is_asked(snapshot, fake_server):
    fake_server.add_fault(r"^/deezer/", Fault("status", status=500))
    summary = acquire(2, providers=["deezer", "itunes"], acquire_settings=fake_server.settings())
    assert summary.downloaded == 6
    got = rows("SELECT DISTINCT provider, format FROM track")
    assert got == [("itunes", "m4a")]
    assert rows("SELECT providers_tried FROM acquire_artist LIMIT 1") == [(["deezer", "itunes"],)]


def test_pipeline_on_s3(snapshot, fake_server, s3_env, monkeypatch):
    monkeypatch.setenv("MUSIM_OBJECT_STORE", s3_env.url)
    settings = fake_server.settings()
    batches = plan(3, providers=["itunes"], acquire_settings=settings, batch_size=2)
    fetch_batch(batches[0], settings=settings)  # killed before record: journals wait in the bucket
    listed = s3_env.client.list_objects_v2(Bucket=s3_env.bucket, Prefix="musim/acquire/journal/")
    assert listed["KeyCount"] == 2
    summary = acquire(3, providers=["itunes"], acquire_settings=settings)
    assert summary.planned == 1 and fake_server.count(AUDIO) == 9
    keys = {o["Key"] for o in s3_env.client.list_objects_v2(Bucket=s3_env.bucket, Prefix="musim/")["Contents"]}
    tracks = rows("SELECT object_key, sha256, format FROM track")
    assert len(tracks) == 9 and all(f"musim/{k}" in keys and k.endswith(f"{sha}.m4a") for k, sha, _ in tracks)
    assert not any(k.startswith("musim/acquire/journal/") for k in keys)


def test_a_retried_fetch_task_skips_the_artists_it_already_journaled(snapshot, fake_server):
    settings = fake_server.settings()
    (batch,) = plan(3, providers=["deezer"], acquire_settings=settings)
    first = fetch_batch(dict(batch, artists=batch["artists"][:2]), settings=settings)  # died after two
    retried = fetch_batch(batch, settings=settings)
    assert retried["counts"]["artists_resumed"] == 2 and retried["journals"][:2] == first["journals"]
    assert len(retried["journals"]) == 3 and fake_server.count(AUDIO) == 9
    assert record([retried])["journals"] == 3 and status_counts()["tracks"] == 9


def test_retry_replans_artists_and_previews_failed_past_max_attempts(snapshot, fake_server):
    settings = fake_server.settings()
    fake_server.add_fault(r"^/deezer/artist/", Fault("status", status=500))  # the top tracks fail: artist failed
    fake_server.add_fault(r"^/audio/deezer/3000001\.mp3$", Fault("status", status=503))  # Radiohead #2: always
    acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=1)
    assert dict(rows("SELECT name, status FROM acquire_artist")) == {"Radiohead": "failed", "Beyoncé": "failed"}
    assert acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=1).planned == 0  # given up
    fake_server.clear_faults()
    fake_server.add_fault(r"^/audio/deezer/3000001\.mp3$", Fault("status", status=503))
    first = acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=1, retry=True)
    assert (first.planned, first.failed) == (2, 1)
    assert rows("SELECT title, status, attempts FROM preview WHERE status = 'failed'") == [("Second Song", "failed", 1)]
    assert acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=1).planned == 0  # given up

    fake_server.clear_faults()
    retried = acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=1, retry=True)
    assert (retried.planned, retried.downloaded, retried.failed) == (1, 1, 0)  # only the failed preview
    assert rows("SELECT title, status, attempts FROM preview WHERE title = 'Second Song' AND artist_id = "
                "(SELECT artist_id FROM acquire_artist WHERE name = 'Radiohead')") == [("Second Song", "downloaded", 2)]
    assert dict(rows("SELECT name, status FROM acquire_artist")) == {"Radiohead": "downloaded", "Beyoncé": "downloaded"}


def _dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: every request is refused (an outage, not a 404)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _journal(key: str):
    from musim.acquire.journal import read_journals

    ((_, outcome),) = read_journals(open_store(), [key])
    return outcome


def test_a_batch_that_reaches_no_provider_leaves_its_artists_not_counted(snapshot, fake_server):
    """Every lookup refused (nothing listens on the providers' port): the artists were journaled failed (one attempt
    each, given up after --max-attempts runs of an outage lasting days). Now the providers are down, as if they had
    answered 503: the batch returns, nothing journaled, every artist left for the next run, both providers named; the
    next batch, the network back, fetches them all."""
    settings = fake_server.settings()
    (batch,) = plan(3, providers=["deezer", "itunes"], acquire_settings=settings, max_attempts=1)
    dead = _dead_url()
    down = fake_server.settings(deezer_url=f"{dead}/deezer", itunes_url=f"{dead}/itunes")
    fetched = fetch_batch(batch, settings=down, concurrency=2)
    assert fetched["journals"] == [] and fetched["counts"] == {"artists_left": 3}
    assert set(fetched["unavailable"]) == {"deezer", "itunes"}
    assert fetched["unavailable"]["deezer"]["reason"] == ("gave up after 3 attempts: connection error on GET "
                                                          "/search/artist: ConnectionError")
    assert fetched["unavailable"]["deezer"]["left"] == 3  # each artist left is counted under each provider it needed
    assert not list(open_store().list("acquire/journal/"))
    record([fetched], max_attempts=1)
    assert rows("SELECT status, attempts FROM acquire_artist") == [("pending", 0)] * 3
    with pytest.raises(ProvidersUnavailable, match=r"^deezer unavailable since .* UTC \(gave up after 3 attempts: "
                                                   r"connection error on GET /search/artist: ConnectionError\), 3 "
                                                   r"artists left for the next run \(not counted as failed attempts\)"):
        refuse_left_over(left_over([fetched]))

    (again,) = plan(3, providers=["deezer", "itunes"], acquire_settings=settings, max_attempts=1)  # still planned
    retried = fetch_batch(again, settings=settings)  # the network back
    assert retried["counts"]["artists_found"] == 3 and record([retried])["journals"] == 3
    assert status_counts()["artists"]["downloaded"] == 3 and status_counts()["artists"]["failed"] == 0


def test_a_provider_unreachable_for_runs_on_end_never_gives_an_artist_up(snapshot, fake_server):
    """Runs after runs with Deezer's port closed (the DAG's path: no check before the batch): each run leaves the
    artists pending with no attempt counted, however many runs pass --max-attempts."""
    settings = fake_server.settings(deezer_url=f"{_dead_url()}/deezer")
    for _ in range(3):
        (batch,) = plan(2, providers=["deezer"], acquire_settings=settings, max_attempts=1)
        fetched = fetch_batch(batch, settings=settings)
        assert fetched["counts"] == {"artists_left": 2} and record([fetched], max_attempts=1)["journals"] == 0
        assert rows("SELECT status, attempts FROM acquire_artist ORDER BY name") == [("pending", 0), ("pending", 0)]


def test_a_partial_outage_returns_with_the_unreached_artist_failed(snapshot, fake_server):
    """One artist's lookups time out, the others are answered: the batch returns as before (no error), the timed
    out artist journaled failed and marked unreachable (a retried task would ask it again)."""
    settings = fake_server.settings(timeout_s=0.3)
    (batch,) = plan(3, providers=["deezer"], acquire_settings=settings)
    fake_server.add_fault(r"^/deezer/search/artist$", Fault("slow", delay_s=0.8, times=3))  # the first artist's 3 tries
    fetched = fetch_batch(batch, settings=settings, concurrency=1)
    assert fetched["counts"]["artists_failed"] == 1 and fetched["counts"]["artists_found"] == 2
    failed = [o for o in map(_journal, fetched["journals"]) if o.resolve_status == "failed"]
    assert len(failed) == 1 and failed[0].unreachable and "timeout on GET /search/artist" in failed[0].error


def test_artists_the_providers_do_not_know_are_no_outage(snapshot, fake_server):
    """A provider that answers (404 on every search, unknown artists) was reached: the batch returns, its artists
    failed or unmatched, none marked unreachable."""
    settings = fake_server.settings()
    (batch,) = plan(3, providers=["deezer"], acquire_settings=settings)
    fake_server.add_fault(r"^/deezer/search/artist$", Fault("status", status=404))
    fetched = fetch_batch(batch, settings=settings)
    assert fetched["counts"]["artists_failed"] == 3
    outcomes = list(map(_journal, fetched["journals"]))
    assert all(o.resolve_status == "failed" and "HTTP 404" in o.error and not o.unreachable for o in outcomes)
    fake_server.clear_faults()
    unknown = dict(batch, batch_id="unknown", artists=[{"artist_id": 99, "name": "Nobody Anyone Knows", "known": {}}])
    assert fetch_batch(unknown, settings=settings)["counts"] == {"artists_no_match": 1, "artists_all_failed": 0}


def test_a_batch_whose_every_preview_download_is_refused_leaves_its_artists_and_the_next_downloads(snapshot,
                                                                                                   fake_server):
    """The lookups answer but every preview URL they give is on a port nothing listens on (the audio host down): the
    previews were journaled failed, attempts counted. Now the audio host is down as one answering 503 is: nothing
    journaled, the artists left for the next run, which downloads them."""
    settings = fake_server.settings()
    (batch,) = plan(3, providers=["deezer"], acquire_settings=settings)
    fake_server.move_audio(_dead_url())
    fetched = fetch_batch(batch, settings=settings, concurrency=1)
    assert fake_server.count(AUDIO) == 0 and fetched["journals"] == [] and fetched["counts"]["artists_left"] == 3
    assert fetched["unavailable"]["deezer"]["reason"].startswith("gave up after 3 attempts: connection error on "
                                                                 "preview of track 3000000: ConnectionError")
    assert not list(open_store().list("audio/previews/"))
    record([fetched])
    assert rows("SELECT count(*) FROM preview") == [(0,)]

    fake_server.move_audio(None)  # the audio host back: the artists are asked again
    (again,) = plan(3, providers=["deezer"], acquire_settings=settings)
    retried = fetch_batch(again, settings=settings)
    assert retried["counts"]["downloaded"] == 9 and record([retried])["journals"] == 3
    assert status_counts()["artists"]["downloaded"] == 3 and status_counts()["tracks"] == 9


def test_a_batch_where_some_download_got_an_answer_is_no_outage(snapshot, fake_server):
    """Only Radiohead's audio host is down: the batch returns (green), Radiohead's previews failed and its journal
    marked unreachable; and a download answered with unusable audio (rejected) is an answer too: no outage."""
    settings = fake_server.settings()
    (batch,) = plan(2, providers=["deezer"], acquire_settings=settings)
    fake_server.move_audio(_dead_url(), "Radiohead")
    fetched = fetch_batch(batch, settings=settings, concurrency=1)
    assert (fetched["counts"]["downloaded"], fetched["counts"]["failed"]) == (3, 3)
    radiohead, beyonce = (_journal(k) for k in sorted(fetched["journals"]))
    assert radiohead.name == "Radiohead" and radiohead.unreachable and not beyonce.unreachable

    fake_server.add_fault(r"^/audio/deezer/30001\d\d\.mp3$", Fault("corrupt"))  # every one of Beyoncé's
    rejected = fetch_batch(dict(batch, batch_id="rejected"), settings=settings, concurrency=1)
    assert (rejected["counts"]["rejected"], rejected["counts"]["failed"]) == (4, 3)
    assert "downloaded" not in rejected["counts"]  # nothing stored, yet the audio host of one artist answered


def test_an_acquire_run_whose_audio_host_is_unreachable_leaves_the_artists_for_the_next_run(snapshot, fake_server):
    """The command's path: the previews were recorded failed (one attempt, given up at --max-attempts 1, only `--retry`
    planned them again). Now the audio host is down: the artists are left, no preview counted, and the next run
    downloads them without --retry."""
    settings = fake_server.settings()
    fake_server.move_audio(_dead_url())
    first = acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=1)
    assert (first.left, first.failed, first.downloaded) == (2, 0, 0) and first.unavailable["deezer"]["left"] == 2
    assert "connection error on preview of track" in first.unavailable["deezer"]["reason"]
    assert rows("SELECT count(*) FROM preview") == [(0,)]
    assert dict(rows("SELECT name, status FROM acquire_artist")) == {"Radiohead": "pending", "Beyoncé": "pending"}
    fake_server.move_audio(None)
    again = acquire(2, providers=["deezer"], acquire_settings=settings, max_attempts=1)
    assert (again.planned, again.downloaded, again.failed) == (2, 6, 0) and status_counts()["tracks"] == 6


def test_a_provider_that_fails_in_a_later_batch_of_the_command_is_down_not_the_artists(snapshot, fake_server):
    """`musim acquire` shares its providers between batches: Deezer answered the first batch, then 503 to everything.
    The batch after it got nothing but 503s (fewer than MUSIM_OUTAGE_AFTER), yet its artists were counted failed: the
    breaker judged 'answered nothing' over the whole run. Now over the batch, as the README says: they are left."""
    settings = fake_server.settings()
    done: list[str] = []

    def on_artist(outcome) -> None:  # after the first batch (two artists), Deezer starts failing
        done.append(outcome.name)
        if len(done) == 2:
            fake_server.add_fault(r"^/deezer/", Fault("status", status=503))

    summary = acquire(4, providers=["deezer"], acquire_settings=settings, batch_size=2, concurrency=1,
                      max_attempts=1, on_artist=on_artist)
    assert (summary.downloaded, summary.artists_failed, summary.left) == (6, 0, 2), summary
    assert summary.unavailable["deezer"]["reason"] == "gave up after 3 attempts: HTTP 503 server error on GET /search/artist"
    assert rows("SELECT name, status, attempts FROM acquire_artist WHERE status <> 'downloaded' ORDER BY name") == [
        ("Metallica", "pending", 0), ("Muse", "pending", 0)]


def test_a_signed_preview_url_is_kept_without_its_signature(snapshot, fake_server):
    """Deezer's preview URLs carry a signing key (``hdnea=exp=...~hmac=...``; a CDN's ``X-Amz-Signature``): it was
    written whole into the journal and ``preview.source_url``, and printed by ``musim previews --json``."""
    from musim.acquire.journal import read_journals
    from musim.acquire.pipeline import list_previews

    fake_server.audio_query = ("?hdnea=exp=1733500000~acl=/audio/*~hmac=5eC7e7d1ce&X-Amz-Signature=feedfacecafe"
                               "&access_token=tok3n0123&quality=128")
    settings = fake_server.settings()
    (batch,) = plan(1, per_artist=2, providers=["deezer"], acquire_settings=settings)
    fetched = fetch_batch(batch, settings=settings)
    store = open_store()
    journaled = [p.source_url for _, o in read_journals(store, fetched["journals"]) for p in o.previews]
    record([fetched])
    listed = [r["source_url"] for r in list_previews("Radiohead")]
    assert len(journaled) == 2 and sorted(listed) == sorted(journaled)
    for url in journaled:
        assert url.startswith(f"{fake_server.url}/audio/deezer/") and url.endswith(".mp3?quality=128")
        assert not any(s in url for s in ("5eC7e7d1ce", "feedfacecafe", "tok3n0123", "hdnea"))
    assert fake_server.count(AUDIO) == 2  # downloaded with the whole URL


def test_another_provider_answering_on_a_rerun_does_not_add_the_same_songs_again(snapshot, fake_server):
    """An artist with one Deezer preview stored and one failed was asked again the next day; Deezer's search failed
    that day, iTunes answered, and its own top two (the same songs) were stored too: three previews of
    --per-artist 2, two of them the same song twice."""
    settings = fake_server.settings()
    fake_server.add_fault(r"^/audio/deezer/3000001\.mp3$", Fault("status", status=503))  # Radiohead's second song
    first = acquire(1, per_artist=2, providers=["deezer", "itunes"], acquire_settings=settings)
    assert (first.downloaded, first.failed) == (1, 1)
    fake_server.clear_faults()
    fake_server.add_fault(r"^/deezer/search/artist$", Fault("status", status=500))  # Deezer down: iTunes answers
    second = acquire(1, per_artist=2, providers=["deezer", "itunes"], acquire_settings=settings)
    assert second.planned == 1 and second.downloaded == 0 and fake_server.count(r"^/audio/itunes/") == 0
    fake_server.clear_faults()  # Deezer back: the failed song is retried there
    third = acquire(1, per_artist=2, providers=["deezer", "itunes"], acquire_settings=settings)
    assert (third.planned, third.downloaded) == (1, 1)
    assert rows("SELECT provider, title FROM track ORDER BY title") == [("deezer", "First Song"),
                                                                        ("deezer", "Second Song")]


def test_the_same_audio_listed_twice_takes_one_slot(snapshot):
    """A song on the top list twice (the single and the album's, each with its own id and URL, the very same
    preview) was stored as two tracks of the artist: two of its three previews were one song."""
    from tests.fakes.provider_server import FakeArtist, FakeProviderServer, FakeTrack

    songs = [FakeTrack("Creep"), FakeTrack("Creep", same_audio_as=0), FakeTrack("Karma Police"), FakeTrack("Airbag")]
    with FakeProviderServer([FakeArtist("Radiohead", songs)]) as server:
        summary = acquire(1, per_artist=3, providers=["deezer"], acquire_settings=server.settings())
        assert (summary.downloaded, summary.rejected) == (3, 1)
        tracks = rows("SELECT title, sha256 FROM track ORDER BY provider_rank")
        assert [t for t, _ in tracks] == ["Creep", "Karma Police", "Airbag"] and len({s for _, s in tracks}) == 3
        (why,) = rows("SELECT last_error FROM preview WHERE status = 'rejected'")
        assert why[0].startswith("duplicate: the same audio as track ") and "'Creep'" in why[0]
        # --retry tries the rejected track again: the same audio as a track stored by the earlier run
        again = acquire(1, per_artist=3, providers=["deezer"], acquire_settings=server.settings(), retry=True)
        assert (again.planned, again.downloaded, again.rejected) == (1, 0, 1)
        assert rows("SELECT title FROM track ORDER BY provider_rank") == [("Creep",), ("Karma Police",), ("Airbag",)]


def test_a_web_page_answered_for_a_preview_is_a_failure_tried_again_not_a_rejection(snapshot, fake_server):
    """A proxy's (or a CDN's) "Access denied" page answered with 200 for a preview was decoded, found "not_audio" and
    the track rejected: never tried again, the artist given up when all were, though no audio had been offered."""
    song = fake_server._track_id("deezer", 0, 0)  # Radiohead's first song
    fake_server.add_fault(rf"^/audio/deezer/{song}\.mp3$", Fault("html", times=1))
    first = acquire(1, providers=["deezer"], acquire_settings=fake_server.settings())
    assert (first.downloaded, first.rejected, first.failed) == (2, 0, 1)
    (why,) = rows("SELECT last_error FROM preview WHERE status = 'failed'")
    assert why[0] == f"preview of track {song} answered a page (text/html), not audio: an error page of the server " \
                     "or of a proxy in between"
    again = acquire(1, providers=["deezer"], acquire_settings=fake_server.settings())  # no --retry needed
    assert (again.planned, again.downloaded) == (1, 1) and status_counts()["tracks"] == 3


def test_a_title_cut_in_the_middle_of_an_emoji_does_not_fail_its_batch(snapshot):
    """A title with half an emoji ("\\ud83d", an API cutting a string in the middle of a surrogate pair) failed the
    journal's UTF-8 with UnicodeEncodeError: the whole batch, on every run, the artist never acquired."""
    from tests.fakes.provider_server import FakeArtist, FakeProviderServer, FakeTrack

    songs = [FakeTrack("Uprising \ud83d"), FakeTrack("Madness \U0001f3b5")]
    with FakeProviderServer([FakeArtist("Muse", songs)]) as server:
        summary = acquire(3, per_artist=2, providers=["deezer"], acquire_settings=server.settings())
    assert summary.downloaded == 2
    assert rows("SELECT title FROM track ORDER BY provider_rank") == [("Uprising \ufffd",), ("Madness \U0001f3b5",)]


def test_tracks_an_artist_only_features_on_do_not_take_its_slots(snapshot):
    """Deezer's top list of an artist also holds the tracks it features on (another main artist): they were asked
    for, then left out, so an artist with four features on top got one preview of three, or none and no fallback."""
    from tests.fakes.provider_server import FakeArtist, FakeProviderServer, FakeTrack

    features = [FakeTrack(f"Feature {i}", main_artist="Radiohead") for i in range(4)]
    muse = FakeArtist("Muse", [*features, FakeTrack("Uprising"), FakeTrack("Madness"), FakeTrack("Hysteria")])
    with FakeProviderServer([FakeArtist("Radiohead", [FakeTrack("Creep")]), muse]) as server:
        summary = acquire(3, per_artist=3, providers=["deezer"], acquire_settings=server.settings())
    assert summary.downloaded == 1 + 3
    assert rows("""SELECT title FROM track JOIN acquire_artist USING (artist_id) WHERE name = 'Muse'
                   ORDER BY provider_rank""") == [("Uprising",), ("Madness",), ("Hysteria",)]


def test_a_failed_song_the_provider_no_longer_lists_does_not_hold_a_slot_for_good(snapshot, fake_server):
    """Radiohead's second song failed; by the next run Deezer no longer lists it as Radiohead's own (its top list
    changed): it is never tried again, yet it held its slot on every run, so the third song was never fetched and the
    artist stayed at one preview of --per-artist 2."""
    settings = fake_server.settings()
    fake_server.add_fault(r"^/audio/deezer/3000001\.mp3$", Fault("status", status=503))
    first = acquire(1, per_artist=2, providers=["deezer"], acquire_settings=settings)
    assert (first.downloaded, first.failed) == (1, 1)
    fake_server.clear_faults()
    fake_server.catalogue[0].tracks[1].main_artist = "Muse"  # now credited to another main artist: not listed
    second = acquire(1, per_artist=2, providers=["deezer"], acquire_settings=settings)
    assert (second.planned, second.downloaded) == (1, 1)
    assert rows("SELECT title FROM track WHERE provider = 'deezer' ORDER BY title") == [("First Song",),
                                                                                         ("Third Song",)]


def test_a_run_killed_between_two_previews_of_an_artist_fetches_only_the_one_left(snapshot, fake_server):
    """`musim acquire` SIGKILLed while the artist's third preview is on its way (two stored, no journal yet): the next
    run downloads the third only; the first two are taken from the store as the killed run noted them, never fetched
    again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    radiohead = [fake_server._track_id("deezer", 0, j) for j in range(3)]
    third = rf"^/audio/deezer/{radiohead[2]}\.mp3$"
    fake_server.add_fault(third, Fault("slow", delay_s=30.0, times=1))  # held until the process is killed
    env = dict(os.environ, **fake_server.env(), MUSIM_HTTP_TIMEOUT_S="60", MUSIM_RETRY_INITIAL_S="0.01",
               MUSIM_RETRY_MAX_S="0.02", MUSIM_RETRY_JITTER_S="0")
    proc = subprocess.Popen([sys.executable, "-m", "musim.cli", "acquire", "--provider", "deezer", "--top", "1",
                             "--concurrency", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not fake_server.count(third) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake_server.count(third) == 1, proc.stderr.read().decode() if proc.poll() is not None else "no request"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [fake_server.count(rf"^/audio/deezer/{t}\.mp3$") for t in radiohead] == [1, 1, 1]
    assert rows("SELECT count(*) FROM preview") == [(0,)]  # killed before its journal: nothing recorded

    again = acquire(1, providers=["deezer"], acquire_settings=fake_server.settings())
    assert (again.planned, again.failed) == (1, 0)
    assert [fake_server.count(rf"^/audio/deezer/{t}\.mp3$") for t in radiohead] == [1, 1, 2]  # only the third again
    assert rows("SELECT status, attempts FROM preview ORDER BY provider_rank DESC") == [("downloaded", 1)] * 3
    assert status_counts()["tracks"] == 3 and status_counts()["artists"]["downloaded"] == 1
    store = open_store()
    assert not list(store.list("acquire/progress/")) and not list(store.list("acquire/journal/"))
    assert all(store.stat(k).size == b for k, b in rows("SELECT object_key, bytes FROM preview"))


def test_a_preview_noted_done_whose_object_is_not_whole_is_fetched_again(snapshot, fake_server):
    """The progress of an artist killed mid-fetch names two stored previews, but the first one's object is cut short
    (a store that kept half a write): only the intact one is taken; the cut one is downloaded and stored whole again."""
    from musim.acquire.journal import read_journals, write_progress

    settings = fake_server.settings()
    (batch,) = plan(1, providers=["deezer"], acquire_settings=settings)
    fetched = fetch_batch(batch, settings=settings)
    store = open_store()
    ((key, outcome),) = read_journals(store, fetched["journals"])
    store.delete(key)  # as if killed before its journal: the progress had the first two
    write_progress(store, outcome.artist_id, outcome.previews[:2])
    cut = outcome.previews[0]
    store.put_bytes(cut.object_key, store.get_bytes(cut.object_key)[: cut.bytes // 2])
    again = fetch_batch(dict(batch, batch_id="again"), settings=settings)
    assert again["counts"]["downloaded"] == 3
    tracks = [p.provider_track_id for p in outcome.previews]
    assert [fake_server.count(rf"^/audio/deezer/{t}\.mp3$") for t in tracks] == [2, 1, 2]
    assert store.stat(cut.object_key).size == cut.bytes


def test_a_preview_url_s_credentials_are_stored_nowhere(snapshot, fake_server):
    """A preview URL carrying credentials (user info, an ``access_token`` parameter): ``source_url`` was cleaned, but
    the source key (the journal, ``preview.source_key``, ``preview_source``: what `musim sql` reads) kept them."""
    fake_server.audio_query = "?access_token=tok3n0123&quality=128"
    host, port = fake_server.url.rsplit(":", 1)[0].split("//")[1], fake_server.url.rsplit(":", 1)[1]
    fake_server.move_audio(f"http://listener:pa55w0rdZ@{host}:{port}")
    settings = fake_server.settings()
    (batch,) = plan(1, per_artist=2, providers=["deezer"], acquire_settings=settings)
    fetched = fetch_batch(batch, settings=settings)
    store = open_store()
    journals = b"".join(store.get_bytes(k) for k in fetched["journals"])
    assert b"quality=128" in journals and b"tok3n0123" not in journals and b"pa55w0rdZ" not in journals
    record([fetched])
    stored = rows("SELECT source_key, source_url FROM preview") + rows("SELECT source_key, object_key FROM preview_source")
    assert len(stored) == 4 and all(key.endswith("?quality=128") for key, _ in stored), stored
    assert not any(s in str(stored) for s in ("tok3n0123", "pa55w0rdZ", "listener")), stored
    assert fake_server.count(AUDIO) == 2  # downloaded with the whole URL

    fake_server.audio_query = "?access_token=an0ther&quality=128"  # a new token, the same audio: reused, not fetched
    _forget_previews()
    again = acquire(1, per_artist=2, providers=["deezer"], acquire_settings=settings)
    assert (again.downloaded, again.reused) == (0, 2) and fake_server.count(AUDIO) == 2


def test_an_interrupt_stops_the_batch_s_artists_not_begun(snapshot, fake_server):
    """Ctrl-C during a batch (here: raised where the first artist is reported) waited for every artist of the batch,
    those not begun too (25 by default, each with its retries): `musim acquire` went on fetching for minutes after
    "interrupted". Now the artists not begun are left pending, and those running stop at their next request: only the
    artists finished are journaled, the others stay pending (nothing of them half-written), and a rerun does them."""
    fake_server.add_fault(AUDIO, Fault("slow", delay_s=0.5))
    settings = fake_server.settings()
    (batch,) = plan(10, providers=["deezer"], acquire_settings=settings, batch_size=10)
    assert len(batch["artists"]) == 5
    told: list[str] = []

    def interrupt(outcome) -> None:
        told.append(outcome.name)
        if len(told) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch_batch(batch, settings=settings, concurrency=2, on_artist=interrupt)
    searched = fake_server.matching(r"^/deezer/search/artist$")
    # the first two, and at most one more taken up by each of the two workers before the interrupt cancels the rest
    # (a worker takes its next artist as soon as it is free; each artist takes 0.5 s): never all five
    assert len(searched) <= 4, [r.query.get("q") for r in searched]
    time.sleep(0.6)  # a worker left running would finish its artist now
    journals = list(open_store().list(f"acquire/journal/{batch['batch_id']}/"))
    assert len(journals) == len(told) <= len(searched)  # an artist begun but not finished is not journaled
    record()
    assert status_counts()["artists"]["pending"] == 5 - len(journals)
    fake_server.clear_faults()
    (rest,) = plan(10, providers=["deezer"], acquire_settings=settings, batch_size=10)
    assert len(rest["artists"]) == 5 - len(journals)
    fetch_batch(rest, settings=settings, concurrency=2)
    record()
    assert status_counts()["artists"]["pending"] == 0


def test_an_artist_s_unexpected_failure_is_journaled_without_the_secret_it_quotes(snapshot, fake_server, monkeypatch):
    """An exception no one expected was stored as it was (``acquire_artist.last_error``, the journal): a URL password
    it quoted with it."""
    import musim.acquire.fetch as fetch_module

    secret = "pw-journaled-9c1e"

    def explodes(*args, **kwargs):
        raise RuntimeError(f"could not reach https://user:{secret}@provider.invalid/api")

    monkeypatch.setattr(fetch_module, "fetch_artist", explodes)
    settings = fake_server.settings()
    (batch,) = plan(1, providers=["deezer"], acquire_settings=settings)
    fetched = fetch_batch(batch, settings=settings)
    (key,) = fetched["journals"]
    journal = open_store().get_bytes(key).decode()

    assert "RuntimeError: could not reach https://user:***@provider.invalid/api" in journal and secret not in journal
