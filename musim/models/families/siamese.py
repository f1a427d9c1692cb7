"""The siamese family (:mod:`musim.models.siamese`, trained on co-listening pairs) as a :class:`Family`:
it scores an artist pair with the model's own output averaged over their clip pairs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.models.constants import SIAMESE
from musim.models.data import ClipTable
from musim.models.evaluate import Scorer
from musim.models.families.base import Family, Trained, need

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.models.families.inputs import FamilyInputs


def train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    from musim.models.train import HyperParams
    from musim.models.train import train as train_siamese

    hp = HyperParams.from_json(dict(params))
    result = train_siamese(need(inputs.mel, "log-mels"), inputs.track_artist, need(inputs.targets, "targets"), hp,
                   split=inputs.split, verbose=verbose)
    return Trained(result.model, hp.to_json(), result.summary(), result.history)


def embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray) -> np.ndarray:
    from musim.models.siamese import embed as embed_clips
    from musim.models.siamese import encoder_of

    return embed_clips(encoder_of(model), need(inputs.mel, "log-mels"), rows)


def scorer(model: keras.Model, inputs: FamilyInputs, clips: ClipTable) -> Scorer:
    from musim.models.siamese import siamese_scorer

    return siamese_scorer(model, need(inputs.mel, "log-mels"), clips)


FAMILY = Family(SIAMESE, "siamese CNN on clip pairs, trained on co-listening similarity", ("log_mel",),
                "siamese_log_mel", train, embed, scorer)
