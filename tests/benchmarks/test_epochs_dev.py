"""epochs_dev: its reference is the contrastive family's default length, and the other lengths are longer."""

from __future__ import annotations

from benchmarks.real_music.epochs_dev import EPOCHS
from musim.models.hyperparams import ContrastiveParams


def test_the_reference_is_the_family_s_default_and_the_candidates_train_longer() -> None:
    assert EPOCHS[0] == ContrastiveParams().epochs
    assert list(EPOCHS) == sorted(set(EPOCHS)) and len(EPOCHS) == 3
