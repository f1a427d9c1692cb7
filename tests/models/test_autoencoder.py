"""The autoencoder family: shapes, code size, training with early stopping, reconstruction, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from musim.errors import ParameterError
from musim.models.toy import planted_data

SHAPE = (32, 16)


def test_shapes_and_code_size():
    from musim.models.autoencoder import AutoencoderConfig, build_autoencoder, decoder_of, encoder_of

    config = AutoencoderConfig(input_shape=SHAPE, conv_filters=(8, 4))
    model = build_autoencoder(config)
    assert model.output_shape == (None, *SHAPE)
    assert config.code_shape == (8, 4, 4) and config.code_size == 128
    assert encoder_of(model).output_shape == (None, 128) and decoder_of(model).input_shape == (None, 128)
    origin = AutoencoderConfig()                      # 256 x 64 log-mels, Conv2D 16-8-8 as in the origin
    assert origin.code_shape == (32, 8, 8) and origin.code_size == 2048
    with pytest.raises(ParameterError):
        AutoencoderConfig(input_shape=(30, 16), conv_filters=(8, 4))    # 30 is not divisible by 2 ** 2
    with pytest.raises(ParameterError):
        from musim.models.autoencoder import AutoencoderParams

        AutoencoderParams(loss="hinge")


def test_train_early_stopping_reconstruct_and_round_trip(tmp_path):
    from musim.models.autoencoder import AutoencoderParams, encode, reconstruct, train_autoencoder
    from musim.models.siamese import load_model, save_model

    toy = planted_data(communities=2, artists_per_community=4, clips_per_artist=3, shape=SHAPE, seed=2)
    p = AutoencoderParams(conv_filters=(8, 4), epochs=6, batch_size=8, early_stopping_patience=1, stop_below=0.99,
                          validation_share=0.25, loss="bce")
    result = train_autoencoder(toy.x, p)
    assert "val_loss" in result.history and result.epochs_run == 1        # stop_below 0.99 ends it at once
    assert result.validation_rows.size == 6 and result.train_rows.size == 18
    assert not set(result.validation_rows.tolist()) & set(result.train_rows.tolist())
    summary = result.summary()
    assert summary["code_size"] == 128 and summary["reconstruction"]["on"] == "validation"

    rec = reconstruct(result.model, toy.x[:3].astype(np.float32))
    assert rec.shape == (3, *SHAPE) and rec.min() >= -80 - 1e-3 and rec.max() <= 1e-3
    emb = encode(result.model, toy.x)
    assert emb.shape == (toy.x.shape[0], 128) and np.isfinite(emb).all()

    save_model(result.model, tmp_path / "ae.keras")
    again = load_model(tmp_path / "ae.keras")
    np.testing.assert_allclose(encode(again, toy.x), emb, atol=1e-5)

    mse = train_autoencoder(toy.x, AutoencoderParams(conv_filters=(8, 4), epochs=2, batch_size=8, loss="mse",
                                                     early_stopping_patience=None),
                            rows=np.arange(12))
    assert len(mse.history["loss"]) == 2 and mse.train_rows.size + mse.validation_rows.size == 12
