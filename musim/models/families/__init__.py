"""Model families side by side: how each trains, embeds and is evaluated, with one registry, one
evaluation and one serving path.

=================  ==============  ===========================================  ================================
family             inputs          model                                        similarity of two artists
=================  ==============  ===========================================  ================================
``siamese``        log-mel         siamese CNN on clip pairs (co-listening)     mean pair output over their clips
``cnn_classifier`` slices          genre/artist classifier, 128-d penultimate   cosine of mean track embeddings
``autoencoder``    log-mel         convolutional autoencoder, flattened code    cosine of mean track embeddings
``descriptors``    descriptors     z-scoring of the handcrafted descriptors     cosine of mean track vectors
=================  ==============  ===========================================  ================================

Every family is evaluated by :func:`musim.models.evaluate.evaluate` on the **same test artists** (the
seeded artist split of :func:`musim.models.data.split_artists` over the artists with features and
targets, as the siamese pipeline does), against the same baselines, with its own champion and the other
families' champions re-scored in the same run (so the registry holds paired per-query values for
cross-family comparisons), and registered with :func:`musim.models.registry.register_model`.

Where things are (each module a few hundred lines at most; every name below is importable from
``musim.models.families`` too):

- :mod:`.base` — the :class:`Family` protocol, :class:`Trained`, the family names, shared helpers
- :mod:`.siamese`, :mod:`.classifier`, :mod:`.autoencoder`, :mod:`.descriptors` — one family each: how it
  trains (and what it writes next to the model: confusion matrices, views, card sections) and embeds
- :mod:`.lookup` — :data:`FAMILIES` by name, :func:`get_family`, :func:`inputs_needed`, each family's feature service and serving
  manifest
- :mod:`.inputs` — :class:`FamilyInputs`, :func:`load_manifest`, :func:`load_inputs`, :func:`gate_inputs` (the training_split quality gate)
- :mod:`.evaluation` — :func:`train_evaluate`, :func:`evaluate_family`, :class:`FamilyRun`
- :mod:`.record` — :func:`record_run` (register, promote, publish), :func:`run_family` (all in one process)
- :mod:`.staged` — the training DAGs' five phases: :func:`plan_job` (prepare), :func:`train_staged`,
  :func:`evaluate_staged`, :func:`promote_job`, :func:`publish_job`
- :mod:`.embedding` — serving: :func:`embed_tracks`, :func:`publish_version`, :func:`embed_features`,
  :func:`cosine_top_k`
- :mod:`.compare` — :func:`compare_families` (``musim models compare``)
- :mod:`.demo` — :func:`run_families_demo`, :data:`DEMO_PARAMS`

In one process::

    with warehouse.writer() as con:
        inputs = load_inputs(con, needs=("log_mel", "slices", "descriptors"))
        out = run_family("autoencoder", con=con, inputs=inputs, params={"epochs": 20})
        out.entry.version, out.decision.promoted, out.files     # PNGs next to the model
        print(compare_families(con).text())

In the DAGs (``train_siamese``, ``train_embeddings``: the same five phases) the steps pass object-store keys:
:func:`plan_job` (warehouse → a manifest of track ids, labels, feature keys, targets, split, gated by the
``training_split`` suite), :func:`train_staged` and :func:`evaluate_staged` (object store only, queue ``$MUSIM_TRAIN_QUEUE``, or the CPU queue: :mod:`musim.models.routing`),
:func:`promote_job` (register, decide) and :func:`publish_job` (the champions' neighbours, one snapshot).
Staged objects live under ``models/runs/<run>/``.

Serving: :func:`embed_tracks` gives the track embeddings of any registered version (``autoencoder:champion``
works), :func:`publish_version` writes them where the neighbour tables are built from, and
:func:`cosine_top_k` is the recommender of the embedding families.

This package imports no TensorFlow at import time; training, embedding and loading models do.
"""

from __future__ import annotations

from musim.models.constants import SIAMESE
from musim.models.families.base import (
    AUTOENCODER,
    CNN_CLASSIFIER,
    DESCRIPTORS,
    FAMILY_NAMES,
    FEATURES,
    Family,
    Trained,
)
from musim.models.families.compare import FamilyComparison, compare_families
from musim.models.families.demo import DEMO_PARAMS, run_families_demo
from musim.models.families.embedding import cosine_top_k, embed_features, embed_tracks, publish_version
from musim.models.families.evaluation import FamilyRun, baseline_scorers, evaluate_family, train_evaluate
from musim.models.families.inputs import (
    FamilyInputs,
    current_champions,
    gate_inputs,
    load_inputs,
    load_manifest,
)
from musim.models.families.lookup import (
    FAMILIES,
    feature_service,
    get_family,
    inputs_needed,
    serving_manifest,
)
from musim.models.families.record import FamilyOutcome, record_run, run_family
from musim.models.families.staged import (
    STAGING_PREFIX,
    evaluate_staged,
    plan_job,
    prepare,
    promote_job,
    publish_job,
    train_staged,
)

__all__ = [
    "AUTOENCODER",
    "CNN_CLASSIFIER",
    "DEMO_PARAMS",
    "DESCRIPTORS",
    "FAMILIES",
    "FAMILY_NAMES",
    "FEATURES",
    "SIAMESE",
    "STAGING_PREFIX",
    "Family",
    "FamilyComparison",
    "FamilyInputs",
    "FamilyOutcome",
    "FamilyRun",
    "Trained",
    "baseline_scorers",
    "compare_families",
    "cosine_top_k",
    "current_champions",
    "embed_features",
    "embed_tracks",
    "evaluate_family",
    "feature_service",
    "get_family",
    "inputs_needed",
    "gate_inputs",
    "load_inputs",
    "load_manifest",
    "plan_job",
    "prepare",
    "publish_version",
    "promote_job",
    "publish_job",
    "record_run",
    "evaluate_staged",
    "run_families_demo",
    "run_family",
    "serving_manifest",
    "train_evaluate",
    "train_staged",
]
