"""``make demo-real`` (``python -m musim.demo --real``): its pieces on a tiny generated corpus. The whole path
through Airflow takes minutes even on a few files (three DAG runs and training), so it is run by hand
(README: make demo-real); here: the missing corpus, the dispatch, the library summary and the query choice."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from musim import demo, demo_real
from tests.library.conftest import write_audio

ARTISTS = [("Ann Composer", "pkg-a", 3), ("Bob Writer", "pkg-a", 2), ("Cy Maker", "pkg-b", 2)]


def make_corpus(root: Path) -> Path:
    """``root/corpus/<artist>/*.wav`` and ``root/manifest.csv``, as make_corpus.sh lays them out."""
    rows = []
    for a, (artist, package, n) in enumerate(ARTISTS):
        for t in range(n):
            rel = Path("corpus") / artist / f"track {t}.wav"
            write_audio(root / rel, "wav", seconds=6, freq=200 + 150 * a + 10 * t, seed=10 * a + t)
            rows.append({"path": str(rel), "artist": artist, "title": f"track {t}", "source_package": package,
                         "licence": "CC0-1.0"})
    with open(root / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_without_a_corpus_one_line_says_how_to_make_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSIM_REAL_MUSIC", str(tmp_path / "nowhere\x1b[2J"))
    assert demo.main(["--real", "--home", str(tmp_path / "home")]) == 2  # through `python -m musim.demo --real`
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert f"musim demo --real: error: no real-music corpus at {tmp_path}/nowhere\\x1b[2J " in err  # escaped
    assert "benchmarks/real_music/make_corpus.sh" in err
    assert not (tmp_path / "home").exists()  # nothing started


def test_corpus_location_and_families_are_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("MUSIM_REAL_MUSIC", raising=False)
    assert demo_real.corpus_dir() == demo_real.DEFAULT_CORPUS
    monkeypatch.setenv("MUSIM_REAL_MUSIC", str(tmp_path))
    assert demo_real.corpus_dir() == tmp_path
    make_corpus(tmp_path)
    with pytest.raises(SystemExit):
        demo_real.main(["--families", "siamese", "--home", str(tmp_path / "home")])  # needs listening data


def test_examples_are_of_different_composers_and_packages(tmp_path):
    make_corpus(tmp_path)
    picked = demo_real.pick_examples(tmp_path / "manifest.csv", 3)
    assert [(p.relative_to(tmp_path).as_posix(), a) for p, a in picked] == [
        ("corpus/Ann Composer/track 0.wav", "Ann Composer"), ("corpus/Cy Maker/track 0.wav", "Cy Maker")]
    assert demo_real.pick_examples(tmp_path / "manifest.csv", 1)[0][1] == "Ann Composer"


def test_the_library_summary_names_tracks_artists_rules_and_skips(tmp_path, capsys):
    from musim.library import add

    make_corpus(tmp_path)
    (tmp_path / "corpus" / "Cy Maker" / "notes.txt").write_text("not music")
    add([tmp_path / "corpus"])
    owners = demo_real.print_library(12.3, tmp_path / "corpus")
    out = capsys.readouterr().out
    assert "ran in 12 s" in out and "7 library tracks of 3 artists" in out and "folder 7" in out
    assert "skipped: not_audio 1" in out
    path = str((tmp_path / "corpus" / "Bob Writer" / "track 1.wav").resolve())
    assert owners[path][0] == "Bob Writer" and len(owners) == 7


def test_owners_are_found_by_the_resolved_path_the_manifest_gives(tmp_path):
    target = write_audio(tmp_path / "pkgs" / "Art.ogg", "ogg", seconds=6)
    link = tmp_path / "corpus" / "Composer" / "pkg__Art.ogg"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    owners = demo_real.owners_of([{"source_path": str(link), "artist": "Composer", "track_id": "t1"}])
    assert owners == {str(target.resolve()): ("Composer", "t1")}


def test_baselines_include_libmusly_only_when_importable(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "pymusly" else real(name))
    assert demo_real.baseline_names() == ("random", "mfcc", "descriptors")


def test_report_only_needs_a_trained_version_of_each_family(tmp_path, monkeypatch, capsys):
    from musim.errors import NotFoundError

    make_corpus(tmp_path)
    monkeypatch.setenv("MUSIM_REAL_MUSIC", str(tmp_path))
    with pytest.raises(NotFoundError, match="no trained version of contrastive, autoencoder, descriptors"):
        demo_real.main(["--report-only", "--home", str(tmp_path / "home")])


def test_the_closing_hint_names_a_version_not_a_family_champion(tmp_path):
    """No family need have a champion after the real demo (none beats the descriptor baseline there), so the
    audio commands it suggests name a served version; `--family F` would fail with 'no champion yet'."""
    line = demo_real.try_line(tmp_path, ["contrastive-1", "autoencoder-1", "descriptors-1"])
    assert f"MUSIM_HOME={tmp_path}" in line and "--family" not in line
    assert "similar-audio FILE --model contrastive-1" in line and "--out embeddings.npz --model contrastive-1" in line
    assert "--model VERSION" in demo_real.try_line(tmp_path, [])


def test_the_conf_it_triggers_train_embeddings_with_has_only_the_dags_params(monkeypatch, tmp_path):
    """The demo passed `"descriptors": {}`, which the DAG has no param for: since a conf key that is none of the
    DAG's params fails the run (a typo was ignored in silence), make demo-real stopped at its training step."""
    import json
    import subprocess
    import sys

    from musim import embedded
    from musim.models.families import DEMO_PARAMS

    sent = {}

    class Sent(Exception):
        """The conf was sent: the DAG run itself is not wanted here."""

    def run_dag(dag_id, env, log, conf):
        sent[dag_id] = conf
        raise Sent

    monkeypatch.setattr(embedded, "run_dag", run_dag)
    for params in (demo_real.QUICK_PARAMS, {f: DEMO_PARAMS[f] for f in demo_real.FAMILIES}):
        with pytest.raises(Sent):
            demo_real.train_families({}, tmp_path / "log", list(demo_real.FAMILIES), params)
        child = ("import json, sys; sys.path.insert(0, 'dags'); import train_embeddings; "
                 "print(json.dumps(sorted(train_embeddings.train_embeddings().params)))")
        repo = Path(__file__).resolve().parents[1]
        known = json.loads(subprocess.run([sys.executable, "-c", child], cwd=repo, capture_output=True, text=True,
                                          check=True).stdout.splitlines()[-1])
        assert set(sent["train_embeddings"]) <= set(known)


@pytest.mark.parametrize(("argv", "says"), [
    (["--families", "siamese,bogus"], "--families: bogus, siamese need listening data or are unknown; use "),
    (["--examples", "many"], "argument --examples: expected a whole number, got 'many'"),
    (["--examples", "-1"], "argument --examples: must be between 0 and 1,000,000,000, got -1"),  # showed every composer
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_a_usage_error_is_one_line_without_the_usage_block(tmp_path, monkeypatch, capsys, argv, says):
    """A wrong option printed argparse's usage block before its error line: one line now, as `musim`'s, naming
    what is wrong and where the help is."""
    monkeypatch.setenv("MUSIM_REAL_MUSIC", str(tmp_path))
    (tmp_path / "manifest.csv").write_text("path,artist,title,source_package,licence\n")
    with pytest.raises(SystemExit) as stop:
        demo_real.main([*argv, "--home", str(tmp_path / "home")])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"python -m musim.demo --real: error: {says}") and "usage:" not in err
    assert err.rstrip().endswith("see `python -m musim.demo --real --help`")
    assert not (tmp_path / "home").exists()  # nothing started


def test_the_examples_show_a_hostile_name_and_an_error_escaped_and_redacted(tmp_path, monkeypatch, capsys):
    """Step 5 printed the corpus's names and a query's error as they were: a composer or title holding an escape
    sequence rewrote the terminal, and an error quoting a URL showed its password. Escaped and redacted now."""
    from types import SimpleNamespace

    from musim.errors import NotFoundError
    from musim.models import new_audio

    def similar_audio(paths, *, k, version):
        if version == "bad":
            raise NotFoundError("no model at s3://key:hunter2@bucket/\x1b[2J")
        track = SimpleNamespace(track_id="t", title="Title\x1b[31m", artist="Com\u202eposer")
        return SimpleNamespace(version=version, tracks=[track])

    monkeypatch.setattr(new_audio, "similar_audio", similar_audio)
    demo_real.print_examples([(tmp_path / "q\x1b[2J.wav", "Com\u202eposer")], {}, ["bad", "good"])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "hunter2" not in out, out
    assert "q\\x1b[2J.wav by Com\\u202eposer:" in out and "bad: no model at s3://key:***@bucket/\\x1b[2J" in out
    assert "Title\\x1b[31m (Com\\u202eposer)" in out
