"""musim.models.card: what a model card says about its evaluation."""

from __future__ import annotations

from tests.models.conftest import _report, _truth


def test_a_card_says_when_the_model_heard_the_test_artists_audio():
    """The contrastive and autoencoder families train on every track's audio, the test artists' too, and were
    ranked against the siamese family and the baselines on those artists without a word on the card."""
    from musim.models.card import render_card

    report = _report(_truth(1), 0.5)
    said = "the evaluation is transductive"
    assert said in render_card(version="contrastive-1", family="contrastive", report=report, params={}, curves=False)
    assert said in render_card(version="autoencoder-1", family="autoencoder", report=report,
                               params={"train_on": "all"}, curves=False)
    assert said not in render_card(version="autoencoder-2", family="autoencoder", report=report,
                                   params={"train_on": "train_artists"}, curves=False)
    assert said not in render_card(version="siamese-1", family="siamese", report=report, params={}, curves=False)
