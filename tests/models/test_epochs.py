"""Training progress: a bar of epochs with the loss on a terminal's stderr, nothing on a pipe or in a DAG's log."""

from __future__ import annotations

import io
import sys

from tests.models.test_contrastive import SMALL, _signatures


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_keras_fit_and_the_contrastive_loop_draw_one_bar_of_epochs_on_a_terminal(monkeypatch, capsys):
    """`musim models train` ran for minutes with nothing on the screen (Keras's own output was off: it writes to
    stdout, where the command prints its results)."""
    from musim.models.autoencoder import AutoencoderParams, train_autoencoder
    from musim.models.contrastive import ContrastiveParams, train_contrastive
    from musim.models.toy import planted_data

    toy = planted_data(communities=2, artists_per_community=2, clips_per_artist=3, shape=(32, 16), seed=2)
    x, _ = _signatures()
    ae = AutoencoderParams(conv_filters=(8, 4), epochs=3, batch_size=8, early_stopping_patience=None)
    terminal = _Terminal()
    with monkeypatch.context() as patch:  # only stderr (undo() would drop the test's MUSIM_HOME too)
        patch.setattr(sys, "stderr", terminal)
        train_autoencoder(toy.x, ae, verbose=1)
        train_contrastive(x, params=ContrastiveParams(**SMALL, epochs=2), verbose=1)
        drawn = terminal.getvalue()
        assert "train autoencoder: 100%" in drawn and "3/3" in drawn and "val_loss" in drawn
        assert "train contrastive: 100%" in drawn and "2/2" in drawn and "loss " in drawn
        terminal.truncate(0)
        train_autoencoder(toy.x, ae, verbose=0)  # a DAG task, --no-progress
        assert terminal.getvalue() == ""
    train_contrastive(x, params=ContrastiveParams(**SMALL, epochs=1), verbose=1)  # stderr not a terminal
    assert capsys.readouterr() == ("", "")
