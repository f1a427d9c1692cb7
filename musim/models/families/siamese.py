"""The siamese family (:mod:`musim.models.siamese`, trained on co-listening pairs) as a :class:`Family`:
it scores an artist pair with the model's own output averaged over their clip pairs, in the evaluation and in
the served neighbour tables alike (the head on the encodings, :func:`pair_similarity`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.models.constants import SIAMESE
from musim.models.data import ClipTable
from musim.models.evaluate import Scorer
from musim.models.families.base import Family, Trained, need, need_listening, trained_artists

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.models.families.inputs import FamilyInputs
    from musim.models.hyperparams import HyperParams


def train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    need_listening(inputs, SIAMESE)
    from musim.models.train import train as train_siamese

    hp = parse_params(params)
    init_path, start = params.get("init_encoder_path"), params.get("init_encoder")
    init = None
    if init_path:
        from musim.models.families.base import load_keras

        init = load_keras(init_path)
    result = train_siamese(need(inputs.mel, "log-mels"), inputs.track_artist, need(inputs.targets, "targets"), hp,
                           split=inputs.split, verbose=verbose, init_encoder=init)
    vectors = embed(result.model, inputs, np.arange(len(inputs)))
    card = (f"## Start\n\nThe encoder started from {start}'s weights (self-supervised on the audio alone) and was "
            "fine-tuned on co-listening targets." if start else
            "## Start\n\nThe encoder started from random weights (`init_encoder` starts it from a contrastive "
            "encoder of the same architecture).")
    return Trained(result.model, hp.to_json() | {"init_encoder": start}, result.summary(), result.history,
                   card=card, embeddings=vectors, artists=trained_artists(inputs))


def parse_params(params: Mapping[str, Any]) -> HyperParams:
    """The hyperparameters; ``init_encoder`` (the encoder to start from) and its resolved path are the family's
    own, read by :func:`train`."""
    from dataclasses import fields

    from musim.errors import check_known
    from musim.models.hyperparams import HyperParams

    own = ("init_encoder", "init_encoder_path")
    check_known("hyperparameter", [k for k in params if k != "init_encoder_path"],  # the path is resolved, not given
                [f.name for f in fields(HyperParams)] + ["init_encoder"])
    check_init_encoder(params.get("init_encoder"))
    return HyperParams.from_json({k: v for k, v in params.items() if k not in own})


#: What ``init_encoder`` names: the contrastive champion (``contrastive``) or a contrastive version (``contrastive-3``).
_INIT_ENCODER = re.compile(r"^contrastive(-[1-9][0-9]*)?$")


def check_init_encoder(start: Any) -> None:
    """Refuse an ``init_encoder`` that names no contrastive encoder, before anything is loaded (it was found out in the
    train task, after the inputs were prepared: another family's model, a number, a typo). Null means none."""
    from musim.errors import ParameterError

    if start is None or start == "" or (isinstance(start, str) and _INIT_ENCODER.fullmatch(start)):
        return
    raise ParameterError(f"hyperparameter init_encoder: {start!r} is no contrastive encoder; give \"contrastive\" (its "
                         "champion), a contrastive version such as \"contrastive-3\" (`musim models list --family "
                         "contrastive`), or null for random weights")


def embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray, params: HyperParams | None = None) -> np.ndarray:
    """The encoder's vector of each track in ``rows`` (no parameter changes it: ``params`` is unused)."""
    from musim.models.siamese import embed as embed_clips
    from musim.models.siamese import encoder_of

    return embed_clips(encoder_of(model), need(inputs.mel, "log-mels"), rows)


def scorer(model: keras.Model, inputs: FamilyInputs, clips: ClipTable) -> Scorer:
    from musim.models.siamese import siamese_scorer

    return siamese_scorer(model, need(inputs.mel, "log-mels"), clips)


def pair_similarity(model: keras.Model) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The model's head on two sets of encodings: ``(n, d), (m, d) -> (n, m)`` outputs in 0..1."""
    from musim.models.siamese import pair_scores

    def head(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return pair_scores(model, a, b, chunk=16)

    return head


FAMILY = Family(SIAMESE, "siamese CNN on clip pairs, trained on co-listening similarity", ("log_mel",),
                "siamese_log_mel", train, embed, parse_params, scorer, pair_similarity)
