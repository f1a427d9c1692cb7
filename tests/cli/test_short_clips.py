"""``musim similar-audio`` and ``musim embed`` of a clip shorter than a feature build computes features of: the one
rule (:data:`musim.audio.formats.MIN_DURATION_S`), held as the build holds it, against a trained model."""

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
    why = f"too_short (1.00 s < {MIN_DURATION_S:g} s)"
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
        assert (err.value.reason, err.value.detail) == ("too_short", f"{seconds:.2f} s < {MIN_DURATION_S:g} s")
    assert featurise_file(_tone(tmp_path / "enough.wav", MIN_DURATION_S), MelParams()).shape == (256, 64)
