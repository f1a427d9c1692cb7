"""The self-supervised encoder: augmentations, the InfoNCE loss falling on crops that share a signature,
crop-pooled embeddings that find a track's kin, and the siamese network starting from it."""

from __future__ import annotations

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.models.label_eval import retrieval_report

SMALL = dict(crop_frames=24, conv_filters=(8, 16), dense_units=16, projection_units=16, batch_size=8,
             steps_per_epoch=6, learning_rate=3e-3, embed_crops=3, freq_mask=1, pitch_bins=0)  # 16 mel bands: milder


def _signatures(artists: int = 4, tracks: int = 3, frames: int = 64, mels: int = 16, seed: int = 0):
    """Log-mels whose mel bands carry each artist's signature (a fixed, smooth spectral envelope, as real spectra
    are across neighbouring mel bands) under noise and a per-track level: crops of one track, and tracks of one
    artist, share it."""
    rng = np.random.default_rng(seed)
    knots = rng.uniform(-60, -5, size=(artists, 5))
    shapes = np.stack([np.interp(np.linspace(0, 4, mels), np.arange(5), k) for k in knots])
    x, owner = [], []
    for a in range(artists):
        for _ in range(tracks):
            level = rng.uniform(-8, 0)
            x.append(np.clip(shapes[a] + level + rng.normal(0, 4, size=(frames, mels)), -80, 0))
            owner.append(a)
    return np.asarray(x, dtype=np.float16), np.asarray(owner)


def test_augmented_crops_have_the_crop_shape_and_stay_in_range():
    from musim.models.contrastive import ContrastiveParams, augment, crops_of

    x, _ = _signatures()
    p = ContrastiveParams(**SMALL | {"pitch_bins": 2}, tempo=0.2, gain_db=10)
    rng = np.random.default_rng(1)
    crops = [augment(x[0], p, rng) for _ in range(20)]
    assert all(c.shape == (24, 16) and c.dtype == np.float32 for c in crops)
    assert min(c.min() for c in crops) >= -80 and max(c.max() for c in crops) <= 0
    assert len({c.tobytes() for c in crops}) == 20                       # every view differs
    assert crops_of(x[0], 24, 3).shape == (3, 24, 16) and crops_of(x[0][:10], 24, 2).shape == (2, 24, 16)
    with pytest.raises(ParameterError, match="unknown contrastive parameter"):
        ContrastiveParams.from_json({"crop_frame": 8})


def test_the_loss_falls_and_embeddings_find_the_same_signature():
    """Every track has a signature of its own: crops of a track are the positives. Trained, the loss falls well
    below its start, and the two halves of a track embed nearest each other."""
    from musim.models.contrastive import ContrastiveParams, embed, train_contrastive

    x, _ = _signatures(artists=16, tracks=1, frames=96)
    res = train_contrastive(x, params=ContrastiveParams(**SMALL, epochs=15))
    loss = res.history["loss"]
    print("losses", [round(v, 3) for v in loss])
    assert len(loss) == 15 and np.mean(loss[-3:]) < 0.7 * loss[0]
    halves = np.concatenate([x[:, :48], x[:, 48:]])
    z = embed(res.model, halves, crops=2)
    assert z.shape == (32, 16) and np.allclose(np.linalg.norm(z, axis=1), 1, atol=1e-5)
    report = retrieval_report("contrastive", [i % 16 for i in range(32)], vectors=z, n_boot=100)
    print("retrieval", report.summary)
    assert report.summary["p1"]["mean"] > 0.6 and report.summary["auc"]["mean"] > 0.9
    with pytest.raises(ParameterError, match="at least 2 tracks"):
        train_contrastive(x[:1], params=ContrastiveParams(**SMALL))
    too_long = {**SMALL, "crop_frames": x.shape[1] + 1}  # used to train on crops that were mostly padding
    with pytest.raises(ParameterError, match=rf"crop_frames {x.shape[1] + 1} is longer than the log-mel excerpts "
                                             rf"\({x.shape[1]} frames\): use at most {x.shape[1]}"):
        train_contrastive(x, params=ContrastiveParams(**too_long))


def test_a_frequency_mask_or_pitch_shift_wider_than_the_mel_bands_is_refused_before_training():
    # `--hparams '{"freq_mask": 1000}'` failed after the inputs were loaded with "ValueError: high <= 0"
    from musim.models.contrastive import ContrastiveParams, train_contrastive

    x, _ = _signatures(mels=16)
    for name, value, most in (("freq_mask", 17, 16), ("pitch_bins", 16, 15)):
        with pytest.raises(ParameterError, match=rf"^{name} {value} is wider than the log-mel's 16 mel bands: use at "
                                                 rf"most {most}$"):
            train_contrastive(x, params=ContrastiveParams(**SMALL | {name: value}))


def test_the_siamese_network_starts_from_the_contrastive_encoder():
    from musim.models.contrastive import ContrastiveParams, train_contrastive
    from musim.models.siamese import SiameseConfig, build_siamese
    from musim.models.train import start_from

    x, _ = _signatures()
    enc = train_contrastive(x, params=ContrastiveParams(**SMALL, epochs=1)).model
    model = build_siamese(SiameseConfig(input_shape=(64, 16), conv_filters=(8, 16), dense_units=16))
    start_from(model, enc)
    for name in ("conv0", "conv1", "bn0", "encoding"):
        for a, b in zip(model.get_layer("encoder").get_layer(name).get_weights(), enc.get_layer(name).get_weights(),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    other = build_siamese(SiameseConfig(input_shape=(64, 16), conv_filters=(8, 32), dense_units=16))
    with pytest.raises(ParameterError, match="conv1"):
        start_from(other, enc)


def test_track_embeddings_pool_the_encoder_over_several_crops():
    """A track's embedding is the encoder's mean over evenly spaced crops of its excerpt (then unit length): not
    one crop, so a track whose halves differ embeds between them."""
    import keras

    from musim.models.contrastive import ContrastiveParams, crops_of, embed
    from musim.models.siamese import build_encoder

    keras.utils.set_random_seed(0)
    p = ContrastiveParams(**SMALL)
    encoder = build_encoder(p.encoder_config(16))
    x, _ = _signatures(artists=2, tracks=1, frames=96)
    mixed = np.concatenate([x[0][:48], x[1][48:]])[None]  # first half track 0's signature, second half track 1's
    z = embed(encoder, np.concatenate([x, mixed]), crops=4)
    for i, mel in enumerate([x[0], x[1], mixed[0]]):
        mean = np.asarray(encoder(crops_of(mel, 24, 4), training=False)).mean(axis=0)
        assert np.allclose(z[i], mean / np.linalg.norm(mean), atol=1e-5)
    first, last = (np.asarray(encoder(crops_of(mixed[0], 24, 4)[[k]], training=False))[0] for k in (0, 3))
    assert not np.allclose(first / np.linalg.norm(first), z[2], atol=1e-3)   # neither end alone
    assert not np.allclose(last / np.linalg.norm(last), z[2], atol=1e-3)
    assert not np.allclose(embed(encoder, mixed, crops=1)[0], z[2], atol=1e-3)   # one crop is not the pool


def test_the_card_of_a_contrastive_model_says_how_it_trained():
    """Its Training section read "None examples/s; device: `None`" and "Final: `None`; best loss –;
    `{'crop_frames': 24, ...}` weights": the summary lacked the keys every family's has, and its params were the
    hyperparameters, not the weight count."""
    from musim.models.card import render_card
    from musim.models.contrastive import ContrastiveParams, train_contrastive
    from tests.models.conftest import _report, _truth

    x, _ = _signatures()
    res = train_contrastive(x, params=ContrastiveParams(**SMALL, epochs=2))
    card = render_card(version="contrastive-1", family="contrastive", report=_report(_truth(), 0.3),
                       params=res.params.to_json(), training=res.summary(), curves=False)
    section = card.split("## Training\n", 1)[1].split("\n## ", 1)[0]
    assert "None" not in section and "{'crop_frames'" not in section, section
    assert f"; {res.model.count_params()} weights" in section and "examples/s; device: `{'gpus': " in section
    assert f"Final: `{{'loss': {res.history['loss'][-1]}}}`; best loss {min(res.history['loss']):.4f}" in section
    assert res.summary()["examples_per_second"] > 0 and res.summary()["last_loss"] == res.history["loss"][-1]


def test_the_encoding_layer_takes_the_activation_the_parameters_name():
    """``dense_activation`` reaches the encoder's ``encoding`` layer (None: linear), and is recorded."""
    from musim.models.contrastive import ContrastiveParams
    from musim.models.siamese import build_encoder

    for act, expected in ((None, "linear"), ("relu", "relu"), ("tanh", "tanh")):
        p = ContrastiveParams(**SMALL, dense_activation=act)
        enc = build_encoder(p.encoder_config(16))
        assert enc.get_layer("encoding").get_config()["activation"] == expected
        assert ContrastiveParams.from_json(p.to_json()) == p
    with pytest.raises(ParameterError, match="dense_activation"):
        ContrastiveParams(dense_activation="softmax")
