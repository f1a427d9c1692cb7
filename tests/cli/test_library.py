"""`musim library remove` and `musim similar-tracks` on library tracks: what is served after a remove, and why a
track has no neighbours."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from musim import warehouse
from tests.cli_output import run
from tests.library.conftest import write_audio, write_tags

MODEL = "cnn_classifier-1"


@pytest.fixture
def library(tmp_path, capsys):
    """Four tagged files of two artists added to the library; their track ids by title."""
    root = tmp_path / "music"
    for i, (artist, title) in enumerate([("Kill Artist", "Kill 5"), ("Kill Artist", "Kill 6"),
                                         ("Other Band", "Other 1"), ("Other Band", "Other 2")]):
        path = write_audio(root / artist / f"{i}.flac", "flac", seconds=6, seed=i, freq=220 + 60 * i)
        write_tags(path, "flac", artist=artist, title=title)
    assert run(capsys, "library", "add", str(root), "--no-progress")[0] == 0
    code, out, _ = run(capsys, "library", "list", "--json")
    return root, {r["title"]: r["track_id"] for r in json.loads(out)}


def _publish_neighbours(capsys, ids: dict[str, str], skip: tuple[str, ...] = ()) -> None:
    """Neighbour rows of model MODEL as a publication writes them (each track's neighbours: the other artist's
    tracks), without the tracks ``skip`` (not embedded), then a published snapshot."""
    at = dt.datetime.now(dt.UTC)
    rows = []
    for a, ta in ids.items():
        if a in skip:
            continue
        others = [tb for b, tb in ids.items() if b[:4] != a[:4] and b not in skip]
        rows += [("cnn_classifier", MODEL, ta, rank, tb, 1.0 - rank / 10, at) for rank, tb in enumerate(others, 1)]
    with warehouse.writer() as con:
        con.executemany("INSERT INTO track_neighbors VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    assert run(capsys, "publish")[0] == 0


def test_a_removed_track_is_no_longer_served(library, capsys):
    root, ids = library
    _publish_neighbours(capsys, ids)
    code, out, _ = run(capsys, "similar-tracks", "Other 1", "--json")
    assert code == 0 and ids["Kill 5"] in {r["track_id"] for r in json.loads(out)["rows"]}
    code, out, err = run(capsys, "library", "remove", ids["Kill 5"])
    assert code == 0 and out.startswith("removed 1 library track; published snapshot-")
    assert "comes back with the next `musim library add`" in err
    code, out, _ = run(capsys, "similar-tracks", "Other 1", "--json")  # not as a neighbour
    assert code == 0 and [r["track_id"] for r in json.loads(out)["rows"]] == [ids["Kill 6"]]
    code, out, err = run(capsys, "similar-tracks", "--id", ids["Kill 5"])  # nor as a track
    assert code != 0 and "no track with id" in err
    code, out, err = run(capsys, "similar-tracks", "Kill 5")
    assert code != 0 and "in the published snapshot" in err
    # nothing served needs no new snapshot
    code, out, _ = run(capsys, "library", "remove", ids["Other 2"], "--json")
    assert code == 0 and json.loads(out)["published"] is not None  # Other 2 was still a neighbour
    code, out, _ = run(capsys, "library", "remove", ids["Other 1"], "--json")
    assert json.loads(out)["published"] is not None


def test_removing_without_a_published_snapshot_publishes_nothing(library, capsys):
    _, ids = library
    code, out, err = run(capsys, "library", "remove", ids["Kill 5"], ids["Kill 6"])
    assert code == 0 and out == "removed 2 library tracks\n"


def test_similar_tracks_says_why_a_library_track_has_no_neighbours(library, tmp_path, capsys):
    root, ids = library
    _publish_neighbours(capsys, ids, skip=("Kill 5",))
    # a track added after the snapshot: said, with what to run, not "no track contains"
    late = write_audio(tmp_path / "late" / "late.flac", "flac", seconds=6, seed=9, freq=700)
    write_tags(late, "flac", artist="Late Comer", title="Late 1")
    assert run(capsys, "library", "add", str(late.parent), "--no-progress")[0] == 0
    code, out, err = run(capsys, "similar-tracks", "late 1")
    assert code != 0 and "in the published snapshot" in err and "`musim features build`" in err
    assert "musim models publish" in err
    # in the snapshot, not embedded when the version was published
    code, out, err = run(capsys, "similar-tracks", "kill 5", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["rows"] == [] and "had no audio features when cnn_classifier-1" in doc["reason"]
    assert doc["reason"] in err
    code, out, err = run(capsys, "similar-tracks", "kill 5")
    assert code == 0 and "had no audio features when cnn_classifier-1 was published" in err
    # every neighbour gone from the snapshot since: said, and what to run
    code, out, err = run(capsys, "similar-tracks", "kill 6", "--json")
    assert json.loads(out)["rows"] and json.loads(out)["reason"] is None and err == ""
    code, out, err = run(capsys, "library", "remove", "--artist", "Other Band")
    assert code == 0 and "published snapshot-" in out
    code, out, err = run(capsys, "similar-tracks", "kill 6")
    assert code == 0 and "every track it was compared with is gone from the library" in err, err


def _served(query: str) -> list:
    from musim import serving

    con = serving.open_snapshot()
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def _add_late(tmp_path, capsys, title: str = "Late 1") -> str:
    late = write_audio(tmp_path / "late" / f"{title}.flac", "flac", seconds=6, seed=9, freq=700)
    write_tags(late, "flac", artist="Late Comer", title=title)
    assert run(capsys, "library", "add", str(late.parent), "--no-progress")[0] == 0
    code, out, _ = run(capsys, "library", "show", str(late), "--json")
    return json.loads(out)["track_id"]


def test_a_remove_publishes_the_served_snapshot_without_the_tracks_not_what_the_warehouse_holds_now(
        library, tmp_path, capsys):
    """`library remove` published a new snapshot of whatever the warehouse held, so what was not published yet (a
    build with --no-publish; here a library artist added since) went out with it, silently."""
    _, ids = library
    _publish_neighbours(capsys, ids)
    artists = _served("SELECT * FROM artist ORDER BY artist_id")
    state = _served("SELECT * FROM served_state WHERE part <> 'tracks' ORDER BY ALL")
    late = _add_late(tmp_path, capsys)  # in the warehouse, not published
    code, out, _ = run(capsys, "library", "remove", ids["Kill 5"])
    assert code == 0 and out.startswith("removed 1 library track; published snapshot-")
    assert _served("SELECT * FROM artist ORDER BY artist_id") == artists  # no Late Comer
    assert not _served(f"SELECT * FROM track WHERE track_id IN ('{late}', '{ids['Kill 5']}')")
    assert _served("SELECT count(*) FROM track")[0][0] == 3
    code, out, _ = run(capsys, "similar-tracks", "Other 1", "--json")  # not served as a neighbour
    assert code == 0 and [r["track_id"] for r in json.loads(out)["rows"]] == [ids["Kill 6"]]
    assert _served("SELECT * FROM served_state WHERE part <> 'tracks' ORDER BY ALL") == state
    code, out, _ = run(capsys, "publish", "--list", "--json")
    listed = json.loads(out)
    assert code == 0 and listed[0]["current"] and listed[0]["state"] != listed[1]["state"]


def test_a_remove_under_a_rollback_pin_takes_the_tracks_from_what_a_release_serves(library, tmp_path, capsys):
    """Under a rollback pin, `library remove` looked at the pinned snapshot only: the newest one kept the removed
    track, and `musim publish --release` served it again."""
    _, ids = library
    assert run(capsys, "publish")[0] == 0
    late = _add_late(tmp_path, capsys)
    assert run(capsys, "publish")[0] == 0
    assert _served(f"SELECT count(*) FROM track WHERE track_id = '{late}'") == [(1,)]
    assert run(capsys, "publish", "--rollback")[0] == 0
    assert _served(f"SELECT count(*) FROM track WHERE track_id = '{late}'") == [(0,)]
    code, out, _ = run(capsys, "library", "remove", late)
    assert code == 0 and out.startswith("removed 1 library track; published snapshot-")
    assert _served(f"SELECT count(*) FROM track WHERE track_id = '{late}'") == [(0,)]  # still the pinned one
    assert run(capsys, "publish", "--release")[0] == 0
    assert _served(f"SELECT count(*) FROM track WHERE track_id = '{late}'") == [(0,)]
    assert _served("SELECT count(*) FROM track")[0][0] == 4


def test_a_remove_under_a_rollback_pin_names_the_pinned_snapshot_that_still_serves_the_track(library, tmp_path,
                                                                                          capsys):
    """A removed track that the pinned snapshot still serves: the note said "a rollback pin keeps an older snapshot
    served", naming neither the snapshot, nor since when, nor that the track is still served; `--json` had nothing
    of it. Now both say which snapshot, pinned when, serves it until `musim publish --release` (the real command),
    and what the release serves. What the snapshots hold is unchanged: the pinned one still has the track."""
    from musim import snapshots

    _, ids = library
    assert run(capsys, "publish")[0] == 0
    _add_late(tmp_path, capsys)
    assert run(capsys, "publish")[0] == 0
    assert run(capsys, "publish", "--rollback")[0] == 0  # the snapshot of the four tracks, Kill 5 among them
    pin = snapshots.read_pin()
    code, out, err = run(capsys, "library", "remove", ids["Kill 5"])
    assert code == 0 and out.startswith("removed 1 library track; published snapshot-")
    written = out.split("published ")[1].split()[0]
    assert _served(f"SELECT count(*) FROM track WHERE track_id = '{ids['Kill 5']}'") == [(1,)]  # as a rollback wants
    assert (f"note: removed from the library, but {pin.snapshot}, pinned by a rollback since "
            f"{pin.pinned_at:%Y-%m-%d %H:%M:%S} UTC, still serves it until the pin is released: "
            f"`musim publish --release` serves the newest snapshot, {written}, without it\n") in err, err

    code, out, err = run(capsys, "library", "remove", ids["Kill 6"], "--json")
    doc = json.loads(out)
    assert code == 0 and doc["removed"] == [ids["Kill 6"]] and doc["served"] is False
    assert doc["still_served_by"] == {"snapshot": pin.snapshot, "pin": pin.to_json()}
    assert f"{pin.snapshot}, pinned by a rollback since" in err and "still serves it until" in err

    code, out, err = run(capsys, "library", "remove", ids["Other 1"], ids["Other 2"], "--json")
    assert json.loads(out)["still_served_by"]["snapshot"] == pin.snapshot and "still serves them until" in err
    assert run(capsys, "publish", "--release")[0] == 0
    assert _served("SELECT count(*) FROM track")[0][0] == 1  # the late one alone


def test_a_remove_the_pinned_snapshot_does_not_serve_says_the_copy_waits_for_the_release(library, tmp_path, capsys):
    """The pinned snapshot does not serve the removed track, the newest does: the copy written without it is not
    served until the release; the note names both, and says the pinned one does not serve the track."""
    from musim import snapshots

    _, ids = library
    assert run(capsys, "publish")[0] == 0
    late = _add_late(tmp_path, capsys)
    assert run(capsys, "publish")[0] == 0
    assert run(capsys, "publish", "--rollback")[0] == 0
    pin = snapshots.read_pin()
    code, out, err = run(capsys, "library", "remove", late, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["served"] is False and doc["still_served_by"] is None
    written = doc["published"].rsplit("/", 1)[1]
    assert (f"note: {written}, written without it, is not served while the rollback pin holds {pin.snapshot} "
            f"(pinned since {pin.pinned_at:%Y-%m-%d %H:%M:%S} UTC; it does not serve it either): "
            "`musim publish --release` serves the new one\n") in err, err


def test_a_remove_under_a_rollback_pin_says_it_once(library, tmp_path, capsys, caplog):
    """Under a rollback pin, `library remove` printed its note and, above it, the publish's own warning ("wrote …, but
    current stays on …, pinned by a rollback since …") of the same snapshot and pin: two lines saying one thing in two
    ways. The note says it alone now, whether the pinned snapshot serves the removed track or not."""
    _, ids = library
    assert run(capsys, "publish")[0] == 0
    late = _add_late(tmp_path, capsys)
    assert run(capsys, "publish")[0] == 0
    assert run(capsys, "publish", "--rollback")[0] == 0
    for track in (late, ids["Kill 5"]):  # the pinned snapshot serves Kill 5, not the late one
        caplog.clear()
        code, out, err = run(capsys, "library", "remove", track)
        said = [*err.splitlines(), *(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)]
        assert code == 0 and out.startswith("removed 1 library track; published snapshot-")
        assert [line for line in said if "pin" in line] == [line for line in err.splitlines() if "pin" in line], said
        assert len([line for line in said if "pin" in line]) == 1, said


def test_a_remove_without_a_pin_says_nothing_of_one(library, capsys):
    _, ids = library
    assert run(capsys, "publish")[0] == 0
    code, out, err = run(capsys, "library", "remove", ids["Kill 5"], "--json")
    doc = json.loads(out)
    assert code == 0 and doc["served"] is True and doc["still_served_by"] is None and "pin" not in err


def test_a_remove_under_a_damaged_pin_names_the_served_snapshot_and_the_pin(library, tmp_path, capsys):
    from musim import snapshots

    _, ids = library
    assert run(capsys, "publish")[0] == 0
    _add_late(tmp_path, capsys)
    assert run(capsys, "publish")[0] == 0
    assert run(capsys, "publish", "--rollback")[0] == 0
    served = snapshots.current_target().name
    snapshots.pin_path().write_text("{not json", encoding="utf-8")  # a damaged pin still holds current
    code, out, err = run(capsys, "library", "remove", ids["Kill 5"], "--json")
    doc = json.loads(out)
    assert code == 0 and doc["still_served_by"]["snapshot"] == served
    assert doc["still_served_by"]["pin"]["problem"] == "not the JSON a rollback writes"
    assert (f"note: removed from the library, but {served}, the rollback pin {snapshots.pin_path()} is damaged "
            "(not the JSON a rollback writes), still serves it until the pin is released: `musim publish --release`"
            in err), err


def test_similar_tracks_on_a_snapshot_of_an_earlier_layout_asks_for_a_new_publish(library, capsys):
    """A snapshot lacking a column this version reads (published before it): `musim similar-tracks` and `similar
    --audio` ended in "BinderException: ..." and exit 1 (an unexpected error), where `musim similar` and the web app
    say to publish again."""
    import duckdb

    from musim import serving

    _publish_neighbours(capsys, library[1])
    current = serving.current_path()
    current.chmod(0o644)
    con = duckdb.connect(str(current))
    try:
        con.execute("ALTER TABLE track DROP COLUMN genre")  # the layout of an earlier release lacks it
    finally:
        con.close()
    code, out, err = run(capsys, "similar-tracks", "kill 6")
    assert code == 2 and out == "" and err.count("\n") == 1, (code, err)
    assert "published by an earlier version of musim; publish a new one (`musim publish`)" in err
