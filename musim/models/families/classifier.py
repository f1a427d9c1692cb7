"""The CNN classifier family (:mod:`musim.models.classifier`) as a :class:`Family`: trains on 256 x 256
slices to predict the genre (or artist), writes the confusion matrices and the card's classification
section; a track's embedding is the mean of its slices' 128-unit penultimate layer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.jsonable import json_safe
from musim.models.families.base import CNN_CLASSIFIER, Family, Trained, need, need_listening, trained_artists

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from musim.models.classifier import ClassifierParams
    from musim.models.families.inputs import FamilyInputs


def train(inputs: FamilyInputs, params: Mapping[str, Any], workdir: Path, verbose: int) -> Trained:
    need_listening(inputs, CNN_CLASSIFIER)
    from musim.models.classifier import track_embeddings, train_classifier

    p = parse_params(params)
    slices, st = need(inputs.slices, "slices"), need(inputs.slice_track, "slices")
    res = train_classifier(slices, st, inputs.track_ids, inputs.track_artist, inputs.genres,
                           inputs.training_split(), p, verbose=verbose)
    files: dict[str, Path] = {}
    card = ["## Classification", "",
            f"This family never sees co-listening: it learns each slice's {p.label}, and its "
            f"{p.embedding_units}-unit penultimate layer, averaged over a track's slices (then over an artist's "
            "tracks, cosine), is what the evaluation above ranks.", "",
            f"Label: **{p.label}**, {len(res.classes)} classes ({', '.join(res.classes[:30])}"
            f"{', …' if len(res.classes) > 30 else ''}); trained on {res.split.train.size} tracks "
            f"({res.train_slices} slices). Track prediction = mean softmax over its slices.", ""]
    for key, rep in res.reports.items():
        card += [rep.markdown(), ""]
        if rep.tracks:
            name = f"confusion_{key}.png"
            files[name] = rep.plot(workdir / name)
            card += [f"![confusion matrix, {key}]({name})", ""]
    if "by_artist" in res.reports and "by_track" in res.reports:
        card += ["The by-track accuracy is on other tracks of artists the model trained on (their sound leaks); "
                 "the by-artist accuracy, on artists it never saw, is the honest figure.", ""]
    (workdir / "classification.json").write_text(json.dumps(json_safe({k: r.to_json() for k, r in
                                                                       res.reports.items()}), indent=1))
    files["classification.json"] = workdir / "classification.json"
    emb = track_embeddings(res.model, slices, st, len(inputs))
    return Trained(res.model, p.to_json(), res.summary(), res.history, files, "\n".join(card), emb,
                   trained_artists(inputs))


def parse_params(params: Mapping[str, Any]) -> ClassifierParams:
    from musim.models.classifier import ClassifierParams

    return ClassifierParams.from_json(params)


def embed(model: keras.Model, inputs: FamilyInputs, rows: np.ndarray,
          params: ClassifierParams | None = None) -> np.ndarray:
    """Mean embedding over the slices of each track in ``rows`` (no parameter changes it: ``params`` is unused)."""
    from musim.models.classifier import track_embeddings

    st = need(inputs.slice_track, "slices")
    rows = np.asarray(rows, dtype=np.int64)
    pos = np.full(len(inputs), -1, dtype=np.int64)
    pos[rows] = np.arange(rows.size)
    sel = np.flatnonzero(pos[st] >= 0)
    return track_embeddings(model, need(inputs.slices, "slices")[sel], pos[st[sel]], rows.size)


FAMILY = Family(CNN_CLASSIFIER, "CNN genre/artist classifier on 256x256 slices; 128-d penultimate layer",
                ("slices",), "cnn_classifier_slices", train, embed, parse_params)
