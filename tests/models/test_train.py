"""Training: the loss goes down, hyperparameters round-trip, runtime choices on this machine."""

from __future__ import annotations

import numpy as np
import pytest

from musim.errors import ParameterError


def _mse(model, x, pairs) -> float:
    left, right = x[pairs.left].astype(np.float32), x[pairs.right].astype(np.float32)
    y = np.asarray(model({"left": left, "right": right}, training=False)).ravel()
    return float(np.mean((y - pairs.y) ** 2))


def test_short_training_lowers_the_loss(trained, toy):
    from musim.models.siamese import build_siamese

    h = trained.history
    assert len(h["loss"]) == trained.epochs_run == 4
    assert h["loss"][-1] < h["loss"][0]
    untrained = build_siamese(trained.hparams.siamese_config())
    before, after = _mse(untrained, toy.x, trained.data.train), _mse(trained.model, toy.x, trained.data.train)
    assert after < 0.7 * before
    assert trained.examples_per_second > 0 and trained.device["gpus"] == 0
    assert trained.model.dtype_policy.name == "float32"
    s = trained.summary()
    assert s["data"]["train_pairs"] == len(trained.data.train) and "val_loss" in s["final"]


def test_hyperparams_json_and_validation():
    from musim.models.train import HyperParams

    hp = HyperParams(conv_filters=(4, 8), epochs=2, sampling="natural", train_pairs=None)
    assert HyperParams.from_json(hp.to_json()) == hp
    with pytest.raises(ParameterError):
        HyperParams.from_json({**hp.to_json(), "lr": 1})
    with pytest.raises(ParameterError):
        HyperParams(batch_size=0)
    with pytest.raises(ParameterError):
        HyperParams(zero_share=2.0)
    with pytest.raises(ParameterError):
        HyperParams(mixed_precision="maybe")


def test_runtime_on_cpu_and_forced_settings():
    from musim.models.train import HyperParams, runtime

    strategy, mixed, info = runtime(HyperParams())
    assert not mixed and info["replicas"] == 1 and info["strategy"] == "_DefaultDistributionStrategy"
    _, mixed, _ = runtime(HyperParams(mixed_precision="on"))
    assert mixed


def test_gpu_code_path_mixed_precision_and_mirrored_on_cpu(toy):
    """What a GPU run does (mixed precision, MirroredStrategy), forced on the CPU: it trains and exports float32."""
    from musim.models.train import HyperParams, train

    hp = HyperParams(conv_filters=(4, 8), dense_units=8, train_pairs=60, validation_pairs=20, epochs=1, batch_size=32,
                     mixed_precision="on", distribute="mirrored")
    r = train(toy.x, toy.track_artist, toy.targets, hp)
    assert r.device["mixed_precision"] and r.device["strategy"] == "MirroredStrategy"
    assert r.model.dtype_policy.name == "float32"
    assert {layer.dtype_policy.name for layer in r.model.get_layer("encoder").layers} == {"float32"}
    assert np.isfinite(r.history["loss"][0])
