"""Small versions of the families in one process (:func:`run_families_demo`): trains them on the demo
data in the warehouse, registers them, prints the comparison table and where the views are. The
``make demo`` path trains them through the train_embeddings DAG instead, with :data:`DEMO_PARAMS`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musim.models import registry
from musim.models.constants import SIAMESE
from musim.models.families.base import AUTOENCODER, CNN_CLASSIFIER, CONTRASTIVE, DESCRIPTORS
from musim.models.families.compare import compare_families
from musim.models.families.inputs import load_inputs
from musim.models.families.lookup import inputs_needed
from musim.models.families.record import FamilyOutcome, run_family

if TYPE_CHECKING:  # pragma: no cover
    from musim.config import Settings

__all__ = ["DEMO_PARAMS", "run_families_demo"]

#: Small, quick settings for the demo (CPU minutes, not hours).
DEMO_PARAMS: dict[str, dict[str, Any]] = {
    CNN_CLASSIFIER: {"conv_filters": [8, 16, 32, 32], "embedding_units": 128, "epochs": 8, "batch_size": 16,
                     "learning_rate": 2e-3, "early_stopping_patience": 3},
    AUTOENCODER: {"conv_filters": [16, 8, 8], "epochs": 15, "batch_size": 16, "early_stopping_patience": 4,
                  "perplexity": 8.0, "tsne_learning_rate": 100.0, "k": 6},
    CONTRASTIVE: {"conv_filters": [16, 32, 32], "dense_units": 32, "projection_units": 32, "epochs": 15,
                  "batch_size": 32},
    DESCRIPTORS: {},
}


def run_families_demo(settings: Settings | None = None, *,
                      families: Sequence[str] = (CNN_CLASSIFIER, AUTOENCODER, DESCRIPTORS),
                      params: Mapping[str, Mapping[str, Any]] | None = None, test_share: float = 0.15,
                      validation_share: float = 0.15, n_boot: int = 500, seed: int = 0, snapshot: bool = True,
                      print_fn: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Train small versions of the families on the demo data in the warehouse, register them, and print
    the comparison table and where the views (PNG) are; publish a serving snapshot with the champions'
    neighbours. Returns ``{"outcomes", "comparison", "plots", "snapshot"}``.

    The table shows each family's newest version (the ones just trained, and the siamese family's
    latest if there is one). Needs the demo's audio features (the audio_features DAG) and a similarity
    build. Every family holds
    out the same test artists; ``test_share`` and ``seed`` default to the siamese family's (15 %, 0), so
    a siamese champion trained on the same catalogue with its defaults is on the same artists too and
    appears in the table (pass the siamese run's ``test_share`` otherwise: the table says when test sets
    differ). ~60 artists give 9 test artists: the primary metric is then nDCG@5. On 2 CPU cores the
    three families take about 2-3 minutes.
    """
    from musim import warehouse
    from musim.storage import open_store

    say = print_fn or (lambda s: None)
    store = open_store(settings.storage.object_store) if settings is not None else open_store()
    outcomes: dict[str, FamilyOutcome] = {}
    plots: dict[str, list[str]] = {}
    with warehouse.writer(settings) as con:
        inputs = load_inputs(con, store=store, needs=inputs_needed(families), seed=seed, test_share=test_share,
                             validation_share=validation_share)
        assert inputs.split is not None
        say(f"families demo: {len(inputs)} tracks of {len(np.unique(inputs.track_artist))} artists; "
            f"{inputs.split.test.size} test artists shared by every family")
        for fam in families:
            p = dict(DEMO_PARAMS.get(fam, {}))
            p.update((params or {}).get(fam, {}))
            p.setdefault("seed", seed)
            out = run_family(fam, con=con, store=store, inputs=inputs, params=p, n_boot=n_boot)
            outcomes[fam] = out
            plots[out.entry.version] = [u for n, u in out.files.items() if n.endswith((".png", ".md"))]
            cls = (out.entry.training or {}).get("classification") or {}
            acc = ", ".join(f"{k} accuracy {v['accuracy']:.0%}" for k, v in cls.items() if v.get("accuracy") is not None)
            say(f"  {out.entry.version}: {out.decision.status if out.decision else out.entry.status}"
                f"{'; ' + acc if acc else ''}")
        comparison = compare_families(con, latest=True, families=list(dict.fromkeys([*families, *(
            [SIAMESE] if registry.list_models(con, family=SIAMESE) else [])])))
        snap = None
        if snapshot:
            from musim import serving

            snap = str(serving.publish(con, settings))
    say("\n" + comparison.text())
    say("\nviews and cards:")
    for version, urls in plots.items():
        for u in urls:
            say(f"  {version}: {u}")
    if snap:
        say(f"\nthe champions' audio neighbours are in the serving snapshot {Path(snap).name}; "
            "details: musim models show <version>")
    return {"outcomes": {k: v.to_json() for k, v in outcomes.items()}, "comparison": comparison.to_json(),
            "plots": plots, "snapshot": snap}
