"""The network: shapes, symmetry, the numpy head, save/load in a fresh process, lazy TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from musim.errors import ParameterError

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")


def test_importing_the_package_does_not_import_tensorflow():
    code = ("import sys, musim.models, musim.models.data, musim.models.evaluate, musim.models.registry, "
            "musim.models.card, musim.models.toy, musim.cli.models; from musim.models import PairTargets, "
            "register_model; print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], env=_env(), capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_shapes_and_structure():
    from musim.models.siamese import SiameseConfig, build_encoder, build_siamese, encoder_of

    cfg = SiameseConfig(conv_filters=(4, 8, 8), dense_units=12)
    enc = build_encoder(cfg)
    assert enc.output_shape == (None, 12)
    kinds = [type(layer).__name__ for layer in enc.layers]
    assert kinds.count("Conv1D") == 3 and kinds.count("BatchNormalization") == 3
    assert kinds.count("MaxPooling1D") == 2 and kinds.count("ZeroPadding1D") == 3
    assert "GlobalMaxPooling1D" in kinds and kinds[-1] == "Dense"
    model = build_siamese(cfg)
    x = np.random.default_rng(0).uniform(-80, 0, (5, 256, 64)).astype(np.float32)
    y = np.asarray(model({"left": x, "right": x[::-1]}, training=False))
    assert y.shape == (5, 1) and np.all((y > 0) & (y < 1))
    back = np.asarray(model({"left": x[::-1], "right": x}, training=False))
    assert np.allclose(y[::-1], back, atol=1e-6)  # symmetric in its two inputs
    assert encoder_of(model).count_params() == enc.count_params()  # one shared encoder
    with pytest.raises(ParameterError):
        build_encoder(SiameseConfig(conv_filters=(4,) * 9, pool_size=4))  # pooled away to nothing
    with pytest.raises(ParameterError):
        SiameseConfig(conv_filters=())


def test_numpy_head_and_scorer_match_the_model(trained, toy):
    from musim.models.evaluate import artist_mean
    from musim.models.siamese import embed, encoder_of, pair_scores, siamese_scorer

    model, clips = trained.model, trained.data.clips
    rows = np.arange(6)
    e = embed(encoder_of(model), toy.x, rows[::-1].copy(), batch_size=4)[::-1]
    x = toy.x[rows].astype(np.float32)
    ref = np.asarray(model({"left": np.repeat(x, 6, 0), "right": np.tile(x, (6, 1, 1))}, training=False)).reshape(6, 6)
    assert np.allclose(pair_scores(model, e, e), ref, atol=1e-5)
    artists = trained.data.split.test
    S = siamese_scorer(model, toy.x, clips)(artists)
    r, owner = clips.flat(artists)
    ee = embed(encoder_of(model), toy.x, r)
    assert np.allclose(S, artist_mean(pair_scores(model, ee, ee), owner, len(artists)))


def test_save_and_load_in_a_fresh_process(trained, toy, tmp_path):
    from musim.models.siamese import save_model

    path = tmp_path / "m.keras"
    save_model(trained.model, path)
    x = toy.x[:4].astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    expected = np.asarray(trained.model({"left": x, "right": x[::-1]}, training=False))
    script = textwrap.dedent(f"""
        import sys, json, numpy as np
        from musim.models import load_model           # registers musim's layers; no training code
        m = load_model({str(path)!r})
        x = np.load({str(tmp_path / 'x.npy')!r})
        y = np.asarray(m({{"left": x, "right": x[::-1]}}, training=False))
        enc = m.get_layer("encoder")
        print(json.dumps({{"y": y.ravel().tolist(), "train_loaded": "musim.models.train" in sys.modules,
                           "enc": list(enc.output_shape)}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not got["train_loaded"]
    assert np.allclose(got["y"], expected.ravel(), atol=1e-6)
    assert got["enc"] == [None, 16]
    with pytest.raises(ParameterError):
        save_model(trained.model, tmp_path / "m.h5")
