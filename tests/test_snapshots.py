"""Published snapshots: pruning by distinct served state, listing, and rolling back (`musim publish --list`,
`--rollback`)."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from musim import serving, snapshots, warehouse
from musim.cli import main
from musim.errors import ParameterError
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build_similarity
from tests.lastfm_files import tiny_dump


def _publish(k: int | None = None) -> object:
    """Build with neighbours ``k`` (None: no build) and publish."""
    with warehouse.writer() as con:
        if k is not None:
            build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=k))
        return serving.publish(con)


def _k_of(path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT k FROM similarity_build").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def three_states(tmp_path, musim_home):
    """Three snapshots of three distinct builds (k = 1, 2, 3), the last current."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    return [_publish(k) for k in (1, 2, 3)]


def test_republishing_the_same_state_keeps_the_earlier_distinct_states(three_states, musim_home):
    """Three republishes of the same thing pruned every earlier state: nothing was left to go back to."""
    folder = musim_home / "serving" / "snapshots"
    for _ in range(4):
        newest = _publish()
        files = sorted(folder.glob("snapshot-*.duckdb"))
        assert len(files) == 3 and files[-1] == newest == serving.current_path()
        assert sorted(_k_of(f) for f in files) == [1, 2, 3]  # its identical predecessor went, the others stay
    assert not three_states[2].exists() and three_states[0].exists() and three_states[1].exists()


def test_the_current_snapshot_is_never_pruned(three_states):
    snapshots.rollback(three_states[0].name)
    with snapshots.serving_lock():
        removed = snapshots.prune(keep=1)
    assert three_states[0].exists() and serving.current_path() == three_states[0]  # current, though oldest
    assert removed == [three_states[1]] and three_states[2].exists()  # and the newest state


def test_rollback_then_similar_answers_from_the_earlier_snapshot(three_states, capsys):
    def neighbours() -> int:
        assert main(["similar", "Artist B", "--k", "3", "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        return answer["build_k"], len(answer["rows"])

    assert neighbours() == (3, 2)  # k = 3: both other artists
    assert main(["publish", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["snapshot"] for s in listed] == [p.name for p in reversed(three_states)]
    assert [s["current"] for s in listed] == [True, False, False] and len({s["state"] for s in listed}) == 3

    assert main(["publish", "--rollback"]) == 0  # the one before the current: k = 2
    assert "rolled back: " + three_states[1].name in capsys.readouterr().out
    assert serving.current_path() == three_states[1] and neighbours() == (2, 2)
    assert main(["publish", "--rollback", str(three_states[0]), "--json"]) == 0  # by path too: k = 1
    assert json.loads(capsys.readouterr().out)["snapshot"] == three_states[0].name
    assert serving.current_path() == three_states[0] and neighbours() == (1, 1)
    assert main(["publish", "--list"]) == 0
    table = capsys.readouterr().out
    assert "current" in table and three_states[0].name in table
    assert main(["publish", "--rollback", three_states[2].name.removesuffix(".duckdb")]) == 0  # forward again
    capsys.readouterr()
    assert serving.current_path() == three_states[2] and neighbours() == (3, 2)


def test_rollback_refuses_an_unknown_missing_or_damaged_snapshot(three_states, capsys):
    three_states[1].write_bytes(b"not a database" * 100)  # damaged in place
    three_states[0].unlink()  # deleted by hand
    for target, why in [("snapshot-nope", "no published snapshot 'snapshot-nope'"),
                        (three_states[0].name, f"no published snapshot '{three_states[0].name}'"),
                        (three_states[1].name, f"snapshot {three_states[1].name} cannot be served"),
                        ("../../etc/passwd", "no published snapshot")]:
        assert main(["publish", "--rollback", target]) == 2
        err = capsys.readouterr().err
        assert why in err and "musim publish --list" in err and len(err.strip().splitlines()) == 1
        assert serving.current_path() == three_states[2]  # nothing changed
    with pytest.raises(ParameterError, match=r"the snapshot to roll back to is empty \(an unset variable\?\)"):
        snapshots.rollback(" ")  # `--rollback "$SNAP"` with SNAP unset rolled back to the default and pinned it
    assert serving.current_path() == three_states[2] and snapshots.read_pin() is None
    assert main(["publish", "--rollback"]) == 2  # the only earlier one is damaged: nothing to go back to
    assert "nothing to roll back to" in capsys.readouterr().err
    assert serving.current_path() == three_states[2]


def test_a_snapshot_held_read_write_elsewhere_is_neither_counted_nor_pruned(three_states, musim_home, capsys):
    """A snapshot another process held read-write failed to open, counted as a state of its own, and pushed the only
    snapshot of the oldest state (a rollback target) out."""
    held = three_states[2]
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); sys.stdin.read()", str(held)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert main(["publish", "--force"]) == 0
        capsys.readouterr()
        assert all(p.exists() for p in three_states)  # the k = 1 state survives: the held one was not counted
        assert main(["publish", "--list"]) == 0
        table = capsys.readouterr().out
        assert f"held by pid {holder.pid}" in table
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert main(["publish", "--rollback", three_states[0].name]) == 0


def test_stray_snapshot_named_entries_are_listed_never_pruned_and_never_break_a_publish(three_states, musim_home,
                                                                                          capsys, caplog):
    folder = musim_home / "serving" / "snapshots"
    impossible = folder / "snapshot-20261399T000000000000Z.duckdb"
    impossible.touch()
    a_folder = folder / "snapshot-20200101T000000000000Z.duckdb"
    a_folder.mkdir()
    assert main(["publish", "--force"]) == 0
    published = capsys.readouterr().out
    assert "published" in published and serving.current_path().name in published
    assert impossible.exists() and a_folder.is_dir()
    assert main(["publish", "--list"]) == 0
    table = capsys.readouterr().out
    assert impossible.name in table and a_folder.name in table and table.count("not a snapshot") == 2
    assert main(["publish", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {s["snapshot"] for s in listed if s["problem"]} == {impossible.name, a_folder.name}
    assert all(s.keys() == listed[0].keys() for s in listed)  # the strays lacked builds, models and held_by
    assert [(s["builds"], s["models"], s["held_by"]) for s in listed if s["problem"]] == [([], [], None)] * 2
    assert main(["publish", "--rollback"]) == 0
    assert "rolled back" in capsys.readouterr().out


def test_a_pruning_failure_after_the_switch_warns_and_the_publish_stands(three_states, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise OSError("disk says no")

    monkeypatch.setattr(snapshots, "prune", broken)
    path = _publish()
    assert serving.current_path() == path
    assert f"published {path}; pruning failed: OSError: disk says no" in caplog.text


def test_rollback_refuses_a_path_outside_the_snapshots_folder(three_states, tmp_path, capsys):
    elsewhere = tmp_path / three_states[0].name
    elsewhere.write_bytes(three_states[0].read_bytes())
    assert main(["publish", "--rollback", str(elsewhere)]) == 2
    err = capsys.readouterr().err
    assert "not under the snapshots folder" in err and len(err.strip().splitlines()) == 1
    assert serving.current_path() == three_states[2]


def _answer(capsys) -> int:
    """The build k that `musim similar` answers from (the served snapshot's)."""
    capsys.readouterr()
    assert main(["similar", "Artist B", "--k", "1", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["build_k"]


def test_a_rollback_holds_publishes_write_beside_it_and_similar_answers_from_it(three_states, capsys, caplog):
    """The next publish after a rollback (the nightly DAG's, `musim similarity build`, a model's, `musim publish`)
    switched current straight back to the state the operator had rolled back from."""
    assert main(["publish", "--rollback", three_states[0].name]) == 0
    assert "pinned" in capsys.readouterr().out
    written = _publish(4)  # a new build, published as every publisher does
    assert written.exists() and written != three_states[0]
    assert serving.current_path() == three_states[0] and _answer(capsys) == 1
    said = [r.getMessage() for r in caplog.records if r.name == "musim.serving"]
    assert len(said) == 1 and said[0].startswith(f"wrote {written.name}, but current stays on "
                                                 f"{three_states[0].name}, pinned by a rollback since ")
    assert "`musim publish --release`" in said[0] and f"`musim publish --rollback {written.stem}`" in said[0]

    caplog.clear()
    assert main(["publish", "--force"]) == 0  # a plain publish while pinned: written, not served
    assert capsys.readouterr().out == ""
    assert "but current stays on " + three_states[0].name in caplog.text
    assert serving.current_path() == three_states[0] and _answer(capsys) == 1

    assert main(["publish", "--list", "--json"]) == 0
    listed = {s["snapshot"]: s for s in json.loads(capsys.readouterr().out)}
    pinned = listed[three_states[0].name]
    assert pinned["current"] and pinned["pinned"] and pinned["pin"]["replaced"] == three_states[2].name
    assert pinned["pin"]["by"] and pinned["pin"]["pinned_at"]
    assert [s["snapshot"] for s in listed.values() if s["pinned"]] == [three_states[0].name]
    assert main(["publish", "--list"]) == 0
    table = capsys.readouterr().out
    assert f"pinned to {three_states[0].name} by a rollback at " in table and "* pinned" in table

    assert main(["publish", "--rollback", three_states[1].name]) == 0  # moves the pin
    capsys.readouterr()
    pin = snapshots.read_pin()  # still in place of the one served before the first rollback
    assert pin.snapshot == three_states[1].name and pin.replaced == three_states[2].name
    _publish(5)
    assert serving.current_path() == three_states[1] and _answer(capsys) == 2


def test_release_serves_the_newest_and_publishes_are_served_again(three_states, capsys):
    assert main(["publish", "--rollback"]) == 0
    written = _publish(4)
    assert serving.current_path() == three_states[1]
    capsys.readouterr()
    assert main(["publish", "--release"]) == 0
    out = capsys.readouterr().out
    assert f"released the rollback pin of {three_states[1].name}; serving the newest snapshot {written.name}" in out
    assert serving.current_path() == written and _answer(capsys) == 4
    assert snapshots.read_pin() is None and not (snapshots.pin_path()).exists()
    newer = _publish(5)
    assert serving.current_path() == newer and _answer(capsys) == 5
    assert main(["publish", "--release", "--json"]) == 0  # nothing pinned: the newest stays current
    released = json.loads(capsys.readouterr().out)
    assert released["snapshot"] == newer.name and released["pin"] is None and not released["pinned"]


def test_the_pinned_snapshot_and_the_newest_written_beside_it_survive_pruning(three_states, capsys):
    assert main(["publish", "--rollback", three_states[0].name]) == 0  # the oldest state
    written = [_publish(k) for k in (4, 5, 6)]  # three newer distinct states: the pinned one is beyond the keep rule
    assert three_states[0].exists() and serving.current_path() == three_states[0]
    assert all(p.exists() for p in written) and not three_states[1].exists() and not three_states[2].exists()
    with snapshots.serving_lock():
        removed = snapshots.prune(keep=1)
    assert three_states[0].exists() and written[2].exists() and sorted(removed) == written[:2]
    assert main(["publish", "--release"]) == 0
    capsys.readouterr()
    assert serving.current_path() == written[2] and _answer(capsys) == 6


def test_a_damaged_pin_keeps_current_and_says_so_in_one_line(three_states, capsys, caplog):
    assert main(["publish", "--rollback", three_states[0].name]) == 0
    snapshots.pin_path().write_text("{not json")
    written = _publish(4)
    assert serving.current_path() == three_states[0]  # held all the same: the operator meant it
    said = [r.getMessage() for r in caplog.records if r.name == "musim.serving"]
    assert said == [f"wrote {written.name}, but current stays where it is: the rollback pin {snapshots.pin_path()} "
                    "is damaged (not the JSON a rollback writes); `musim publish --release` serves the newest "
                    "snapshot and removes the pin, `musim publish --rollback SNAPSHOT` pins one again"]
    capsys.readouterr()
    assert main(["publish", "--list"]) == 0
    listed = capsys.readouterr()
    assert len(listed.err.strip().splitlines()) == 1 and "is damaged (not the JSON a rollback writes)" in listed.err
    assert written.name in listed.out and "* pinned" in listed.out
    assert main(["publish", "--release"]) == 0
    assert f"removed the damaged rollback pin {snapshots.pin_path()}; serving the newest snapshot {written.name}" in \
        capsys.readouterr().out
    assert serving.current_path() == written and not snapshots.pin_path().exists()


def test_a_pin_whose_snapshot_is_gone_or_whose_file_is_removed_holds_nothing(three_states, capsys, caplog):
    assert main(["publish", "--rollback", three_states[1].name]) == 0
    three_states[1].unlink()  # deleted by hand: nothing is served
    written = _publish(4)
    assert serving.current_path() == written and snapshots.read_pin() is None
    assert f"published {written.name} and made it current: the rollback pin named {three_states[1].name}, which is " \
           "gone" in caplog.text
    assert main(["publish", "--rollback", three_states[0].name]) == 0
    snapshots.pin_path().unlink()  # removed by hand: released
    newer = _publish(5)
    assert serving.current_path() == newer


def test_rolling_back_again_keeps_what_the_first_rollback_replaced(three_states, capsys):
    """`--rollback S` twice named S in place of itself; the pin keeps the snapshot served before the first
    rollback, moved or not, and a rollback to that very snapshot (still pinned) names the one pinned until then."""
    for _ in range(2):
        assert main(["publish", "--rollback", three_states[0].name]) == 0
        pin = snapshots.read_pin()
        assert pin.snapshot == three_states[0].name and pin.replaced == three_states[2].name
    assert f"in place of {three_states[2].name})" in pin.describe()
    assert main(["publish", "--rollback", three_states[1].name]) == 0
    assert snapshots.read_pin().replaced == three_states[2].name
    assert main(["publish", "--rollback", three_states[2].name]) == 0
    pin = snapshots.read_pin()
    assert pin.snapshot == three_states[2].name and pin.replaced == three_states[1].name
    assert serving.current_path() == three_states[2]


def test_rollback_or_release_before_any_publish_says_nothing_is_published(musim_home, capsys):
    """`MUSIM_HOME=/tmp/empty musim publish --rollback` said only `musim: error: /tmp/empty/serving: No such file or
    directory`."""
    from musim.config import get_settings

    serving = get_settings().serving_dir
    assert not serving.exists()
    for argv in (["publish", "--rollback"], ["publish", "--rollback", "snapshot-x"], ["publish", "--release"]):
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert (out, err) == ("", f"musim: error: nothing has been published under {serving} yet, so there is nothing "
                                  "to roll back to or release: `musim similarity build` publishes a snapshot\n"), argv
    assert not serving.exists()


def test_a_pin_whose_snapshot_is_damaged_holds_nothing_and_a_publish_is_served(three_states, capsys, caplog):
    """A rollback pinned a snapshot later cut short: every query failed with "damaged: publish a new one with `musim
    publish`", and `musim publish` wrote a snapshot it left unserved, then failed (exit 2) with that same line."""
    assert main(["publish", "--rollback", three_states[0].name]) == 0
    three_states[0].chmod(0o644)
    three_states[0].write_bytes(b"not a database" * 100)  # damaged in place
    capsys.readouterr()
    assert main(["publish"]) == 0
    out, err = capsys.readouterr()
    written = serving.current_path()
    assert written not in three_states and out == f"published {written}\n" and err == ""
    assert snapshots.read_pin() is None
    assert f"published {written.name} and made it current: the rollback pin named {three_states[0].name}, which " \
           "cannot be read (" in caplog.text


def test_a_pinned_snapshot_held_read_write_elsewhere_still_holds(three_states, capsys, caplog):
    assert main(["publish", "--rollback", three_states[1].name]) == 0
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); sys.stdin.read()", str(three_states[1])],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        written = _publish(4)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert written.exists() and serving.current_path() == three_states[1]
    assert snapshots.read_pin().snapshot == three_states[1].name


def test_a_folder_at_the_pin_is_refused_before_current_moves(three_states, capsys):
    """`musim publish --release` with a folder at pin.json switched current to the newest snapshot, then failed with
    `musim: error: …/pin.json: Is a directory`, leaving the folder pin holding; a rollback switched current, then
    failed to write its pin, so the next publish moved current away again."""
    assert main(["publish", "--rollback", three_states[0].name]) == 0
    snapshots.pin_path().unlink()
    snapshots.pin_path().mkdir()  # a folder where the pin file should be
    capsys.readouterr()
    for argv in (["publish", "--release"], ["publish", "--rollback", three_states[1].name]):
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and err == (f"musim: error: the rollback pin {snapshots.pin_path()} is not a file (a "
                                     "folder?), so it can be neither written nor removed; nothing changed: remove "
                                     "it by hand, then run the command again\n"), argv
        assert serving.current_path() == three_states[0]  # nothing changed
    snapshots.pin_path().rmdir()
    assert main(["publish", "--release"]) == 0 and serving.current_path() == three_states[2]


def test_a_damaged_snapshot_never_pushes_a_servable_state_out(three_states, musim_home):
    """A snapshot cut short counted as a state of its own: the next publish of another state kept it (it can never
    be served) and removed the only snapshot of the oldest state, a rollback target."""
    three_states[1].chmod(0o644)
    three_states[1].write_bytes(b"not a database" * 100)  # damaged in place
    fourth = _publish(4)
    assert all(p.exists() for p in three_states)  # k = 1, 3, 4 kept; the damaged one is newer than the third state
    fifth = _publish(5)
    assert [p.exists() for p in three_states] == [False, False, True] and fourth.exists() and fifth.exists()
    assert main(["publish", "--rollback", three_states[2].name]) == 0


@pytest.mark.parametrize("argv", [["publish", "--list"], ["publish", "--list", "--json"]])
def test_a_home_under_a_file_is_named_not_called_a_damaged_pin(argv, tmp_path, monkeypatch, capsys):
    """`MUSIM_HOME=/tmp/f/sub` with /tmp/f a file: reading pin.json fails with NotADirectoryError, which was reported as
    a damaged rollback pin to be released (`--release`, which cannot help): the file in the way is named instead."""
    blocker = tmp_path / "f"
    blocker.write_text("a file\n")
    monkeypatch.setenv("MUSIM_HOME", str(blocker / "sub"))
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert f"{blocker} is a file, not a folder" in err and "MUSIM_HOME" in err
    assert "damaged" not in err and "--release" not in err


@pytest.mark.parametrize("argv", [["--list"], ["--release"], ["--rollback"], ["--list", "--json"]])
def test_force_is_refused_where_it_means_nothing(argv, three_states, capsys):
    """`musim publish --list --force` (--release, --rollback) ignored --force without a word (and rolled back): it
    only lets a publish pass a failed quality check. Refused in one line; nothing changed."""
    current = serving.current_path()
    assert main(["publish", *argv, "--force"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and f"{argv[0]} publishes nothing" in err, err
    assert "leave --force out" in err
    assert serving.current_path() == current == three_states[-1] and snapshots.read_pin() is None


def test_a_plain_current_file_of_the_older_layout_is_listed_with_what_to_do(tmp_path, musim_home, capsys):
    """`current.duckdb` as a plain file (the layout before the snapshots folder) is what `musim similar` answers
    from, yet `musim publish --list` said "no snapshot has been published yet"."""
    import shutil

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    served = _publish(2)
    current = musim_home / "serving" / "current.duckdb"
    current.unlink()
    current.write_bytes(served.read_bytes())  # the older layout: the snapshot itself, no snapshots folder
    shutil.rmtree(served.parent)
    assert _answer(capsys) == 2
    assert main(["publish", "--list"]) == 0
    out = capsys.readouterr().out
    assert "no snapshot has been published" not in out
    assert (f"{current} is a plain file, the older layout (before the snapshots folder): it is served as it is; "
            "`musim publish` moves it to the current layout") in out
    row = next(line for line in out.splitlines() if " built " in line)
    assert row.lstrip().startswith("* older layout") and "current.duckdb" in row
    assert main(["publish", "--list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["snapshot"], listed["current"], listed["older_layout"], listed["problem"]) == (
        "current.duckdb", True, True, None)
    assert [b["dump_id"] for b in listed["builds"]] and listed["path"] == str(current)
    # what it says to do moves it to the current layout: then the snapshot is listed, not the plain file
    assert main(["publish"]) == 0
    capsys.readouterr()
    assert current.is_symlink() and _answer(capsys) == 2
    assert main(["publish", "--list", "--json"]) == 0
    assert [s["older_layout"] for s in json.loads(capsys.readouterr().out)] == [False]
