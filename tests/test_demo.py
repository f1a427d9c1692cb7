"""`python -m musim.demo`: what its help says of the steps it skips."""

from __future__ import annotations

import pytest

from musim.demo import main


def test_no_families_names_every_family_of_step_8(capsys):
    """`--no-families` said it skipped "the classifier and autoencoder families"; step 8 trains contrastive too."""
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert stop.value.code == 0
    skipped = text.split("--no-families", 1)[1]
    assert all(family in skipped for family in ("classifier", "autoencoder", "contrastive")), skipped


def test_the_demo_dump_lands_without_its_answer_file(musim_home, caplog):
    """`make demo`'s first ingest warned "landing: .../demo-42/synth-truth.json is not ingested, its name is no dump
    file's": the synthetic answer file was written into the landing folder."""
    import json
    import logging
    import shutil
    from pathlib import Path

    from musim.config import get_settings
    from musim.demo import demo_dump
    from musim.ingest.landing import new_dumps
    from musim.synth.lastfm import TRUTH_FILE

    settings = get_settings()
    settings.ensure_dirs()
    truth = demo_dump(settings, users=40, artists=12, communities=3, seed=7)
    landing = Path(settings.ingest.landing)
    assert not truth.is_relative_to(landing) and len(json.loads(truth.read_text())["artists"]) == 12
    assert sorted(p.name for p in (landing / "demo-7").iterdir()) == ["usersha1-artmbid-artname-plays.tsv",
                                                                     "usersha1-profile.tsv"]
    with caplog.at_level(logging.WARNING, logger="musim.ingest.landing"):
        (ready,) = new_dumps(settle_s=0)
    assert [r.getMessage() for r in caplog.records if r.name == "musim.ingest.landing"] == []
    assert ready.profiles is not None

    shutil.move(truth, landing / "demo-7" / TRUTH_FILE)  # a home of an older demo: its answer file moves out
    assert demo_dump(settings, users=40, artists=12, communities=3, seed=7) == truth and truth.exists()
    assert not (landing / "demo-7" / TRUTH_FILE).exists()


def test_a_demo_killed_before_its_dump_landed_writes_it_again(musim_home, capsys):
    """A demo killed after the dump was generated (its answer file written) but before its files were moved into
    the landing folder said "the demo dump is already in the landing folder" on the next run, with none there: the
    ingest found nothing and the demo failed further on."""
    from pathlib import Path

    from musim.config import get_settings
    from musim.demo import demo_dump
    from musim.synth.lastfm import PLAYS_FILE, PROFILE_FILE

    settings = get_settings()
    settings.ensure_dirs()
    truth = demo_dump(settings, users=40, artists=12, communities=3, seed=7)
    folder = Path(settings.ingest.landing) / "demo-7"
    whole = {n: (folder / n).read_bytes() for n in (PLAYS_FILE, PROFILE_FILE)}
    for kept in ([], [PROFILE_FILE]):  # killed before either file moved, or between the two
        for n in (PLAYS_FILE, PROFILE_FILE):
            if n not in kept:
                (folder / n).unlink()
        capsys.readouterr()
        assert demo_dump(settings, users=40, artists=12, communities=3, seed=7) == truth
        assert "1. generated a Last.FM dump" in capsys.readouterr().out
        assert {n: (folder / n).read_bytes() for n in whole} == whole
        assert sorted(p.name for p in folder.iterdir()) == sorted(whole)  # nothing hidden left behind
    demo_dump(settings, users=40, artists=12, communities=3, seed=7)  # landed whole: kept as it is
    assert "already in the landing folder" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--users", "0"], ["--users", "-5"], ["--artists", "1"], ["--communities", "0"],
                                  ["--seed", "-1"], ["--audio-artists", "0"], ["--clip-seconds", "0"],
                                  ["--clip-seconds", "4.9"], ["--clip-seconds", "nan"], ["--train-epochs", "0"], ["--test-share", "1"],
                                  ["--test-share", "-0.2"]])
def test_bad_sizes_are_usage_errors_before_any_work(args, musim_home, monkeypatch, capsys):
    """`--users 0` failed after the demo had set up its home, with exit code 1; `--test-share 5`, `--clip-seconds 0`
    or `--train-epochs 0` ran the dump, the ingest and the similarity DAGs first and failed minutes later, deep in a
    DAG; `--clip-seconds 4` ran the whole demo on tracks the local provider rejects as too short (under 5 s): no
    previews, no features. Now each is one usage line (exit 2) before anything is written."""
    import musim.demo as demo

    def ran(*_a, **_k):
        raise AssertionError("the demo started its work")

    monkeypatch.setattr(demo, "demo_dump", ran)
    monkeypatch.setattr(demo, "prepare_airflow", ran)
    with pytest.raises(SystemExit) as stop:
        main(args)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1 and args[0] in err, err


def test_the_demo_music_folder_is_made_again_for_other_artists_or_clip_lengths(musim_home, monkeypatch, capsys):
    """The folder's marker said only that it was complete: a demo run again with another --clip-seconds (or
    --audio-artists) acquired the first run's tracks, saying "the demo music folder is already there"."""
    import json

    import musim.acquire.pipeline as pipeline
    import musim.demo as demo
    from musim.config import get_settings
    from musim.library.formats import probe

    settings = get_settings()
    settings.ensure_dirs()
    truth = demo.demo_dump(settings, users=40, artists=12, communities=3, seed=7)
    names = [a["name"] for a in json.loads(truth.read_text())["artists"]]
    monkeypatch.setattr(pipeline, "catalogue", lambda n, settings: [{"name": x} for x in names[:n]])
    monkeypatch.setattr(pipeline, "status_counts", lambda settings: {"artists": {}, "tracks": 0,
                                                                    "artists_with_tracks": 0})
    dags = []
    monkeypatch.setattr(demo, "run_dag", lambda dag, env, log, conf: dags.append(conf) or 1.0)

    def run(artists, clip_s):
        capsys.readouterr()
        demo.acquire_demo_audio(truth, {}, settings.home / "x.log", settings, artists=artists, clip_s=clip_s, seed=7)
        music = settings.home / "music" / "demo-7"
        tracks = sorted(music.rglob("*.mp3"))
        return capsys.readouterr().out, {p.parent.name for p in tracks}, {round(probe(p).duration_s) for p in tracks}

    out, artists, lengths = run(2, 5.0)
    assert "synthesized 6 tagged mp3 tracks" in out and len(artists) == 2 and lengths == {5}
    out, *_ = run(2, 5.0)
    assert "already there" in out
    out, artists, lengths = run(2, 6.0)
    assert "synthesized 6" in out and len(artists) == 2 and lengths == {6}
    out, artists, lengths = run(3, 6.0)
    assert "synthesized 9" in out and len(artists) == 3 and lengths == {6}
    assert all(conf["local_path"] == str(settings.home / "music" / "demo-7") for conf in dags)
    # new tracks are acquired again for the artists whose earlier tracks were rejected (given up)
    assert [conf["retry"] for conf in dags] == [True, False, True, True]
