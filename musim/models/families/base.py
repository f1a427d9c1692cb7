"""The family protocol: what a model family is (:class:`Family`), what its training gives (:class:`Trained`),
the family names, and the helpers every family shares (cosine scoring, input checks, Keras files).

A family is a value, not a class hierarchy: its name, its inputs (``log_mel``, ``slices``,
``descriptors``), its feature service, and these functions::

    train(inputs: FamilyInputs, params: dict, workdir: Path, verbose: int) -> Trained
    embed(model, inputs: FamilyInputs, rows, params=None) -> (len(rows), d) track vectors, as the version with
                                 the typed ``params`` embeds (None: the defaults; see Family.version_params)
    parse_params(params: dict) -> the family's typed parameters (musim.params), checked before anything runs
    scorer(model, inputs, clips) -> Scorer          # optional; default: cosine of mean track vectors
    pair_similarity(model) -> (a (n, d), b (m, d)) -> (n, m)   # optional; how served neighbours are scored
                                                               # from embeddings (default: cosine)

The families themselves are in :mod:`.siamese`, :mod:`.classifier`, :mod:`.autoencoder`, :mod:`.contrastive`
and :mod:`.descriptors`; :mod:`.lookup` names them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.errors import ParameterError
from musim.models.constants import FAMILY_NAMES, SIAMESE
from musim.models.data import ClipTable
from musim.models.evaluate import Scorer, embedding_scorer

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.models.families.inputs import FamilyInputs

__all__ = ["AUTOENCODER", "CNN_CLASSIFIER", "CONTRASTIVE", "DESCRIPTORS", "FAMILY_NAMES", "FEATURES", "LISTENING_FAMILIES",
           "SIAMESE", "Family",
           "Trained", "cosine_scorer", "load_keras", "need", "need_listening", "save_keras",
           "trained_artists"]

CNN_CLASSIFIER = "cnn_classifier"
AUTOENCODER = "autoencoder"
DESCRIPTORS = "descriptors"
CONTRASTIVE = "contrastive"
assert FAMILY_NAMES == (SIAMESE, CNN_CLASSIFIER, AUTOENCODER, CONTRASTIVE, DESCRIPTORS)
#: The families that learn from listening data (co-listening targets and the common split: :func:`need_listening`);
#: the others train on the audio alone, and without listening data are judged by artist identity.
LISTENING_FAMILIES = (SIAMESE, CNN_CLASSIFIER)
#: The inputs a family can need.
FEATURES = ("log_mel", "slices", "descriptors")


@dataclass
class Trained:
    """What a family's training gives: the model and what goes next to it."""

    model: keras.Model
    params: dict[str, Any]
    training: dict[str, Any]
    history: dict[str, list[float]]
    files: dict[str, Path] = field(default_factory=dict)      # extra files for models/<family>/<version>/
    card: str = ""                                            # a markdown section for the card
    embeddings: np.ndarray | None = None                      # (N, d) of every track, when computed anyway
    artists: np.ndarray | None = None                         # the artists trained on, validation included


@dataclass(frozen=True)
class Family:
    """One model family: its inputs, how it trains and embeds, and how it scores artist pairs.

    ``train(inputs, params: dict, workdir, verbose) -> Trained``; ``parse_params(params: dict)``: the family's
    typed parameters, or a :class:`ParameterError` naming the first bad one (checked before anything is loaded
    or trained; ``train`` reads its parameters through it); ``embed(model, inputs, rows, params=None) -> (n, d)``
    track vectors, with the version's own typed parameters (:meth:`version_params`; None: the defaults), so
    that every later embedding of a version is the one it was trained and published with;
    ``scorer(model, inputs, clips) -> Scorer`` (default: cosine of the artists' mean track
    vectors, :func:`musim.models.evaluate.embedding_scorer`). ``recorded``: names ``train`` records beside the
    parameters that are not given (the descriptors' ``dims``).
    """

    name: str
    description: str
    inputs: tuple[str, ...]
    feature_service: str
    train: Callable[..., Trained]
    embed: Callable[..., np.ndarray]
    parse_params: Callable[[Mapping[str, Any]], Any]
    scorer: Callable[..., Scorer] | None = None
    pair_similarity: Callable[[keras.Model], Callable[[np.ndarray, np.ndarray], np.ndarray]] | None = None
    recorded: tuple[str, ...] = ()

    def version_params(self, stored: Mapping[str, Any] | None) -> Any:
        """A version's typed parameters from what its registry entry (``entry.params``) or its training
        (``Trained.params``) recorded (None: the defaults): what :attr:`embed` embeds that version with."""
        return self.parse_params({k: v for k, v in (stored or {}).items() if k not in self.recorded})

    def make_scorer(self, model: keras.Model, inputs: FamilyInputs, clips: ClipTable, params: Any = None) -> Scorer:
        """The family's scorer of ``model``; ``params``: the version's typed parameters (:meth:`version_params`)."""
        if self.scorer is not None:
            return self.scorer(model, inputs, clips)
        return cosine_scorer(self, model, inputs, clips, params=params)


def cosine_scorer(fam: Family, model: keras.Model, inputs: FamilyInputs, clips: ClipTable,
                  vectors: np.ndarray | None = None, params: Any = None) -> Scorer:
    """Artist similarity = cosine of the artists' mean track vectors (``vectors``: precomputed, all tracks; else
    embedded with the version's typed ``params``, :meth:`Family.version_params`)."""
    def scorer(artist_ids: np.ndarray) -> np.ndarray:
        rows, _ = clips.flat(artist_ids)
        v = vectors[rows] if vectors is not None else fam.embed(model, inputs, rows, params)
        full = np.zeros((len(inputs), v.shape[1]), dtype=np.float32)
        full[rows] = v
        return embedding_scorer(full, clips)(artist_ids)

    return scorer


def trained_artists(inputs: FamilyInputs, *, validation: bool = True) -> np.ndarray:
    """The artists a family trained on when it learns from the training side of the common split (its validation
    artists too with ``validation``), or from every track when the inputs have no split (no listening data)."""
    if inputs.split is None:
        return np.unique(inputs.track_artist)
    split = inputs.training_split()
    return np.union1d(split.train, split.validation) if validation else split.train


def need_listening(inputs: FamilyInputs, family: str) -> None:
    """ParameterError unless the inputs have co-listening targets and the common split (``family`` needs them)."""
    if inputs.targets is None or inputs.split is None:
        raise ParameterError(f"the {family} family learns from listening data: it needs a Last.FM dump and a "
                             "similarity build (`musim ingest lastfm`, `musim similarity build`); on a music library "
                             "without one, train contrastive, autoencoder or descriptors")


def need(value: Any, what: str, why: str | None = None) -> Any:
    """``value``, or a ParameterError saying why the inputs have no ``what`` (``why``, when the loading knew it:
    e.g. the tracks whose descriptors are not finite), else that they were loaded without it."""
    if value is None:
        if why:
            raise ParameterError(f"these inputs have no {what}: {why}")
        raise ParameterError(f"these inputs have no {what}; load them with needs including it")
    return value


def load_keras(path: str | Path) -> keras.Model:
    from musim.models.siamese import load_model

    return load_model(path)


def save_keras(model: keras.Model, path: Path) -> None:
    from musim.models.siamese import save_model

    save_model(model, path)
