"""The descriptor family: z-scored descriptors with each block (rhythm/tonal, MFCC statistics, contrast model, timbre model)
weighted by w / sqrt(columns); the weights are saved with the model and recorded in its parameters and card."""

from __future__ import annotations

import numpy as np
import pytest

from musim.audio import DESCRIPTOR_NAMES
from musim.errors import ParameterError
from musim.models.families import FamilyInputs
from musim.models.families import descriptors as fam
from musim.models.families.base import load_keras, save_keras


def _inputs(n: int = 12, dims: int = len(DESCRIPTOR_NAMES)) -> FamilyInputs:
    d = np.random.default_rng(0).normal(size=(n, dims)).astype(np.float32) * 5 + 3
    return FamilyInputs([f"t{i}" for i in range(n)], np.arange(n) // 2, [""] * n, [None] * n, {}, [None] * n,
                        [None] * n, d)


def test_blocks_share_the_norm_by_their_weights(tmp_path):
    inputs = _inputs(200)
    blocks = np.array([fam.block_of(n) for n in DESCRIPTOR_NAMES])
    assert {b: int((blocks == b).sum()) for b in fam.BLOCKS} == {"rhythm_tonal": 16, "mfcc": 26, "contrast": 112,
                                                                  "timbre": 230, "musicnn": 200}
    trained = fam.train(inputs, {"weights": {"rhythm_tonal": 1.0, "mfcc": 0.0, "contrast": 1.0, "timbre": 2.0,
                                             "musicnn": 0.5}}, tmp_path, 0)
    emb = trained.embeddings
    share = {b: float(np.mean(np.sum(emb[:, blocks == b] ** 2, axis=1))) for b in fam.BLOCKS}
    assert share["mfcc"] == 0.0
    assert share["rhythm_tonal"] == pytest.approx(1.0, rel=0.02) and share["timbre"] == pytest.approx(4.0, rel=0.02)
    assert share["musicnn"] == pytest.approx(0.25, rel=0.02)
    assert trained.params["weights"] == {"rhythm_tonal": 1.0, "mfcc": 0.0, "contrast": 1.0, "timbre": 2.0,
                                         "musicnn": 0.5}
    assert "timbre (230 columns) 2" in trained.card
    path = tmp_path / "model.keras"
    save_keras(trained.model, path)
    again = fam.embed(load_keras(path), inputs, np.arange(5))
    assert np.allclose(again, emb[:5], atol=1e-5)


def test_default_weights_and_bad_parameters(tmp_path):
    trained = fam.train(_inputs(), {}, tmp_path, 0)
    assert trained.params["weights"] == fam.DEFAULT_WEIGHTS
    with pytest.raises(ParameterError, match="blocks are"):
        fam.train(_inputs(), {"weights": {"tempo": 1.0}}, tmp_path, 0)
    with pytest.raises(ParameterError, match="blocks are"):
        fam.train(_inputs(), {"weights": {"timbre": -1}}, tmp_path, 0)
    for bad in ({"timbre": float("inf")}, {"timbre": True}):  # an infinite scale, a boolean taken for 1
        with pytest.raises(ParameterError, match="blocks are"):
            fam.train(_inputs(), {"weights": bad}, tmp_path, 0)
    for not_an_object in ("x", [1, 2]):  # `--hparams '{"weights": "x"}'` was a ValueError from dict()
        with pytest.raises(ParameterError, match="must be an object of block: weight"):
            fam.train(_inputs(), {"weights": not_an_object}, tmp_path, 0)
    with pytest.raises(ParameterError, match="rebuild the features"):
        fam.train(_inputs(dims=42), {}, tmp_path, 0)
    # every weight 0 trained and registered a model whose every vector is zeros (each cosine 0, the neighbours in
    # arbitrary order), which `models publish` then served
    zero = dict.fromkeys(fam.BLOCKS, 0)
    with pytest.raises(ParameterError, match="every block's weight is 0") as err:
        fam.parse_params({"weights": zero})
    assert "\n" not in str(err.value)
    with pytest.raises(ParameterError, match="give at least one block a weight above 0"):
        fam.train(_inputs(), {"weights": zero}, tmp_path, 0)


def test_a_column_constant_over_the_training_tracks_is_left_out(tmp_path):
    """A column of one float32 value has a float32 variance of ~1e-15, not 0: z-scored by it, a new clip whose value
    differs in the third digit got ~1e6 in that column, and `similar-audio` found one track at 1.000, the rest ~0.05."""
    inputs = _inputs(200)
    col = DESCRIPTOR_NAMES.index(next(n for n in DESCRIPTOR_NAMES if fam.block_of(n) == "contrast"))
    inputs.descriptors[:, col] = np.full(200, np.float32(-0.18814328))
    trained = fam.train(inputs, {}, tmp_path, 0)
    assert np.all(trained.embeddings[:, col] == 0.0)
    clip = _inputs(2)
    clip.descriptors[:] = inputs.descriptors[:2]
    clip.descriptors[:, col] = np.float32(-0.1875)  # a new clip: the same column, another value
    new = fam.embed(trained.model, clip, np.arange(2))
    assert new[:, col].tolist() == [0.0, 0.0]
    assert np.allclose(new, trained.embeddings[:2], atol=1e-5)  # nothing else changed
    assert "1 columns constant over them" in trained.card
