"""Recording a run: the card's "Starts compared" pairs this version with the champion started otherwise only on
the test artists that champion never trained on."""

from __future__ import annotations

import numpy as np

from musim import warehouse
from musim.models import promotion, registry
from musim.models.bootstrap import bootstrap_ci
from musim.models.evaluate import EvaluationReport
from musim.models.families.base import Trained
from musim.models.families.evaluation import FamilyRun
from musim.models.families.record import _starts_compared
from musim.storage import open_store

TEST = np.arange(300, 335)


def _report(values: dict[str, np.ndarray], ids: np.ndarray) -> EvaluationReport:
    per = {s: {"ndcg@10": np.asarray(v, dtype=np.float64)} for s, v in values.items()}
    summary = {s: {"ndcg@10": bootstrap_ci(v["ndcg@10"], n_boot=300)} for s, v in per.items()}
    return EvaluationReport(ids, ids, [], ["ndcg@10"], per, summary, n_boot=300)


def test_starts_are_compared_on_the_artists_the_champion_never_trained_on(tmp_path):
    """The champion started from random weights trained on 20 of the 35 test artists: 0.94 there, 0.80 on the
    others; this version, started from a contrastive encoder, 0.86 on every one. Scored on all 35 the champion
    looked ahead (-0.02)."""
    rng = np.random.default_rng(0)
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    store = open_store()
    with warehouse.writer() as con:
        own = np.arange(400, 435)
        champ = registry.register_model(
            con, store, family="siamese", model_file=f, params={"init_encoder": None}, target_metric="seed",
            report=_report({"model": 0.87 + rng.normal(0, 0.01, 35), "random": 0.3 + rng.normal(0, 0.01, 35)}, own),
            training_artists=np.r_[TEST[:20], np.arange(500, 540)])
        promotion.promote(con, champ.version, force=True)
        seen = np.arange(35) < 20
        report = _report({"model": 0.86 + rng.normal(0, 0.005, 35), "random": 0.3 + rng.normal(0, 0.01, 35),
                          champ.version: np.where(seen, 0.94, 0.80) + rng.normal(0, 0.005, 35)}, TEST)
        params = {"init_encoder": "contrastive-1"}
        entry = registry.register_model(con, store, family="siamese", model_file=f, report=report, params=params,
                                        target_metric="seed", training_artists=np.arange(600, 660))
        run = FamilyRun("siamese", f, report, Trained(None, params, {}, {}), [], "siamese_log_mel", "seed", None, None)
        section = _starts_compared(con, entry, run, "ndcg@10")
    row = next(line for line in section.splitlines() if line.startswith("| contrastive-1 | siamese-1"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "siamese-1, from random weights" and abs(float(cells[2]) - 0.86) < 0.005 and abs(float(cells[3]) - 0.80) < 0.005
    assert abs(float(cells[4].split()[0]) - 0.06) < 0.005 and cells[4].endswith("over 15 queries; 20 test artists it trained on left out")
