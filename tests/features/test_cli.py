"""`musim features build|list|show` on the per-test MUSIM_HOME."""

from __future__ import annotations

import json

from musim import warehouse
from musim.audio import DESCRIPTOR_NAMES
from musim.cli import main
from musim.features import clear_cache, lookup
from musim.storage import open_store
from tests.features.helpers import Catalogue


def test_a_build_with_no_audio_stored_says_where_audio_comes_from(capsys):
    assert main(["features", "build", "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "no audio stored yet, so nothing to extract: add a music folder with `musim library add PATH`" in out
    assert "nothing new to extract" not in out


def test_a_build_of_one_view_materialises_the_views_derived_from_it_and_passes_its_gate(capsys):
    """`--view track_descriptors` on a new library left the artist means unmaterialised, so the training_sets gate
    found them missing for every track and the build failed; the views derived from a chosen view are built too."""
    con = warehouse.connect()
    cat = Catalogue(con, open_store())
    cat.add_clip("t1", 1, community=3)
    cat.add_clip("t2", 2, community=4)
    con.close()

    assert main(["features", "build", "--view", "track_descriptors", "--workers", "1", "--no-progress", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["views"] == ["track_descriptors:4", "artist_descriptors_mean:4"]
    assert set(out["quality"]["datasets"].values()) == {"passed"}
    clear_cache()
    assert lookup("artist_descriptors_mean", 2).shape == (len(DESCRIPTOR_NAMES),)
    with warehouse.connect() as con:  # the log-mel service, fed by no view of this build, was not judged
        (details,) = con.execute("SELECT details FROM quality_result WHERE dataset = 'training_sets'").fetchone()
    assert "not judged: siamese_log_mel, which read none of the views this build wrote" in details


def test_build_list_show(capsys):
    con = warehouse.connect()
    cat = Catalogue(con, open_store())
    cat.add_clip("t1", 1, community=9)
    cat.add("bad", 2, b"junk", fmt="mp3", duration_s=6.0)
    con.close()

    assert main(["features", "build", "--json", "--workers", "1", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["planned"] == 2 and out["computed"] == 3 and out["rejects_by_reason"] == {"not_audio": 3}
    assert len(out["published"]) == 2
    clear_cache()
    assert lookup("artist_descriptors_mean", 1).shape == (len(DESCRIPTOR_NAMES),)

    assert main(["features", "build", "--workers", "1"]) == 0
    assert "nothing new to extract" in capsys.readouterr().out

    assert main(["features", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    views = {v["name"]: v for v in listed["views"]}
    assert views["track_log_mel"]["entities"] == 1 and views["artist_descriptors_mean"]["entities"] == 1
    assert {s["name"] for s in listed["services"]} == {"descriptor_baseline", "siamese_log_mel"}

    assert main(["features", "list"]) == 0
    assert "track_slices" in capsys.readouterr().out

    assert main(["features", "show", "track_log_mel", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["rejects"] == {"not_audio": 1} and shown["lineage"]["preview_count"] == 2
    assert shown["schema"][0]["shape"] == [256, 64]

    assert main(["features", "show", "descriptor_baseline"]) == 0
    assert "track_descriptors" in capsys.readouterr().out
    assert main(["features", "show", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no feature view or service 'nope'; views: " in err and "track_log_mel" in err
    assert "services: " in err and "descriptor_baseline" in err
    assert main(["features", "show", "track_log_mel:abc"]) == 2
    assert "track_log_mel:abc: a feature view's version is a whole number from 1, e.g. track_log_mel:1" in capsys.readouterr().err
    assert main(["features", "show", "track_log_mel:\u00b2"]) == 2  # "²".isdigit(), and int() refused it: a traceback
    assert "a feature view's version is a whole number from 1" in capsys.readouterr().err
    assert main(["features", "show", "track_log_mel:4", "--version", "3"]) == 2  # it said "no view 'track_log_mel:4:3'"
    assert "track_log_mel:4 names version 4 and --version 3 another: give one" in capsys.readouterr().err


def _online_files() -> dict[str, bytes]:
    """Every file of the online snapshots folder (snapshots and their pointers), by path."""
    from musim.config import get_settings

    root = get_settings().serving_dir / "online"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_failing_features_gate_stops_the_publish(capsys):
    """`musim features build` published with no gate, where the audio_features DAG gates: record -> gate -> publish."""
    con = warehouse.connect()
    cat = Catalogue(con, open_store())
    cat.add_clip("t1", 1, community=9)
    con.close()
    assert main(["features", "build", "--view", "track_log_mel", "--view", "artist_descriptors_mean",
                 "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "quality gate passed (features passed, training_sets" in out and "published " in out
    before = _online_files()
    assert before

    con = warehouse.connect()
    con.execute("UPDATE track_mel SET shape = [9, 4] WHERE track_id = 't1'")  # one image size per parameter set: no
    Catalogue(con, open_store()).add_clip("t2", 2, community=3)
    con.close()
    assert main(["features", "build", "--view", "track_log_mel", "--view", "artist_descriptors_mean",
                 "--workers", "1", "--no-progress"]) == 2
    captured = capsys.readouterr()
    first, *report = captured.err.splitlines()
    # the line names the failed expectation and its count, not only the dataset
    assert first.startswith("musim: error: the features quality gate failed (features (") and "; quality run q" in first
    assert "one image size per parameter set" in first
    assert "no online snapshot was published and the previous ones keep serving" in first
    assert "--skip-quality" in first and "Traceback" not in captured.err
    assert any("one image size per parameter set" in line for line in report)
    assert _online_files() == before  # nothing new published: the previous snapshots keep serving
    assert main(["features", "build", "--view", "track_log_mel", "--view", "artist_descriptors_mean",
                 "--workers", "1", "--no-progress", "--json"]) == 2  # --json: the same failure, nothing on stdout
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("musim: error: the features quality gate failed")
    con = warehouse.connect()
    try:  # the build itself is recorded: t2's rows are there for the next (fixed) build to publish
        assert con.execute("SELECT count(*) FROM track_mel WHERE track_id = 't2'").fetchone()[0] == 1
    finally:
        con.close()

    assert main(["features", "build", "--view", "track_log_mel", "--view", "artist_descriptors_mean",
                 "--workers", "1", "--no-progress", "--skip-quality", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quality"] is None and out["published"]
    assert _online_files() != before


def test_build_counts_rejected_tracks_not_rows(capsys):
    # One unusable file rejected by two extractors is one track rejected (as `features show` counts it): the summary
    # says so beside the rows, instead of a bare "2" that reads as two files.
    con = warehouse.connect()
    cat = Catalogue(con, open_store())
    cat.add("junk", 1, b"this is text, not audio", fmt="mp3", duration_s=6.0)
    cat.add("nothing", 2, b"", fmt="wav", duration_s=6.0)
    con.close()
    assert main(["features", "build", "--view", "track_log_mel", "--view", "track_slices", "--workers", "1",
                 "--no-progress", "--no-publish"]) == 0
    out = capsys.readouterr().out
    assert "4 rejections (2 tracks)" in out
    assert "rejected (not_audio): 2 feature rows of 1 track\n" in out and "rejected (empty): 2 feature rows of 1 track\n" in out
    assert main(["features", "show", "track_log_mel"]) == 0
    shown = capsys.readouterr().out
    assert "rejected (not_audio): 1\n" in shown and "rejected (empty): 1\n" in shown


RECOMPUTE = ["features", "build", "--view", "track_descriptors", "--view", "track_log_mel", "--workers", "1",
             "--no-progress", "--no-publish", "--skip-quality"]


def test_a_recompute_counts_rows_computed_anew_unchanged_and_tracks_skipped(capsys):
    """`--recompute` reported every row it found again as computed (and stamped it with its build): a recompute of
    two tracks one of which had a bad tempo said "4 feature rows" computed where one value changed, and its
    registry row (`features list --builds`) said 4 computed. Now: 1 computed anew, 3 unchanged (kept as they were,
    their build included); a track whose preview is gone is said skipped, not silently counted in nothing."""
    con = warehouse.connect()
    cat = Catalogue(con, open_store())
    cat.add_clip("t1", 1, community=2)
    cat.add_clip("t2", 2, community=3)
    gone = cat.add_clip("t3", 3, community=4)
    con.close()
    assert main([*RECOMPUTE, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["computed"] == 6

    con = warehouse.connect()
    con.execute("UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = 2 THEN 999.0 "
                "ELSE x END) WHERE track_id = 't1'")  # a bad tempo, as a failed features gate names it
    con.close()
    assert main([*RECOMPUTE, "--json", "--recompute", "t1", "t2"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["planned"], again["computed"], again["reused"], again["rejected"]) == (2, 1, 0, 0)
    assert (again["unchanged"], again["skipped"]) == (3, 0)
    con = warehouse.connect()
    try:
        writers = dict(con.execute("SELECT kind || ':' || track_id, run_id FROM track_mel UNION ALL "
                                   "SELECT 'descriptors:' || track_id, run_id FROM track_descriptors").fetchall())
    finally:
        con.close()
    assert writers == {"log_mel:t1": first["run_id"], "log_mel:t2": first["run_id"], "log_mel:t3": first["run_id"],
                       "descriptors:t1": again["run_id"], "descriptors:t2": first["run_id"],
                       "descriptors:t3": first["run_id"]}

    open_store().delete(gone)
    assert main([*RECOMPUTE, "--recompute", "t2", "t3"]) == 0
    out = capsys.readouterr().out
    assert "2 previews computed (0 feature rows anew, 2 unchanged, 0 reused from identical audio), 0 rejections" in out
    assert ("  skipped: 1 track not computed again (preview missing from the object store; their rows stay as they "
            "were: restore the object or `musim library add` a library track's file again, then rebuild)") in out

    assert main(["features", "list", "--json", "--builds", "3"]) == 0
    builds = json.loads(capsys.readouterr().out)["builds"]
    assert [(b["run_id"], b["items_planned"], b["computed"], b["reused"], b["rejected"]) for b in builds][1:] == [
        (again["run_id"], 2, 1, 0, 0), (first["run_id"], 3, 6, 0, 0)]
    assert (builds[0]["items_planned"], builds[0]["computed"], builds[0]["rejected"]) == (2, 0, 0)


def _build_rows() -> dict[str, tuple]:
    con = warehouse.connect()
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT run_id, computed, unchanged, reused, rejected, skipped FROM feature_build").fetchall()}
    finally:
        con.close()


def test_a_recompute_s_registry_row_holds_the_numbers_its_summary_printed(capsys):
    """The build's registry row kept computed, reused and rejected but not the rows a recompute found unchanged nor
    the tracks it skipped: `features list --builds` could not say what the summary had said. Now the row holds all
    five, as printed (text and --json), and the builds' listing shows them."""
    con = warehouse.connect()
    cat = Catalogue(con, open_store())
    cat.add_clip("t1", 1, community=2)
    cat.add_clip("t2", 2, community=3)
    gone = cat.add_clip("t3", 3, community=4)
    cat.add("junk", 4, b"this is text, not audio", fmt="mp3", duration_s=6.0)
    con.close()
    assert main([*RECOMPUTE, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    con = warehouse.connect()
    con.execute("UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = 2 THEN 999.0 "
                "ELSE x END) WHERE track_id = 't1'")
    con.close()
    open_store().delete(gone)
    assert main([*RECOMPUTE, "--json", "--recompute", "t1", "t2", "t3"]) == 0
    again = json.loads(capsys.readouterr().out)
    printed = (again["computed"], again["unchanged"], again["reused"], again["rejected"], again["skipped"])
    assert printed == (1, 3, 0, 0, 1)
    rows = _build_rows()
    assert rows[again["run_id"]] == printed
    assert rows[first["run_id"]] == (first["computed"], 0, first["reused"], first["rejected"], 0) == (6, 0, 0, 2, 0)

    con = warehouse.connect()
    con.execute("UPDATE track_descriptors SET vec = list_transform(vec, lambda x, i: CASE WHEN i = 2 THEN 999.0 "
                "ELSE x END) WHERE track_id = 't2'")
    con.close()
    assert main([*RECOMPUTE, "--recompute", "t2", "t3"]) == 0
    out = capsys.readouterr().out
    assert "2 previews computed (1 feature row anew, 1 unchanged, 0 reused from identical audio), 0 rejections" in out
    assert "  skipped: 1 track not computed again" in out
    third = out.split("run ", 1)[1].split(":", 1)[0]
    assert _build_rows()[third] == (1, 1, 0, 0, 1)

    assert main(["features", "list", "--json", "--builds", "3"]) == 0
    listed = {b["run_id"]: (b["computed"], b["unchanged"], b["reused"], b["rejected"], b["skipped"])
              for b in json.loads(capsys.readouterr().out)["builds"]}
    assert listed == {first["run_id"]: (6, 0, 0, 2, 0), again["run_id"]: printed, third: (1, 1, 0, 0, 1)}
    assert main(["--width", "0", "features", "list", "--builds", "3"]) == 0
    shown = [(r["run"], r["planned"], r["computed"], r["unchanged"], r["reused"], r["rejected"], r["skipped"])
             for r in _builds_table(capsys.readouterr().out)]
    assert shown == [(third, "2", "1", "1", "0", "0", "1"), (again["run_id"], "3", "1", "3", "0", "0", "1"),
                     (first["run_id"], "4", "6", "0", "0", "2", "0")]


def test_builds_closed_before_the_counts_were_kept_show_them_blank_not_zero(capsys, monkeypatch):
    """Migration 035 adds unchanged and skipped to the builds' rows: a build closed before it keeps NULL (a recompute
    then may have had some: 0 would claim what no one counted), listed blank, while its other counts stay."""
    import musim.warehouse as wh

    every = wh.available_migrations()
    monkeypatch.setattr(wh, "available_migrations", lambda: [m for m in every if m[0] < 35])
    con = wh.connect()
    con.execute("INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, reused, computed, "
                "rejected, preview_set, started_at, finished_at, heartbeat_at) VALUES ('old', 'done', '[]', 3, 2, 1, "
                "4, 1, 'p', now(), now(), now())")
    con.close()
    monkeypatch.setattr(wh, "available_migrations", lambda: every)
    assert main(["features", "list", "--json", "--builds", "1"]) == 0
    (old,) = json.loads(capsys.readouterr().out)["builds"]
    assert (old["computed"], old["reused"], old["rejected"], old["unchanged"], old["skipped"]) == (4, 1, 1, None, None)
    assert main(["--width", "0", "features", "list", "--builds", "1"]) == 0
    (row,) = _builds_table(capsys.readouterr().out)
    assert {k: row[k] for k in ("computed", "unchanged", "reused", "rejected", "skipped")} == {
        "computed": "4", "unchanged": "", "reused": "1", "rejected": "1", "skipped": ""}


def _builds_table(out: str) -> list[dict[str, str]]:
    """The rows of the builds table ``features list --builds`` prints, each cell by its header (cut where the dashes
    under the headers say)."""
    import re

    header, dashes, *lines = out.split("feature builds (newest first)\n", 1)[1].splitlines()
    spans = [m.span() for m in re.finditer(r"-+", dashes)]
    names = [header[a:b].strip() for a, b in spans]
    rows = []
    for line in lines:
        if not line.strip() or line.startswith(("the newest", "interrupted")):
            break
        rows.append({n: line.ljust(spans[-1][1])[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)})
    return rows


def test_show_escapes_the_control_characters_of_a_registered_description_and_model_version(capsys):
    """`features show` printed a view's or service's description and model version raw (`features list`'s table
    escaped them): an ESC a model's code registered drove the terminal."""
    from musim.features import TRACK, FeatureService, embedding_view, register_service

    view = embedding_view("esc_emb", 1, entity=TRACK, dim=3, model_version="m\x1b[2J",
                          description="d \x1b[31mred\rover\u202e")
    with warehouse.writer() as con:
        register_service(con, FeatureService("esc-svc", (view,), description="s \x1b]0;title\x07",
                                             model_version="m\x1b[2J"))
    assert main(["features", "show", "esc_emb"]) == 0
    out = capsys.readouterr().out
    assert "d \\x1b[31mred\\rover\\u202e" in out and "model version: m\\x1b[2J" in out
    assert main(["features", "show", "esc-svc"]) == 0
    out = capsys.readouterr().out
    assert "service esc-svc: s \\x1b]0;title\\x07" in out and "model version: m\\x1b[2J;" in out
    assert main(["features", "show", "esc_emb", "--json"]) == 0  # --json keeps the text exact
    assert json.loads(capsys.readouterr().out)["description"] == "d \x1b[31mred\rover\u202e"
