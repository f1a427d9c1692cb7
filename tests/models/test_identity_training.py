"""`musim models train` and `models evaluate` on a library without listening data (judged by artist identity): what
they print, and the model versions they leave behind."""

from __future__ import annotations

import json

import pytest

from musim import warehouse
from musim.cli import main
from musim.errors import ParameterError
from musim.storage import open_store
from tests.models.catalogue import make_catalogue
from tests.models.conftest import labelled_clips


def _library_without_listening_data(toy) -> None:
    with warehouse.writer() as con:
        make_catalogue(con, open_store(), toy)
        con.execute("DELETE FROM similarity_build")


def test_an_unpublished_descriptors_version_is_evaluated_on_labelled_files(toy, tmp_path, capsys, monkeypatch):
    """`models evaluate --labels CSV --model descriptors-1` (trained, not published) failed with
    `AttributeError: 'DescriptorParams' object has no attribute 'frames'`: a vector of descriptors was checked
    against the log-mel's shape."""
    from musim.audio import batch

    # the files are featurised in this process: a test worker that trained with TensorFlow before aborts on fork
    monkeypatch.setattr(batch, "default_workers", lambda: 1)
    _library_without_listening_data(toy)
    assert main(["models", "train", "--family", "descriptors", "--no-publish"]) == 0
    # clips of 6 s: a model embeds no audio shorter than a feature build computes (musim.audio.formats.MIN_DURATION_S)
    rows = labelled_clips(tmp_path, duration=6.0, artists=3, per_artist=2, group=None)
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert main(["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--model", "descriptors-1",
                 "--baselines", "random", "--n-boot", "100", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["tracks"] == 6 and doc["artists"] == 3
    names = [r["name"] for r in doc["reports"]]
    assert any("descriptors-1" in n for n in names) and "baseline: random" in names, names
    model = next(r for r in doc["reports"] if "descriptors-1" in r["name"])
    assert model["summary"]["auc"]["n"] == 6


def test_a_descriptors_version_reads_the_descriptors_baseline_s_rows_and_scores_as_it_embeds(toy, tmp_path,
                                                                                             monkeypatch):
    """`models evaluate --labels` computed every file's descriptors twice beside the descriptors baseline (once for
    the baseline, once for a descriptors-family model: about half the command's time on real music). The model now
    embeds the baseline's rows: no second featurising pass, and the same report as the files embedded on their own
    (`musim embed`'s path)."""
    from musim.audio import batch
    from musim.models import audio_files
    from musim.models.label_eval import evaluate_labels, retrieval_report
    from musim.models.labels import read_labels
    from musim.models.new_audio import embed_files

    monkeypatch.setattr(batch, "default_workers", lambda: 1)
    _library_without_listening_data(toy)
    assert main(["models", "train", "--family", "descriptors", "--no-publish"]) == 0
    rows = labelled_clips(tmp_path, duration=6.0, artists=3, per_artist=2)
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    labels = read_labels(tmp_path / "labels.csv", group_by="source")
    alone = embed_files([str(p) for p in labels.paths], version="descriptors-1")
    assert alone[0] == [str(p) for p in labels.paths]
    want = retrieval_report("descriptors-1", labels.artists, labels.groups, vectors=alone[1], n_boot=100, seed=0)

    passes = []
    featurise = audio_files.featurise_files
    monkeypatch.setattr("musim.models.new_audio.featurise_files",
                        lambda files, params, **kw: passes.append(params) or featurise(files, params, **kw))
    for baseline_names, featurised in ((["descriptors"], 0), (["random"], 1)):
        result = evaluate_labels(labels, versions=["descriptors-1"], baseline_names=baseline_names, n_boot=100)
        assert len(passes) == featurised
        got = next(r for r in result.reports if r.name == "descriptors-1")
        assert got.to_json() == want.to_json()
        passes.clear()


def test_train_compares_the_model_with_every_baseline_as_its_card_does(toy, capsys):
    """`models train` printed "beats 6/6" (against random and pixel only) while refusing the promotion because the
    descriptors baseline was at least as good, and its CIs came from another bootstrap than the card's."""
    import re

    from musim.models import registry

    _library_without_listening_data(toy)
    assert main(["models", "train", "--family", "descriptors", "--no-publish"]) == 0
    out = capsys.readouterr().out
    with warehouse.writer() as con:
        entry = registry.get_model(con, "descriptors-1")
    card = open_store().get_bytes(entry.key("card.md")).decode()
    line = next(x for x in out.splitlines() if x.startswith("paired differences"))
    shown = re.findall(r"(\w+) vs ([\w-]+): ([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]", line)
    others = sorted(s for s in entry.metrics if s != "model")
    assert sorted(b for _, b, *_ in shown) == others and "descriptors" in others, line
    for metric, b, diff, lo, hi in shown:  # the card's row, to its 3 decimals
        row = f"| {b} | {metric} | {float(diff):.3f} | [{float(lo):.3f}, {float(hi):.3f}] |"
        assert row in card, (row, card)
    beaten = sum(float(lo) > 0 for *_, lo, _hi in shown)
    assert line.endswith(f"beats {beaten}/{len(shown)}")
    if "a baseline is at least as good" in out:  # the baseline that blocked it is shown, not beaten
        assert beaten < len(shown), out


def test_a_library_where_no_artist_has_two_tracks_is_refused_before_training(toy, capsys, monkeypatch):
    """Without listening data a version is judged by how a track finds its artist's other tracks: on a library of one
    track per artist, `models train --family contrastive` trained the whole model and then failed with `no artist has
    two tracks: nothing to evaluate by artist identity` (and so did the train_embeddings DAG's, every week)."""
    import pytest

    from musim.errors import NotEnoughData
    from musim.models.families import evaluation, record, staged

    _library_without_listening_data(toy)
    with warehouse.writer() as con:  # one track per artist
        con.execute("DELETE FROM track WHERE track_id NOT IN (SELECT min(track_id) FROM track GROUP BY artist_id)")

    def trained(*args, **kwargs):
        raise AssertionError("trained although the version could not be evaluated")

    monkeypatch.setattr(record, "train_evaluate", trained)
    monkeypatch.setattr(evaluation, "train_evaluate", trained)
    assert main(["models", "train", "--family", "contrastive", "--epochs", "1", "--no-publish"]) == 2
    err = capsys.readouterr().err
    assert "no artist has two tracks with features" in err and "nothing to evaluate by artist identity" in err, err
    assert main(["models", "train", "--family", "siamese", "--epochs", "1", "--no-publish"]) == 2
    assert "the siamese family learns from listening data" in capsys.readouterr().err
    with pytest.raises(NotEnoughData, match="no artist has two tracks with features"):  # the DAGs' prepare: skipped
        staged.plan_job("train_embeddings/r1", families=["contrastive", "autoencoder"])
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 0


def test_a_test_share_given_without_listening_data_is_refused_not_dropped(toy, capsys):
    """`models train --test-share 0.3` on a library without listening data trained and evaluated every artist, as
    without it, and said nothing (a train_embeddings run's test_share too): no artist is held out here."""
    from musim.models.families import staged

    _library_without_listening_data(toy)
    assert main(["models", "train", "--family", "descriptors", "--test-share", "0.3", "--no-publish"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("musim: error: a test share (0.3) holds out artists of an evaluation against co-listening; ")
    assert err.count("\n") == 1 and "leave --test-share (the test_share param) out" in err, err
    with pytest.raises(ParameterError, match="^a test share \\(0.4\\) holds out artists"):
        staged.plan_job("train_embeddings/r1", families=["descriptors"], test_share=0.4)
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM model_registry").fetchone()[0] == 0


def test_models_train_does_not_hold_the_warehouse_while_the_model_trains(toy, capsys, monkeypatch):
    """`musim models train` held the warehouse writer from loading its inputs to publishing, the training included
    (minutes to hours): every other writer (an ingest, a DAG's task, `library add`) waited
    MUSIM_WAREHOUSE_LOCK_WAIT_S and failed. The model now trains with no connection open, as in the DAGs."""
    import subprocess
    import sys

    from musim.config import get_settings
    from musim.models.families import evaluation, record

    _library_without_listening_data(toy)
    real = evaluation.train_evaluate
    opened: list[int] = []

    def another_writer_meanwhile(*args, **kwargs):  # another process opens the warehouse read-write, no waiting
        done = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
                               str(get_settings().warehouse.path)], capture_output=True, text=True, timeout=120,
                              check=False)
        opened.append(done.returncode)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "train_evaluate", another_writer_meanwhile)
    monkeypatch.setattr(record, "train_evaluate", another_writer_meanwhile)
    assert main(["models", "train", "--family", "descriptors", "--no-publish", "--no-progress"]) == 0
    assert opened == [0]
    assert capsys.readouterr().out.startswith("descriptors-1: challenger")


def test_a_track_removed_while_the_model_trains_is_left_out_of_its_publish(toy, caplog):
    """The model trains with no writer open: a track removed meanwhile (`musim library remove`) made the publish of
    the version, registered already, fail with '1 tracks are not in the `track` table'; it is now left out."""
    from musim.models.families import evaluation, load_inputs
    from musim.models.families.lookup import inputs_needed
    from musim.models.families.record import record_run

    _library_without_listening_data(toy)
    store = open_store()
    with warehouse.writer() as con:
        inputs = load_inputs(con, store=store, needs=inputs_needed(["descriptors"]))
    run = evaluation.train_evaluate("descriptors", inputs, {}, store=store, n_boot=50)
    gone = str(run.track_ids[0])
    with warehouse.writer() as con:
        con.execute("DELETE FROM track WHERE track_id = ?", [gone])  # what `library remove` did meanwhile
        out = record_run(con, run, store=store, publish=True)
        served = {r[0] for r in con.execute("SELECT DISTINCT track_id FROM track_neighbors WHERE model_version = ?",
                                            [out.entry.version]).fetchall()}
    assert out.published is not None and gone not in served and len(served) == len(run.track_ids) - 1
    assert f"1 of the {len(run.track_ids)} tracks descriptors embedded were removed" in caplog.text


def _dump_and_a_library_of_other_artists(tmp_path, capsys) -> None:
    """A synthetic Last.FM dump ingested and built (its artists have no audio), and a music library of generated
    clips by four other artists (folders name them), with features: no artist has both."""
    from tests.cli_output import run

    code, out, _ = run(capsys, "synth", "lastfm", str(tmp_path / "dump"), "--users", "200", "--artists", "30",
                       "--seed", "5", "--json")
    assert code == 0, out
    dump = json.loads(out)
    assert run(capsys, "ingest", "lastfm", dump["plays_path"])[0] == 0
    assert run(capsys, "similarity", "build", "--min-listeners", "1", "--no-publish")[0] == 0
    (tmp_path / "clips").mkdir()
    rows = labelled_clips(tmp_path / "clips", duration=8.0, artists=4, per_artist=3, group=None)
    for row in rows[1:]:  # a folder per artist: the library names the artist by it
        name, artist = row.split(",")
        folder = tmp_path / "music" / f"Library {artist}"
        folder.mkdir(parents=True, exist_ok=True)
        (tmp_path / "clips" / name).rename(folder / name)
    assert run(capsys, "library", "add", str(tmp_path / "music"), "--no-progress")[0] == 0
    code, _, err = run(capsys, "features", "build", "--no-progress", "--no-publish", "--workers", "1")
    assert code == 0, err


def test_label_free_families_train_on_a_library_whose_artists_the_dump_does_not_know(tmp_path, capsys):
    """With a Last.FM dump ingested whose artists are not the library's, `models train --family contrastive` refused
    ('30 artists have listening data ..., 4 have audio features, 0 both'), and so did the train_embeddings DAG's
    prepare: the label-free families need no listening data, they train on the library's audio and are judged by
    artist identity. The siamese family still says why it cannot."""
    import pytest

    from musim.errors import NotEnoughData
    from musim.models.families import staged
    from musim.models.families.inputs import FamilyInputs
    from tests.cli_output import run

    _dump_and_a_library_of_other_artists(tmp_path, capsys)
    code, out, err = run(capsys, "models", "train", "--family", "contrastive", "--no-publish", "--no-progress",
                         "--hparams", '{"epochs": 1, "conv_filters": [8], "dense_units": 8, "projection_units": 8, '
                                      '"crop_frames": 32, "batch_size": 8, "embed_crops": 1}')
    assert code == 0, err
    assert out.startswith("contrastive-1: ") and "evaluation by artist identity" in out, out
    assert "has listening data for 0 of the 4 artists with audio features" in err, err
    assert "contrastive trains on the audio alone, judged by artist identity" in err, err
    with warehouse.writer() as con:
        assert con.execute("SELECT version FROM model_registry").fetchall() == [("contrastive-1",)]
    code, out, err = run(capsys, "models", "train", "--family", "siamese", "--epochs", "1", "--no-publish")
    assert code == 2 and out == "" and "4 have audio features, 0 both" in err, err
    items = staged.plan_job("train_embeddings/r1", families=["contrastive", "autoencoder"])  # the DAG's prepare
    manifest = FamilyInputs.from_bytes(open_store().get_bytes(items[0]["manifest"]))
    assert manifest.targets is None and len(manifest) == 12
    assert manifest.listening_gap.endswith("contrastive, autoencoder train on the audio alone, judged by artist identity")
    with pytest.raises(NotEnoughData, match="0 both"):
        staged.plan_job("train_embeddings/r2", families=["contrastive", "siamese"])
