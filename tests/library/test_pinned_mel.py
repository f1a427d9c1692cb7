"""A training set pinned before a recompute reads its own log-mel bytes.

Log-mel objects are content-addressed by key, ``features/mel/<params hash>/<audio id>.npy`` (README: a pinned set's
key may hold a recomputed array). The hash covers every extraction parameter and the algorithm version, and the
audio id the stored audio's sha256 (with the excerpt window for a track kept whole): a recompute with other
parameters writes other keys, never over the bytes a pinned set refers to; one with the same parameters writes the
same bytes back (the same audio, parameters and code compute the same array).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import numpy as np

from musim import warehouse
from musim.audio import MelParams
from musim.cli import main
from musim.features import BuildOptions, FeatureService, build, get_training_frame, register_service
from musim.features.definitions import extraction_view, track_log_mel
from musim.features.params import Extractor
from musim.library import add, list_tracks
from musim.storage import open_store
from tests.library.conftest import write_audio, write_tags

#: Other values of every log-mel parameter (each alone a recompute "with changed parameters").
CHANGED = {"sr": 16000, "n_fft": 1024, "hop_length": 1292, "n_mels": 96, "fmin": 30.0, "fmax": 8000.0, "frames": 128,
           "top_db": 60.0, "ref": 1.0, "power": 1.0}


def _digests(keys) -> dict[str, str]:
    store = open_store()
    return {k: hashlib.sha256(store.get_bytes(k)).hexdigest() for k in keys}


def test_every_changed_mel_parameter_gives_other_object_keys():
    default = Extractor("log_mel", MelParams())
    audio = "ab" * 32
    keys = {default.object_key(audio)} | {Extractor("log_mel", MelParams(**{k: v})).object_key(audio)
                                          for k, v in CHANGED.items()}
    assert len(keys) == len(CHANGED) + 1  # each parameter alone moves the key
    assert default.object_key(audio) != default.object_key(f"{audio}-5000-30000")  # an excerpt is other audio


def test_a_recompute_with_other_mel_parameters_leaves_a_pinned_sets_bytes(tmp_path, capsys):
    root = tmp_path / "music"
    for name, freq in (("one", 300), ("two", 500)):
        write_tags(write_audio(root / "Pinned Band" / f"{name}.flac", "flac", seconds=8, freq=freq), "flac",
                   artist="Pinned Band", title=name)
    whole = tmp_path / "whole"
    write_tags(write_audio(whole / "Whole Band" / "long.flac", "flac", seconds=40, freq=700), "flac",
               artist="Whole Band", title="long")
    add([root])
    add([whole], keep_whole=True, excerpt_s=10)  # its audio id names the window: sha256-<offset>-<duration>
    ids = sorted(t["track_id"] for t in list_tracks())
    assert len(ids) == 3
    assert main(["features", "build", "--view", "track_log_mel", "--no-progress", "--workers", "1"]) == 0
    with warehouse.writer() as con:
        register_service(con, FeatureService("mel-pinned", (track_log_mel,), model_version="m1",
                                             as_of=dt.datetime.now(dt.UTC)))
    mel = f"{track_log_mel.name}__{track_log_mel.schema[0].name}"
    before = get_training_frame("mel-pinned", ids)
    pinned_keys = list(before[mel])
    assert len(set(pinned_keys)) == 3 and any(k.count("-") == 2 for k in pinned_keys)  # the excerpt's key
    bytes_before = _digests(pinned_keys)

    changed = extraction_view("track_log_mel", 2, description="the log-mel with other parameters",
                              extractor=Extractor("log_mel", MelParams(n_mels=96, hop_length=1292, frames=128)))
    result = build([changed], recompute=ids, publish=False, skip_quality=True,
                   options=BuildOptions(workers=1, progress=False))
    assert result.computed == 3
    with warehouse.writer() as con:
        new_keys = [r[0] for r in con.execute("SELECT object_key FROM track_mel WHERE params_hash = ?",
                                              [changed.params_hash]).fetchall()]
    assert len(new_keys) == 3 and not set(new_keys) & set(pinned_keys)
    assert {np.load(io.BytesIO(open_store().get_bytes(k))).shape for k in new_keys} == {(128, 96)}

    after = get_training_frame("mel-pinned", ids)
    assert after.drop(columns="as_of").equals(before.drop(columns="as_of"))  # the same keys...
    assert _digests(pinned_keys) == bytes_before  # ...holding the same bytes
    assert {np.load(io.BytesIO(open_store().get_bytes(k))).shape for k in pinned_keys} == {(256, 64)}

    # a recompute with the pinned set's own parameters writes its keys again: the same bytes
    assert main(["features", "build", "--view", "track_log_mel:1", "--recompute", *ids, "--no-progress",
                 "--workers", "1", "--no-publish"]) == 0, capsys.readouterr().err
    assert _digests(pinned_keys) == bytes_before
    assert get_training_frame("mel-pinned", ids).drop(columns="as_of").equals(before.drop(columns="as_of"))
