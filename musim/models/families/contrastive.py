"""The self-supervised family (:mod:`musim.models.contrastive`) as a :class:`Family`: an encoder trained on the
log-mels of every track by contrasting augmented crops (no labels, no listening data); a track's embedding is
the encoder's mean over several crops of its excerpt; artists are compared by the cosine of their mean track
embeddings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.models.families.base import CONTRASTIVE, Family, Trained, need
from musim.models.hyperparams import ContrastiveParams

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.models.families.inputs import FamilyInputs


def train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    """Train on every track (the audio alone: test artists' tracks too, since no label is seen)."""
    from musim.models.contrastive import train_contrastive

    p = parse_params(params)
    x = need(inputs.mel, "log-mels")
    res = train_contrastive(x, params=p, verbose=verbose)
    emb = embed(res.model, inputs, np.arange(len(inputs)), p)
    s = res.summary()
    card = (f"## Self-supervised training\n\nInfoNCE loss {s['first_loss']:.3f} → {s['last_loss']:.3f} over "
            f"{s['epochs_run']} epochs on {len(inputs)} tracks (two augmented {p.crop_frames}-frame crops of a "
            f"track are a positive pair, the batch's other tracks the negatives; temperature {p.temperature}). "
            f"A track's embedding is the mean over {p.embed_crops} crops of its excerpt. No label and no "
            "listening data was used.")
    return Trained(res.model, p.to_json(), s, res.history, {}, card, emb, np.unique(inputs.track_artist))


def parse_params(params: Mapping[str, Any]) -> ContrastiveParams:
    return ContrastiveParams.from_json(params)


def embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray,
          params: ContrastiveParams | None = None) -> np.ndarray:
    """The encoder's mean over the version's ``embed_crops`` (``params``: its parameters, None: the defaults)
    evenly spaced crops of each track's log-mel in ``rows``: the crops its published embeddings were made with."""
    from musim.models.contrastive import embed as embed_crops

    p = params if params is not None else ContrastiveParams()
    return embed_crops(model, need(inputs.mel, "log-mels"), rows, crops=p.embed_crops)


FAMILY = Family(CONTRASTIVE, "self-supervised encoder: augmented crops of a track against the batch (InfoNCE)",
                ("log_mel",), "contrastive_log_mel", train, embed, parse_params)
