"""Label retrieval maths on matrices computed by hand, the evaluation command, and the plain baselines (the labels file: test_labels.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.models.label_baselines import baselines
from musim.models.label_eval import query_metrics, retrieval_report
from musim.models.labels import read_labels
from tests.models.conftest import labelled_clips

S = np.array([[1.0, 0.9, 0.5, 0.8],
              [0.9, 1.0, 0.7, 0.1],
              [0.5, 0.7, 1.0, 0.6],
              [0.8, 0.1, 0.6, 1.0]])
ARTISTS = ["A", "A", "B", "B"]
GROUPS = ["g", "g", "g", "h"]


def test_per_query_auc_ap_and_precision_at_1_by_hand():
    per = query_metrics(S, ARTISTS, GROUPS)
    # t2's one same-artist track (0.6) beats t0 (0.5) but not t1 (0.7): AUC 0.5; it ranks second: AP 1/2
    np.testing.assert_allclose(per["auc"], [1.0, 1.0, 0.5, 0.5])
    np.testing.assert_allclose(per["ap"], [1.0, 1.0, 0.5, 0.5])
    np.testing.assert_allclose(per["p1"], [1.0, 1.0, 0.0, 0.0])
    # within the group: t2's artist-mate is in group h, t3 is alone in h: undefined
    np.testing.assert_allclose(per["auc_group"], [1.0, 1.0, np.nan, np.nan])


def test_summaries_are_means_over_defined_queries_with_bootstrap_cis():
    r = retrieval_report("hand", ARTISTS, GROUPS, similarity=S, n_boot=500)
    assert r.summary["auc"]["mean"] == pytest.approx(0.75) and r.summary["auc"]["n"] == 4
    assert r.summary["ap"]["mean"] == pytest.approx(0.75) and r.summary["p1"]["mean"] == pytest.approx(0.5)
    assert r.summary["auc_group"] == {"mean": 1.0, "lo": 1.0, "hi": 1.0, "n": 2,  # both queries are A's tracks
                                      "artist_lo": 1.0, "artist_hi": 1.0, "artists": 1}
    assert 0.5 <= r.summary["auc"]["lo"] <= 0.75 <= r.summary["auc"]["hi"] <= 1.0
    assert r.groups == {"g": {"auc": 1.0, "n": 2}, "h": {"auc": None, "n": 0}}


def test_the_artist_interval_resamples_whole_artists_and_is_wider_when_tracks_cluster():
    # six artists of eight tracks; only two are recognisable (their tracks' own cluster), four are not: the
    # tracks of one artist are not independent queries, and the track interval is too narrow (a review's case)
    rng = np.random.default_rng(3)
    artists = np.repeat(list("ABCDEF"), 8)
    centre = {a: rng.normal(size=16) for a in "AB"}
    v = np.stack([centre[a] * 3 + rng.normal(size=16) if a in centre else rng.normal(size=16) for a in artists])
    r = retrieval_report("clustered", artists.tolist(), vectors=v, n_boot=2000)
    auc = r.summary["auc"]
    assert auc["artists"] == 6 and auc["n"] == 48
    assert auc["artist_lo"] <= auc["lo"] < auc["mean"] < auc["hi"] <= auc["artist_hi"]
    assert (auc["artist_hi"] - auc["artist_lo"]) > 1.5 * (auc["hi"] - auc["lo"])


def test_ties_count_half_and_vectors_use_cosine():
    tied = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.2], [0.5, 0.2, 1.0]])
    assert query_metrics(tied, ["A", "A", "B"])["auc"][0] == pytest.approx(0.5)
    v = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])  # same direction = same artist
    r = retrieval_report("vec", ARTISTS, vectors=v, n_boot=100)
    assert r.summary["auc"]["mean"] == 1.0 and r.summary["p1"]["mean"] == 1.0
    with pytest.raises(ParameterError):
        retrieval_report("none", ARTISTS)


def test_a_missing_version_fails_before_any_file_is_decoded(tmp_path, monkeypatch):
    from musim.errors import NotFoundError
    from musim.models import label_eval, new_audio

    def no_such_version(*args, **kwargs):
        raise NotFoundError("no model version 'nope-3'")

    def decode(paths, names, **kwargs):
        raise AssertionError("files decoded before the model was found")

    monkeypatch.setattr(new_audio, "load_champion", no_such_version)
    monkeypatch.setattr(label_eval, "track_values", decode)
    (tmp_path / "labels.csv").write_text("path,artist\na.ogg,A\nb.ogg,A\nc.ogg,B\n")
    with pytest.raises(NotFoundError, match="nope-3"):
        label_eval.evaluate_labels(read_labels(tmp_path / "labels.csv"), versions=["nope-3"])


def test_labels_without_an_artist_twice_are_refused_before_and_after_decoding(tmp_path, monkeypatch):
    """Every metric would be undefined: an empty table is not an answer."""
    from musim.models import label_eval

    def decode(paths, names, **kwargs):
        raise AssertionError("files decoded although nothing can be evaluated")

    monkeypatch.setattr(label_eval, "track_values", decode)
    (tmp_path / "labels.csv").write_text("path,artist\na.ogg,A\nb.ogg,B\nc.ogg,C\n")
    with pytest.raises(ParameterError, match="labels.csv: no artist has two tracks, so"):
        label_eval.evaluate_labels(read_labels(tmp_path / "labels.csv"), with_model=False)

    def two_of_three_decode(paths, names, **kwargs):  # b.ogg, A's second track, does not decode
        return [0, 2], {n: [None, None] for n in names}, [(str(paths[1]), "undecodable")]

    monkeypatch.setattr(label_eval, "track_values", two_of_three_decode)
    (tmp_path / "labels.csv").write_text("path,artist\na.ogg,A\nb.ogg,A\nc.ogg,C\n")
    with pytest.raises(ParameterError, match="no artist has two tracks among the files that decode"):
        label_eval.evaluate_labels(read_labels(tmp_path / "labels.csv"), with_model=False)

    monkeypatch.setattr(label_eval, "track_values", decode)  # one artist: every metric would be 1, random's too
    (tmp_path / "labels.csv").write_text("path,artist\na.ogg,A\nb.ogg,A\nc.ogg,A\n")
    with pytest.raises(ParameterError, match=r"labels.csv: every track is by one artist \(A\), so there is nothing"):
        label_eval.evaluate_labels(read_labels(tmp_path / "labels.csv"), with_model=False)


def test_an_unknown_baseline_is_refused_before_decoding(tmp_path, monkeypatch):
    from musim.models import label_eval

    monkeypatch.setattr(label_eval, "track_values", lambda paths, names, **kwargs: pytest.fail("decoded"))
    (tmp_path / "labels.csv").write_text("path,artist\na.ogg,A\nb.ogg,A\nc.ogg,B\n")
    with pytest.raises(ParameterError, match=r"unknown baseline\(s\) mfc; one of random, mfcc, descriptors, musly"):
        label_eval.evaluate_labels(read_labels(tmp_path / "labels.csv"), with_model=False, baseline_names=["mfc"])


def test_the_mfcc_baseline_tells_timbres_apart():
    sr, rng = 22050, np.random.default_rng(0)
    t = np.arange(3 * sr) / sr
    excerpts, artists = [], []
    for a, f in enumerate((220.0, 880.0, 3000.0)):
        for _ in range(3):
            excerpts.append((0.3 * np.sin(2 * np.pi * f * t) + 0.02 * rng.normal(size=t.size)).astype(np.float32))
            artists.append(str(a))
    kind, vectors = baselines(["mfcc"])["mfcc"](excerpts, sr)
    assert kind == "vectors" and vectors.shape == (9, 40)
    assert retrieval_report("mfcc", artists, vectors=vectors, n_boot=100).summary["auc"]["mean"] == 1.0
    with pytest.raises(ParameterError, match="unknown baseline"):
        baselines(["nope"])


def test_models_evaluate_command_on_audio_files(tmp_path, capsys):
    import json

    from musim.cli import main

    rows = labelled_clips(tmp_path, duration=6.0)
    (tmp_path / "broken.ogg").write_bytes(b"OggS not really")
    rows.append("broken.ogg,Artist 0,pack0")
    from musim.synth.files import write_clip
    from musim.synth.sound import synthesize_clip

    # shorter than the feature build's minimum: left out of the baselines too, as every model leaves it out
    write_clip(tmp_path / "short.ogg", synthesize_clip(community=1, artist_seed=101, track_no=9, sr=22050, duration=3.0),
               sr=22050)
    rows.append("short.ogg,Artist 1,pack1")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    assert main(["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--group-by", "source",
                 "--baselines-only", "--baselines", "random,mfcc,musly", "--n-boot", "100", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["tracks"] == 9 and doc["artists"] == 3 and doc["groups"] == 2 and doc["model_version"] is None
    assert [r["name"] for r in doc["reports"]] == ["baseline: random", "baseline: mfcc", "baseline: musly"]
    skipped = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in doc["skipped"]}
    assert set(skipped) == {"broken.ogg", "short.ogg"} and skipped["short.ogg"].startswith("too_short (3.00 s < 5 s")
    # each named by the CSV line that lists it (the path is the file's, resolved through links)
    assert {s["path"].rsplit("/", 1)[-1]: s["line"] for s in doc["skipped"]} == {"broken.ogg": len(rows) - 1,
                                                                                 "short.ogg": len(rows)}
    mfcc = doc["reports"][1]["summary"]
    assert mfcc["auc"]["mean"] > 0.9 and mfcc["auc"]["n"] == 9  # synthesized artists differ in timbre
    assert main(["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--baselines-only",
                 "--baselines", "mfcc", "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    assert "baseline: mfcc" in out and "auc_group" not in out
    assert f"  skipped {tmp_path / 'labels.csv'}, line {len(rows)}: {tmp_path / 'short.ogg'}: too_short (3.00 s" in out


def test_models_evaluate_holds_files_to_its_own_min_duration(tmp_path, capsys):
    # `--labels` files were held to a fixed 5 s; --min-duration now sets it (without a model: 5 s; with models, the
    # lowest threshold their serving manifests record: tests/cli/test_short_clips.py)
    from musim.cli import main
    from musim.synth.files import write_clip
    from musim.synth.sound import synthesize_clip

    rows = labelled_clips(tmp_path, duration=6.0)
    write_clip(tmp_path / "short.ogg", synthesize_clip(community=1, artist_seed=101, track_no=9, sr=22050, duration=3.0),
               sr=22050)
    (tmp_path / "labels.csv").write_text("\n".join([*rows, "short.ogg,Artist 1,pack1"]) + "\n")

    def evaluate(*extra: str) -> dict:
        assert main(["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--baselines-only",
                     "--baselines", "mfcc", "--n-boot", "100", "--json", *extra]) == 0
        return json.loads(capsys.readouterr().out)

    assert [s["reason"] for s in evaluate()["skipped"]] == [
        "too_short (3.00 s < 5 s, the minimum applied; --min-duration SECONDS changes it)"]
    doc = evaluate("--min-duration", "2")
    assert doc["tracks"] == 10 and doc["skipped"] == []
    assert [s["reason"] for s in evaluate("--min-duration", "4")["skipped"]] == [
        "too_short (3.00 s < 4 s, the minimum applied; --min-duration SECONDS changes it)"]


def test_the_auc_equals_scikit_learn_with_ties_and_uneven_sides():
    """The average-rank AUC (one sort per query) against scikit-learn's ROC AUC, ties counted half."""
    from sklearn.metrics import roc_auc_score

    from musim.models.label_eval import _auc

    rng = np.random.default_rng(7)
    for _ in range(300):
        pos = rng.integers(0, 6, size=rng.integers(1, 30)).astype(np.float64) / 5  # few values: many ties
        neg = rng.integers(0, 6, size=rng.integers(1, 30)).astype(np.float64) / 5
        if rng.random() < 0.5:
            pos, neg = pos + rng.normal(0, 1e-3, pos.size), neg + rng.normal(0, 1e-3, neg.size)  # or none
        expected = roc_auc_score(np.r_[np.ones(pos.size), np.zeros(neg.size)], np.r_[pos, neg])
        assert _auc(pos, neg) == pytest.approx(expected, abs=1e-12)


def test_a_file_that_does_not_decode_is_listed_with_its_reason_once(tmp_path):
    """The reason repeated the path: "skipped /nope.mp3: /nope.mp3: unreadable (No such file or directory)"."""
    from musim.models.label_baselines import read_excerpts

    (tmp_path / "text.mp3").write_text("hello\n")
    kept, excerpts, failed = read_excerpts([tmp_path / "nope.mp3", tmp_path / "text.mp3"])
    assert kept == [] and excerpts == []
    assert failed == [(str(tmp_path / "nope.mp3"), "unreadable (No such file or directory)"),
                      (str(tmp_path / "text.mp3"), "not_audio (HeaderNotFoundError: can't sync to MPEG frame)")]


def test_a_silent_file_is_listed_with_its_reason_and_level_without_its_path_again(tmp_path):
    """"skipped /a.ogg: audio '/a.ogg' is silent: RMS level -inf dBFS < ..." named the file twice."""
    import soundfile as sf

    from musim.models.label_baselines import read_excerpts

    sf.write(tmp_path / "quiet.wav", np.zeros(22050 * 8, dtype=np.float32), 22050)
    kept, _, failed = read_excerpts([tmp_path / "quiet.wav"])
    assert kept == [] and len(failed) == 1
    path, reason = failed[0]
    assert path == str(tmp_path / "quiet.wav") and reason.startswith("silent: RMS level -inf dBFS < ")  # as similar-audio words it
    assert "quiet.wav" not in reason


def test_tied_similarities_are_ranked_at_random_not_in_file_order():
    """Tracks come sorted by artist, so a stable sort ranked a tied same-artist track first: a constant similarity
    had AP 0.353 and p@1 0.20 against 0.278 and 0.16 for random similarities."""
    from musim.models.label_eval import query_metrics

    artists = ["A"] * 10 + [f"solo {i}" for i in range(40)]  # A's ten tracks listed first, forty singles after
    constant = query_metrics(np.ones((50, 50)), artists)
    assert np.nanmean(constant["p1"]) < 0.5  # chance 9 / 49; in file order every A query found A first (1.0)
    assert np.nanmean(constant["auc"]) == 0.5  # ties count half


def test_ap_averages_precision_at_each_artist_mate_not_the_reciprocal_rank():
    # query 0 (artist A) ranks its two artist-mates 1st and 3rd: AP (1/1 + 2/3) / 2, where MRR would be 2/3
    s = np.array([[1.0, 0.9, 0.7, 0.8, 0.1],
                  [0.9, 1.0, 0.5, 0.5, 0.5],
                  [0.7, 0.5, 1.0, 0.5, 0.5],
                  [0.8, 0.5, 0.5, 1.0, 0.5],
                  [0.1, 0.5, 0.5, 0.5, 1.0]])
    # query 0's order: t1 (A, 0.9), t3 (B, 0.8), t2 (A, 0.7), t4 (B, 0.1)
    per = query_metrics(s, ["A", "A", "A", "B", "B"])
    assert per["ap"][0] == pytest.approx((1 / 1 + 2 / 3) / 2)


def test_ap_equals_scikit_learn_average_precision_for_every_query():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(11)
    s = rng.random((20, 20))  # continuous: no ties, so the random tie order does not matter
    artists = [str(x) for x in rng.integers(0, 4, size=20)]
    per = query_metrics(s, artists)
    a = np.asarray(artists)
    for i in range(20):
        others = np.arange(20) != i
        same = (a[others] == a[i])
        if not same.any():
            assert np.isnan(per["ap"][i])
            continue
        assert per["ap"][i] == pytest.approx(average_precision_score(same, s[i, others]), abs=1e-12)


def test_the_group_auc_ignores_other_artists_outside_the_querys_group():
    # query 0 (A, group g): its mate t1 (0.6) is outscored by t2 (B, group h, 0.9) and beats t3 (B, group g, 0.2)
    s = np.array([[1.0, 0.6, 0.9, 0.2],
                  [0.6, 1.0, 0.5, 0.5],
                  [0.9, 0.5, 1.0, 0.5],
                  [0.2, 0.5, 0.5, 1.0]])
    per = query_metrics(s, ["A", "A", "B", "B"], ["g", "g", "h", "g"])
    assert per["auc"][0] == pytest.approx(0.5)
    assert per["auc_group"][0] == pytest.approx(1.0)


def test_a_named_version_is_any_registered_one_published_or_not(tmp_path, monkeypatch):
    """`models evaluate --labels CSV --model contrastive-1` said `no model has been published under .../serving yet`
    after training; after one publish, a newer version was `no model version 'contrastive-2'; recent: contrastive-1`
    while `models list` showed it: the versions were read from the published snapshot."""
    import sys
    import types
    from types import SimpleNamespace

    from musim import serving, warehouse
    from musim.audio import MelParams
    from musim.errors import NotFoundError
    from musim.models import label_eval, new_audio, registry
    from musim.storage import open_store
    from tests.models.conftest import _register, _report, _truth

    class Reached(Exception):
        pass

    def decode(paths, names, **kwargs):
        raise Reached

    fake = types.ModuleType("musim.models.siamese")  # no TensorFlow: a model of the log-mel's shape
    fake.load_model = lambda path: SimpleNamespace(inputs=[SimpleNamespace(shape=(None, MelParams().frames,
                                                                                   MelParams().n_mels))])
    monkeypatch.setitem(sys.modules, "musim.models.siamese", fake)
    monkeypatch.setattr(registry, "fetch_model_file", lambda store, entry: tmp_path / "model.keras")
    monkeypatch.setattr(label_eval, "track_values", decode)
    loaded: list[str] = []
    real = new_audio.load_champion

    def spy(*args, **kwargs):
        champ = real(*args, **kwargs)
        loaded.append(champ.entry.version)
        return champ

    monkeypatch.setattr(new_audio, "load_champion", spy)
    (tmp_path / "labels.csv").write_text("path,artist\na.ogg,A\nb.ogg,A\nc.ogg,B\n")
    labels = read_labels(tmp_path / "labels.csv")

    with warehouse.writer() as con:
        first = _register(con, open_store(), tmp_path, _report(_truth(), 0.3), run_id="r1").version
    with pytest.raises(Reached):  # trained, never published
        label_eval.evaluate_labels(labels, versions=[first])
    with warehouse.writer() as con:  # the reader is closed: a writer opens
        serving.publish(con)
        second = _register(con, open_store(), tmp_path, _report(_truth(), 0.3, seed=2), run_id="r2").version
    with pytest.raises(Reached):  # registered after the snapshot was published
        label_eval.evaluate_labels(labels, versions=[second, first])
    assert loaded == [first, second, first]
    with pytest.raises(NotFoundError, match=rf"no model version 'siamese-9'; recent: {second}, {first}"):
        label_eval.evaluate_labels(labels, versions=["siamese-9"])


def test_the_baselines_computed_per_file_in_the_pool_equal_the_excerpts_in_memory(tmp_path):
    """`models evaluate --labels` held every 30-s excerpt for the baselines (1.5 GB on 168 tracks); now each file's
    baseline values are made where it is decoded. The reports must not move by a digit: here against the old
    computation, every excerpt read in this process and each baseline computed on all of them at once."""
    from musim.models.label_baselines import (
        _descriptor_row,
        mfcc_stats,
        musly_similarity,
        read_excerpts,
        standardized,
    )
    from musim.models.label_eval import evaluate_labels

    rows = labelled_clips(tmp_path, duration=5.0)
    (tmp_path / "broken.ogg").write_bytes(b"OggS not really")
    rows.append("broken.ogg,Artist 0,pack0")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    labels = read_labels(tmp_path / "labels.csv", group_by="source")
    names = ["random", "mfcc", "descriptors", "musly"]
    new = evaluate_labels(labels, with_model=False, baseline_names=names, n_boot=100, workers=2, progress=False)

    kept, excerpts, failed = read_excerpts(labels.paths)
    assert [p for p, _ in new.skipped] == [p for p, _ in failed] == [str(tmp_path / "broken.ogg")]
    kept_labels = labels.subset(kept)
    old = {"random": {"vectors": np.random.default_rng(0).normal(size=(len(excerpts), 32)).astype(np.float32)},
           "mfcc": {"vectors": mfcc_stats(excerpts, sr=22050)},
           "descriptors": {"vectors": standardized(np.stack([_descriptor_row(y, 22050) for y in excerpts]))},
           "musly": {"similarity": musly_similarity(excerpts, sr=22050)}}
    assert [r.name for r in new.reports] == [f"baseline: {n}" for n in names]
    for report, name in zip(new.reports, names, strict=True):
        before = retrieval_report(f"baseline: {name}", kept_labels.artists, kept_labels.groups, n_boot=100,
                                  **old[name])
        assert report.to_json(per_query=True) == before.to_json(per_query=True), name


def test_the_evaluating_process_holds_no_excerpt(tmp_path):
    """The main process peaked at 1.54 GB on 168 tracks: every excerpt (2.6 MB a 30-s track) was kept for the
    baselines. Six 30-s tracks held ~16 MB; now what the baselines keep of them (kilobytes) comes back."""
    import tracemalloc

    from musim.audio.descriptors import load_kernels
    from musim.models.label_eval import evaluate_labels

    rows = labelled_clips(tmp_path, duration=30.0, per_artist=3, artists=2)
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    labels = read_labels(tmp_path / "labels.csv", group_by="source")
    one_excerpt = 30 * 22050 * 4
    load_kernels()  # imported before measuring: the modules' objects (~90 MB traced) are no excerpt
    tracemalloc.start()
    try:
        result = evaluate_labels(labels, with_model=False, baseline_names=["random", "mfcc", "descriptors"],
                                 n_boot=100, workers=2, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.labels) == 6 and result.reports[1].summary["auc"]["mean"] is not None
    assert peak < one_excerpt, f"peak {peak / 1e6:.1f} MB"


def test_with_nothing_published_the_error_names_model_and_baselines_only(tmp_path):
    """On a library without listening data (nothing published): "no model has been published ... publish a
    registered version ... or train one", silent about `--model VERSION` (which takes unpublished versions) and
    `--baselines-only`."""
    from musim.errors import NotFoundError
    from musim.models.label_eval import evaluate_labels

    (tmp_path / "labels.csv").write_text("path,artist\na.ogg,A\nb.ogg,A\nc.ogg,B\n")
    labels = read_labels(tmp_path / "labels.csv")
    for family in (None, "contrastive"):
        with pytest.raises(NotFoundError) as err:
            evaluate_labels(labels, family=family)
        line = str(err.value)
        assert line.startswith("no model has been published under ") and "\n" not in line
        assert line.endswith("; or evaluate a registered version, published or not, with `--model VERSION`; or the "
                             "baselines alone with `--baselines-only`"), line


def test_files_a_model_cannot_embed_are_checked_again_for_two_artists(tmp_path, monkeypatch):
    """A cnn_classifier model cannot embed a clip shorter than one slice, which the baselines decode: with B's two
    short clips left out, only A's tracks remained and every embedding, random's too, scored ap and p1 of 1 (auc
    undefined) in a table that looked like an answer."""
    from types import SimpleNamespace

    import numpy as np

    from musim.models import label_eval, new_audio

    def decode(paths, names, **kwargs):  # every file decodes for the baselines
        return list(range(len(paths))), {n: [None] * len(paths) for n in names}, []

    def embed(paths, *, champion, workers=None, min_duration_s=None):  # the model embeds A's tracks only (B's are 3-second clips)
        good = [p for p in paths if "/a" in p]
        failed = [(p, "too short for one slice") for p in paths if p not in good]
        return good, np.ones((len(good), 4), np.float32), failed, champion

    champ = SimpleNamespace(entry=SimpleNamespace(version="cnn_classifier-1"), note=None, manifest=None)
    monkeypatch.setattr(label_eval, "track_values", decode)
    monkeypatch.setattr(label_eval, "_load_models", lambda wanted: [champ])
    monkeypatch.setattr(new_audio, "embed_files", embed)
    (tmp_path / "labels.csv").write_text("path,artist\na1.ogg,A\na2.ogg,A\nb1.ogg,B\nb2.ogg,B\n")
    with pytest.raises(ParameterError, match=r"labels.csv: every track among the files that cnn_classifier-1 can "
                                             r"embed \(2 cannot: .*b1.ogg: cnn_classifier-1: too short for one slice"):
        label_eval.evaluate_labels(read_labels(tmp_path / "labels.csv"), versions=["cnn_classifier-1"],
                                   baseline_names=["random"], n_boot=100)
    (tmp_path / "labels.csv").write_text("path,artist\na1.ogg,A\na2.ogg,A\nb1.ogg,B\nb2.ogg,B\na3.ogg,C\na4.ogg,C\n")
    result = label_eval.evaluate_labels(read_labels(tmp_path / "labels.csv"), versions=["cnn_classifier-1"],
                                        baseline_names=["random"], n_boot=100)
    assert len(result.labels) == 4 and sorted(set(result.labels.artists)) == ["A", "C"]
    assert [p for p, _ in result.skipped] == [str(tmp_path / "b1.ogg"), str(tmp_path / "b2.ogg")]


def test_albums_of_one_artist_each_say_why_auc_group_is_undefined(tmp_path, capsys):
    """`models evaluate --labels labels.csv --group-by album` (README's example) on a library whose every album is by
    one artist, the usual case: the auc_group column was blank and --json null, with no word of why. The table says
    `undefined` and a note why (its interval over artists is auc's then), --json a reason beside the null; where some
    albums mix artists, the note says how many query tracks auc_group counts."""
    import json

    from musim.cli import main

    rows = labelled_clips(tmp_path, duration=6.0, artists=3, per_artist=2, group=None)
    by_artist = [rows[0] + ",album", *[f"{r},Album of {r.split(',')[1]}" for r in rows[1:]]]
    (tmp_path / "albums.csv").write_text("\n".join(by_artist) + "\n")
    argv = ["models", "evaluate", "--labels", str(tmp_path / "albums.csv"), "--group-by", "album", "--baselines-only",
            "--baselines", "random,mfcc", "--n-boot", "100", "--no-progress"]
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    why = ("no album holds two artists' tracks: the within-album AUC (auc_group) is undefined; --group-by a column "
           "that mixes artists (e.g. source, genre), or leave it out")
    assert doc["group_note"] == why and doc["group_coverage"] == {"queries": 0, "tracks": 6, "mixed": 0, "groups": 3}
    for report in doc["reports"]:
        assert report["summary"]["auc_group"]["mean"] is None and report["summary"]["auc_group"]["reason"] == why
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"  note: {why}" in lines
    mfcc = next(x for x in lines if x.startswith("baseline: mfcc"))
    assert mfcc.split()[2] == "undefined" and mfcc.endswith("[1.000, 1.000]"), lines  # auc's interval over artists
    assert "auc CI over artists" in lines[1], lines

    # one album mixes artists 0 and 1 (two tracks of artist 0): only artist 0's two tracks are auc_group's queries
    albums = {"a0-0": "Mix", "a0-1": "Mix", "a1-0": "Mix", "a1-1": "Solo 1", "a2-0": "Solo 2", "a2-1": "Solo 2"}
    some = [rows[0] + ",album", *[f"{r},{albums[r.split('.')[0]]}" for r in rows[1:]]]
    (tmp_path / "some.csv").write_text("\n".join(some) + "\n")
    assert main(["models", "evaluate", "--labels", str(tmp_path / "some.csv"), "--group-by", "album",
                 "--baselines-only", "--baselines", "mfcc", "--n-boot", "100", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert ("  note: auc_group counts 2 of 6 query tracks, those whose album holds another track by their artist and "
            "one by another artist (1 of 3 album groups mix artists)") in out.splitlines(), out
    assert "undefined" not in out


def test_group_coverage_counts_the_queries_auc_group_is_defined_for():
    from musim.models.label_eval import group_coverage, group_note

    # every group mixes artists but none holds two tracks of one artist: undefined everywhere, said so
    cover = group_coverage(["A", "B", "A", "B"], ["x", "x", "y", "y"])
    assert cover == {"queries": 0, "tracks": 4, "mixed": 2, "groups": 2}
    assert group_note(cover, "source").startswith("no source holds two tracks of one artist beside another artist's "
                                                  "track (2 of 2 source groups mix artists): ")
    per = query_metrics(np.eye(5), ["A", "A", "B", "B", "C"], ["x", "x", "x", "y", "y"])
    cover = group_coverage(["A", "A", "B", "B", "C"], ["x", "x", "x", "y", "y"])
    assert cover["queries"] == int(np.isfinite(per["auc_group"]).sum()) == 2
    assert group_note(group_coverage(ARTISTS, ["g"] * 4), "album") is None  # every track a query: nothing to say


def test_a_baseline_given_twice_is_one_report(tmp_path, capsys):
    """`models evaluate --labels CSV --baselines random,random` decoded every file, then failed with "one artist (and
    group) per track is needed": the values of a baseline named twice were gathered twice per track."""
    from musim.cli import main

    (tmp_path / "labels.csv").write_text("\n".join(labelled_clips(tmp_path, duration=6.0)) + "\n")
    code = main(["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--baselines-only", "--baselines",
                 "random,mfcc,random", "--n-boot", "100", "--no-progress", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [r["name"] for r in json.loads(out)["reports"]] == ["baseline: random", "baseline: mfcc"]


def test_models_evaluate_draws_the_comparison_it_prints_and_refuses_a_folder_before_decoding(tmp_path, capsys):
    from PIL import Image

    from musim.cli import main

    rows = labelled_clips(tmp_path, duration=6.0)
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    argv = ["models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--group-by", "source", "--baselines-only",
            "--baselines", "random,mfcc", "--n-boot", "100"]
    (tmp_path / "plots").mkdir()
    assert main([*argv, "--plot", str(tmp_path / "plots")]) == 2  # before any file is decoded
    assert capsys.readouterr().err.endswith(
        f"--plot {tmp_path / 'plots'} is a folder: give a file, e.g. --plot {tmp_path / 'plots' / 'comparison.png'}\n")
    assert main([*argv, "--plot", str(tmp_path / "plots" / "new" / "cmp"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["plot"] == str(tmp_path / "plots" / "new" / "cmp.png")
    with Image.open(doc["plot"]) as im:
        assert im.format == "PNG"
    assert sorted(p.name for p in (tmp_path / "plots" / "new").iterdir()) == ["cmp.png"]  # no temporary file left
    assert main([*argv, "--plot", doc["plot"]]) == 0
    out = capsys.readouterr().out
    assert "baseline: mfcc" in out and out.rstrip().endswith(f"plot: {doc['plot']}")
