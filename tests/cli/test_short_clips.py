"""``musim similar-audio`` and ``musim embed`` of a clip shorter than a feature build computes features of: the one
rule, held as the builds hold it, against a trained model: the shortest audio the version's features were built from,
as its serving manifest records it (the lowest --min-duration of the warehouse's completed feature builds when it was
published; :data:`musim.audio.formats.MIN_DURATION_S` without one), or the commands' own --min-duration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim import warehouse
from musim.audio.formats import MIN_DURATION_S
from musim.storage import open_store
from tests.cli_output import run
from tests.models.catalogue import make_catalogue
from tests.models.conftest import toy  # noqa: F401 - the planted catalogue, a fixture

HOW = "the minimum applied; --min-duration SECONDS changes it"


def _too_short(seconds: float, minimum: float) -> str:
    return f"too_short ({seconds:.2f} s < {minimum:g} s, {HOW})"


def _tone(path, seconds: float, sr: int = 22050):
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(int(seconds * 10))
    sf.write(path, (0.3 * np.sin(2 * np.pi * 330 * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32), sr,
             subtype="PCM_16")
    return path


@pytest.fixture
def trained_home(toy, capsys, monkeypatch):  # noqa: F811 - the fixture imported above
    """A library catalogue (no listening data) with a descriptors model trained and published by the CLI."""
    from musim.audio import batch

    monkeypatch.setattr(batch, "default_workers", lambda: 1)  # featurised in this process
    with warehouse.writer() as con:
        make_catalogue(con, open_store(), toy)
        con.execute("DELETE FROM similarity_build")
    for argv in (("models", "train", "--family", "descriptors"), ("models", "publish", "descriptors-1")):
        code, _, err = run(capsys, *argv)
        assert code == 0, err


def test_a_clip_shorter_than_the_feature_builds_minimum_is_refused_naming_it_its_length_and_the_minimum(
        trained_home, tmp_path, capsys):
    # A 1 s clip was padded silently (its log-mel is 256 frames of which 1 s is sound) and given a neighbour list,
    # where a feature build rejects the same clip `too_short` (under --min-duration, 5 s). Now similar-audio and
    # embed hold it to the same rule: alone, one line naming the file, its length and the minimum, exit 2; beside a
    # usable clip, skipped with that reason while the other is answered.
    short, usable = _tone(tmp_path / "short.wav", 1.0), _tone(tmp_path / "usable.wav", 8.0)
    with warehouse.writer() as con:  # no feature build: the default minimum
        assert con.execute("SELECT count(*) FROM feature_build").fetchone()[0] == 0
    why = _too_short(1.0, MIN_DURATION_S)
    code, out, err = run(capsys, "similar-audio", str(short), "--model", "descriptors-1", "--no-progress")
    assert (code, out) == (2, "")
    assert err == f"musim: error: no usable audio file: {short}: {why}\n"
    code, out, err = run(capsys, "embed", str(short), "--model", "descriptors-1", "--out", str(tmp_path / "e.npz"),
                         "--no-progress")
    assert (code, out, err) == (2, "", f"musim: error: no usable audio file: {short}: {why}\n")
    assert not (tmp_path / "e.npz").exists()

    code, out, err = run(capsys, "similar-audio", str(short), str(usable), "--model", "descriptors-1", "--json",
                         "--no-progress")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["files"] == [str(usable)] and doc["failed"] == [{"file": str(short), "error": why}] and doc["artists"]
    code, out, err = run(capsys, "embed", str(tmp_path), "--model", "descriptors-1", "--out", str(tmp_path / "e.npz"),
                         "--json", "--no-progress")
    assert code == 0, err
    assert json.loads(out)["failed"] == [{"file": str(short), "error": why}]
    with np.load(tmp_path / "e.npz") as z:
        assert z["files"].tolist() == [str(usable)]


@pytest.mark.parametrize("seconds", [1.0, MIN_DURATION_S - 0.5])
def test_every_family_s_input_of_a_too_short_clip_is_refused_as_the_build_rejects_it(tmp_path, seconds):
    # The log-mel (siamese, autoencoder, contrastive) of a 1 s clip was 256 frames of which 43 held sound, the rest
    # padding; the slices' one slice likewise. The feature build's worker rejects the same audio too_short.
    from musim.audio import MelParams, SliceParams
    from musim.features.params import DescriptorParams
    from musim.library.formats import FileSkipped
    from musim.models.audio_files import featurise_file

    clip = _tone(tmp_path / "clip.wav", seconds)
    for params in (MelParams(), SliceParams(), DescriptorParams()):
        with pytest.raises(FileSkipped) as err:
            featurise_file(clip, params)
        assert err.value.why == _too_short(seconds, MIN_DURATION_S)
    assert featurise_file(_tone(tmp_path / "enough.wav", MIN_DURATION_S), MelParams()).shape == (256, 64)


def _answers(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--model", "descriptors-1", "--json", "--no-progress")
    assert code == 0, err
    return json.loads(out)


def _build_and_publish_at(capsys, seconds: str) -> None:
    code, _, err = run(capsys, "features", "build", "--min-duration", seconds, "--no-publish", "--skip-quality",
                       "--workers", "1", "--no-progress")
    assert code == 0, err
    code, _, err = run(capsys, "models", "publish", "descriptors-1")
    assert code == 0, err


def test_a_library_built_with_a_lower_min_duration_is_queried_with_its_own_short_clips(trained_home, tmp_path,
                                                                                      capsys):
    # `features build --min-duration 2` computes features of 3 s clips, but similar-audio and embed refused the same
    # clips too_short under a fixed 5 s. A version's publication now records the feature builds' threshold (the
    # lowest --min-duration of the warehouse's completed builds) in its serving manifest, the commands hold new audio
    # to it, and say which minimum refused a file and how to change it.
    _build_and_publish_at(capsys, "2")
    clip, tiny = _tone(tmp_path / "clip.wav", 3.0), _tone(tmp_path / "tiny.wav", 1.0)
    doc = _answers(capsys, "similar-audio", str(clip), str(tiny))
    assert doc["files"] == [str(clip)] and doc["failed"] == [{"file": str(tiny), "error": _too_short(1.0, 2.0)}]
    assert doc["artists"] and doc["tracks"]
    doc = _answers(capsys, "embed", str(clip), str(tiny), "--out", str(tmp_path / "e.npz"))
    assert doc["files"] == 1 and doc["failed"] == [{"file": str(tiny), "error": _too_short(1.0, 2.0)}]
    code, out, err = run(capsys, "similar-audio", str(tiny), "--model", "descriptors-1", "--no-progress")
    assert (code, out, err) == (2, "", f"musim: error: no usable audio file: {tiny}: {_too_short(1.0, 2.0)}\n")


def test_serving_reads_the_threshold_from_the_publication_not_the_writer_s_warehouse(trained_home, tmp_path, capsys):
    # a feature build after the version's publication does not move what the served version accepts: serving reads
    # only what was published (the manifest), until the version is published again
    code, _, err = run(capsys, "features", "build", "--min-duration", "2", "--no-publish", "--skip-quality",
                       "--workers", "1", "--no-progress")
    assert code == 0, err
    clip = _tone(tmp_path / "clip.wav", 3.0)
    doc = _answers(capsys, "similar-audio", str(clip), str(_tone(tmp_path / "usable.wav", 8.0)))
    assert doc["failed"] == [{"file": str(clip), "error": _too_short(3.0, MIN_DURATION_S)}]
    code, _, err = run(capsys, "models", "publish", "descriptors-1")
    assert code == 0, err
    assert _answers(capsys, "similar-audio", str(clip))["files"] == [str(clip)]


def test_min_duration_given_to_the_commands_overrides_the_published_threshold(trained_home, tmp_path, capsys):
    _build_and_publish_at(capsys, "2")
    clip, tiny = _tone(tmp_path / "clip.wav", 3.0), _tone(tmp_path / "tiny.wav", 1.0)
    doc = _answers(capsys, "similar-audio", str(clip), str(tiny), "--min-duration", "0.5")  # lower: both answer
    assert doc["files"] == [str(clip), str(tiny)] and doc["failed"] == []
    code, out, err = run(capsys, "embed", str(clip), "--model", "descriptors-1", "--min-duration", "4", "--out",
                         str(tmp_path / "e.npz"), "--no-progress")
    assert (code, out, err) == (2, "", f"musim: error: no usable audio file: {clip}: {_too_short(3.0, 4.0)}\n")


def test_the_threshold_is_the_lowest_of_the_completed_builds_only(musim_home):
    # a running or failed build computed no features to stand on; without any completed build, 5 s
    import datetime as dt

    from musim import sql
    from musim.errors import ParameterError
    from musim.features.builds import built_min_duration
    from musim.models.audio_files import min_duration

    now = dt.datetime.now(dt.UTC)
    with warehouse.writer() as con:
        assert built_min_duration(con) == MIN_DURATION_S
        for run_id, seconds, status in (("r-done", 3.0, "done"), ("r-done-strict", 8.0, "done"),
                                        ("r-running", 1.0, "running"), ("r-failed", 0.5, "failed")):
            sql.run(con, "features/start_build.sql", run_id=run_id, extractors="[]", tracks=0, items_planned=0,
                    reused=0, preview_set="x", dump_id=None, min_duration_s=seconds, now=now, heartbeat_key=None)
            if status != "running":
                sql.run(con, "features/finish.sql", run_id=run_id, status=status, now=now, unchanged=0, skipped=0)
        assert built_min_duration(con) == 3.0
    # what the commands apply: their own, else the manifest's (a manifest from before it was recorded: 5 s)
    assert min_duration() == MIN_DURATION_S and min_duration(None, {"input": "log_mel"}) == MIN_DURATION_S
    assert min_duration(None, {"min_duration_s": 3.0}) == 3.0 and min_duration(6.0, {"min_duration_s": 3.0}) == 6.0
    with pytest.raises(ParameterError, match="finite number of seconds"):
        min_duration(None, {"min_duration_s": "3"})


def test_models_evaluate_of_a_published_version_holds_its_files_to_the_version_s_threshold(trained_home, tmp_path,
                                                                                          capsys):
    _build_and_publish_at(capsys, "2")
    files = {"a1.wav": ("A", 8.0), "a2.wav": ("A", 9.0), "b1.wav": ("B", 7.0), "b2.wav": ("B", 3.0)}
    for name, (_, seconds) in files.items():
        _tone(tmp_path / name, seconds)
    (tmp_path / "labels.csv").write_text("path,artist\n" + "".join(f"{n},{a}\n" for n, (a, _) in files.items()))

    def evaluate(*extra: str) -> dict:
        code, out, err = run(capsys, "models", "evaluate", "--labels", str(tmp_path / "labels.csv"), "--model",
                             "descriptors-1", "--baselines", "mfcc", "--n-boot", "100", "--no-progress", "--json", *extra)
        assert code == 0, err
        return json.loads(out)

    doc = evaluate()  # the version's 2 s: the 3 s clip is scored, by the model and the baseline alike
    assert doc["tracks"] == 4 and doc["skipped"] == []
    assert [s["reason"] for s in evaluate("--min-duration", "4")["skipped"]] == [_too_short(3.0, 4.0)]
