"""The autoencoder family (:mod:`musim.models.autoencoder`) as a :class:`Family`: trains on the log-mels
of all tracks together, writes the views (t-SNE, k-means, dendrogram, reconstruction, descriptor t-SNE:
:mod:`musim.models.views`) and the card's reconstruction section; a track's embedding is the flattened
encoder output."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.models.families.base import AUTOENCODER, Family, Trained, need, trained_artists
from musim.models.hyperparams import AutoencoderParams

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.models.families.inputs import FamilyInputs


def train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    from musim.models.autoencoder import encode, reconstruct, train_autoencoder
    from musim.models.views import write_embedding_views

    p = parse_params(params)
    x = need(inputs.mel, "log-mels")
    rows = None
    if p.train_on == "train_artists":
        rows = np.flatnonzero(np.isin(inputs.track_artist, inputs.training_split().train))
    res = train_autoencoder(x, p, rows=rows, verbose=verbose)
    emb = encode(res.model, x)
    labels, by = inputs.labels()
    show = int(res.validation_rows[0]) if res.validation_rows.size else 0
    views = write_embedding_views(workdir, emb, labels=labels, names=inputs.names(), descriptors=inputs.descriptors,
                                  original=np.asarray(x[show], np.float32),
                                  reconstructed=reconstruct(res.model, np.asarray(x[show:show + 1], np.float32))[0],
                                  reconstruction_name=f"{inputs.names()[show]} (not trained on)"
                                  if res.validation_rows.size else inputs.names()[show],
                                  perplexity=p.perplexity, learning_rate=p.tsne_learning_rate, k=p.k, seed=p.seed,
                                  label_name=by)
    training = res.summary() | {"views": views.to_json() | {"files": list(views.files)}}
    rec = res.reconstruction
    card = [f"## Reconstruction\n\nMean absolute error {rec.get('mae_db', math.nan):.2f} dB on {rec.get('tracks')} "
            f"{rec.get('on')} tracks ({p.loss.upper()} loss on spectrograms scaled to 0..1; trained on "
            f"{'all tracks' if p.train_on == 'all' else 'the training artists'}: the audio only, never "
            "co-listening).", "", views.markdown()]
    artists = (trained_artists(inputs, validation=False) if p.train_on == "train_artists"
               else np.unique(inputs.track_artist))  # every track's audio, the test artists' too
    return Trained(res.model, p.to_json(), training, res.history, dict(views.files), "\n".join(card), emb, artists)


def parse_params(params: Mapping[str, Any]) -> AutoencoderParams:
    return AutoencoderParams.from_json(params)


def embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray,
          params: AutoencoderParams | None = None) -> np.ndarray:
    """The flattened encoder output of each track in ``rows`` (no parameter changes it: ``params`` is unused)."""
    from musim.models.autoencoder import encode

    return encode(model, need(inputs.mel, "log-mels"), rows)


FAMILY = Family(AUTOENCODER, "convolutional autoencoder on log-mels; flattened code", ("log_mel",),
                "autoencoder_log_mel", train, embed, parse_params)
