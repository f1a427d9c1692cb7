"""musicnn in numpy against TensorFlow: the checkpoint reader against TensorFlow's, the forward pass against the
original TF1 graph that the musicnn wheel ships (its ``.meta``), run by TensorFlow in graph mode."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from musim.audio import musicnn
from musim.errors import ParameterError

tf = pytest.importorskip("tensorflow")


def _folder(model: str) -> str:
    return str(resources.files("musicnn") / model) + "/"


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_musicnn"])
def test_checkpoint_reader_matches_tensorflow(model):
    mine = musicnn.read_checkpoint(_folder(model))
    reader = tf.compat.v1.train.NewCheckpointReader(_folder(model))
    dtypes = reader.get_variable_to_dtype_map()
    floats = {n for n, d in dtypes.items() if d == tf.float32}
    assert set(mine) == floats
    for name in floats:
        assert np.array_equal(mine[name], reader.get_tensor(name)), name


def _original_graph_outputs(model: str, x: np.ndarray) -> np.ndarray:
    """The tag probabilities of the wheel's own TF1 graph: its inference part, variables frozen from the checkpoint."""
    from benchmarks.real_music.tf_graph import FrozenGraph, nodes_of

    (sigmoid,) = nodes_of(model, "Sigmoid")
    return FrozenGraph(model, {"taggram": sigmoid}).run(x)["taggram"]


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_musicnn"])
def test_forward_matches_the_original_graph(model):
    x = (np.random.default_rng(0).random((3, musicnn.PATCH_FRAMES, musicnn.N_MELS)) * 3).astype(np.float32)
    out = musicnn.forward(x, musicnn.load_weights(model))
    assert out["penultimate"].shape == (3, musicnn.EMBEDDING_DIM) and out["max_pool"].shape == (3, 753)
    np.testing.assert_allclose(out["taggram"], _original_graph_outputs(model, x), atol=1e-5)


def _plain_conv(x: np.ndarray, kernel: np.ndarray, pad: tuple[int, int]) -> np.ndarray:
    """The convolution written out, in float64: every position's window times the kernel, ``(B, T', F', C)``."""
    kt, kf, _, c = kernel.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), pad, (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kt, kf), axis=(1, 2))
    return np.einsum("btfij,ijc->btfc", win, kernel[:, :, 0].astype(np.float64))


@pytest.mark.parametrize(("kt", "kf", "pad"), [(7, 38, (3, 3)), (32, 1, (15, 16)), (4, 96, (1, 2))])
def test_tiled_extreme_of_the_convolution_equals_the_plain_convolution(kt, kf, pad):
    """The front end's tiled product, maximum over frequency and negated kernels, against the convolution written
    out: patches whose time steps are not a multiple of the tile, channels taking the maximum and the minimum."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, musicnn._TILE * 2 + 5, 96)).astype(np.float32)
    kernel = rng.normal(size=(kt, kf, 1, 9)).astype(np.float32)
    lowest = np.arange(9) % 3 == 0
    plain = _plain_conv(x, kernel, pad)
    expected = np.where(lowest, plain.min(axis=2), plain.max(axis=2))
    np.testing.assert_allclose(musicnn._conv_extreme(x, kernel, pad, lowest), expected, rtol=1e-5, atol=1e-4)


def test_mid_block_equals_the_plain_convolution():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 40, 24)).astype(np.float32)
    w = {"c/kernel": rng.normal(size=(7, 24, 1, 5)).astype(np.float32), "c/bias": rng.normal(size=5).astype(np.float32),
         "batch_normalization_3/gamma": rng.normal(size=5).astype(np.float32),
         "batch_normalization_3/beta": rng.normal(size=5).astype(np.float32),
         "batch_normalization_3/moving_mean": rng.normal(size=5).astype(np.float32),
         "batch_normalization_3/moving_variance": rng.random(5).astype(np.float32) + 0.5}
    z = _plain_conv(x, w["c/kernel"], (3, 3))[:, :, 0] + w["c/bias"]
    scale = w["batch_normalization_3/gamma"] / np.sqrt(w["batch_normalization_3/moving_variance"] + 1e-3)
    expected = (np.maximum(z, 0) - w["batch_normalization_3/moving_mean"]) * scale + w["batch_normalization_3/beta"]
    np.testing.assert_allclose(musicnn._mid_block(x, w, "c", 3), expected, rtol=1e-5, atol=1e-4)


def test_forward_in_steps_equals_patch_by_patch():
    """More patches than one step holds: the same numbers as each patch alone (the steps bound memory only), up to
    float32 rounding: BLAS may block a matrix product differently by its size (seen: 6e-5 relative on one CPU)."""
    x = (np.random.default_rng(2).random((musicnn._BATCH + 3, musicnn.PATCH_FRAMES, musicnn.N_MELS)) * 3)
    together = musicnn.forward(x.astype(np.float32))
    alone = [musicnn.forward(x[i:i + 1].astype(np.float32)) for i in range(len(x))]
    for name, values in together.items():
        np.testing.assert_allclose(values, np.concatenate([a[name] for a in alone]), rtol=1e-4, atol=1e-4)


def test_embedding_of_short_long_and_silent_audio():
    rng = np.random.default_rng(1)
    long = rng.normal(size=22050 * 7).astype(np.float32) * 0.1
    assert musicnn.patches(musicnn.resample_to_model(long, sr=22050)).shape == (2, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    for y in (long, long[:5000], np.zeros(22050, np.float32)):
        e = musicnn.embedding(y, sr=22050)
        assert e.shape == (musicnn.EMBEDDING_DIM,) and np.all(np.isfinite(e))
    with pytest.raises(ParameterError, match="empty"):
        musicnn.embedding(np.zeros(0, np.float32), sr=22050)


def test_overlapping_patches_start_every_hop_frames():
    y = np.random.default_rng(3).normal(size=musicnn.SR * 7).astype(np.float32) * 0.1
    back_to_back, half = musicnn.patches(y), musicnn.patches(y, hop=musicnn.PATCH_FRAMES // 2)
    assert len(back_to_back) == 2 and len(half) == 3  # 438 frames: starts 0, 187 and 0, 93, 186
    np.testing.assert_array_equal(half[0], back_to_back[0])
    np.testing.assert_array_equal(half[1][: musicnn.PATCH_FRAMES - 93], back_to_back[0][93:])
    with pytest.raises(ParameterError, match="hop"):
        musicnn.patches(y, hop=0)


def test_unknown_model_is_one_clear_error():
    with pytest.raises(ParameterError, match="MSD_musicnn or MTT_musicnn"):
        musicnn.load_weights("GTZAN_musicnn")
