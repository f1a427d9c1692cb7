"""Training progress: one bar of epochs on stderr where someone watches (:mod:`musim.progress`), with the loss.

The trainers take ``verbose``: 0 shows nothing; 1 shows the bar on a terminal (``musim models train``), never in a
DAG task's log. Keras's own progress output stays off: it writes to stdout, where a command prints its results.
Importing this module imports Keras.
"""

from __future__ import annotations

from typing import Any

import keras

from musim.progress import progress_bar


def epoch_bar(epochs: int, family: str, verbose: int) -> Any:
    """A bar of ``epochs`` labelled ``train <family>``: drawn when ``verbose`` and stderr is a terminal."""
    return progress_bar(epochs, unit="epoch", desc=f"train {family}", enabled=None if verbose else False)


def show_losses(bar: Any, logs: dict[str, Any] | None) -> None:
    """One epoch done: the bar moves, showing the epoch's losses (``loss``, ``val_loss``)."""
    shown = {k: float(v) for k, v in (logs or {}).items() if k in ("loss", "val_loss")}
    bar.set_postfix_str(", ".join(f"{k} {v:.4f}" for k, v in shown.items()), refresh=False)
    bar.update(1)


class EpochBar(keras.callbacks.Callback):
    """:func:`epoch_bar` as a Keras callback (closed when training ends, early stopping included)."""

    def __init__(self, epochs: int, family: str, verbose: int) -> None:
        super().__init__()
        self.bar = epoch_bar(epochs, family, verbose)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        show_losses(self.bar, logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.bar.close()
