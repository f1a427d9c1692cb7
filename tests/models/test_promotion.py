"""Promotion rules at their edges: a baseline tied with the model, a champion whose training artists are not
recorded against a challenger that heard some of its own test artists, and a forced clear winner."""

from __future__ import annotations

import numpy as np
import pytest

from musim import warehouse
from musim.models import promotion, registry
from musim.models.bootstrap import bootstrap_ci
from musim.models.evaluate import EvaluationReport
from musim.storage import open_store

CHAMP_TEST = np.arange(400, 435)       # the champion's own held-out artists
TEST = np.arange(300, 335)             # the challenger's


@pytest.fixture
def con():
    c = warehouse.connect()
    yield c
    c.close()


def _register(con, tmp_path, values: dict[str, np.ndarray], ids: np.ndarray, *,
              trained: np.ndarray | None = None) -> registry.ModelEntry:
    """A siamese version whose evaluation has the per-query ndcg@10 ``values`` of each scorer on the artists ``ids``."""
    per = {s: {"ndcg@10": np.asarray(v, dtype=np.float64)} for s, v in values.items()}
    summary = {s: {"ndcg@10": bootstrap_ci(v["ndcg@10"], n_boot=300)} for s, v in per.items()}
    report = EvaluationReport(ids, ids, [], ["ndcg@10"], per, summary, n_boot=300)
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    return registry.register_model(con, open_store(), family="siamese", model_file=f, report=report, params={},
                                   target_metric="seed", dump_id="d" * 64, training_artists=trained)


def test_a_baseline_exactly_as_good_as_the_model_blocks_promotion(con, tmp_path):
    # the model is far ahead of random (the first model's bar) but popularity ties it exactly: not better
    rng = np.random.default_rng(5)
    model = 0.7 + rng.normal(0, 0.01, TEST.size)
    e = _register(con, tmp_path, {"model": model, "random": 0.3 + rng.normal(0, 0.01, TEST.size),
                                  "popularity": model.copy()}, TEST)
    assert e.metrics["model"]["ndcg@10"]["mean"] == e.metrics["popularity"]["ndcg@10"]["mean"]
    d = promotion.promote(con, e.version)
    assert not d.promoted and not d.forced and d.status != "champion"
    assert "a baseline is at least as good" in d.reason and "popularity" in d.reason
    assert registry.champion(con, "siamese") is None


def test_artists_the_challenger_also_trained_on_stay_when_the_champion_recorded_none(con, tmp_path):
    """The champion (no recorded training artists) may have heard any of the challenger's 35 test artists; the 5 the
    challenger trained on itself are a fair comparison all the same (both heard them): only 30 are left out."""
    rng = np.random.default_rng(1)
    champ = _register(con, tmp_path, {"model": 0.87 + rng.normal(0, 0.01, 35),
                                      "random": 0.3 + rng.normal(0, 0.01, 35)}, CHAMP_TEST)
    assert promotion.promote(con, champ.version).promoted
    assert registry.training_artists(con, champ.version) is None
    e = _register(con, tmp_path, {"model": 0.90 + rng.normal(0, 0.005, 35),
                                  champ.version: 0.80 + rng.normal(0, 0.005, 35),
                                  "random": 0.3 + rng.normal(0, 0.01, 35)}, TEST,
                  trained=np.r_[TEST[:5], np.arange(600, 660)])
    fair = promotion.fair_queries(con, registry.get_model(con, champ.version), e, TEST.tolist())
    assert fair.left_out == set(TEST[5:].tolist()) and fair.queries == TEST[:5].tolist() and not fair.recorded
    d = promotion.promote(con, e.version)
    assert d.left_out == 30 and d.n_queries == 5 and not d.promoted


def test_forcing_a_clear_winner_is_not_recorded_as_forced(con, tmp_path):
    rng = np.random.default_rng(3)
    e = _register(con, tmp_path, {"model": 0.87 + rng.normal(0, 0.01, 35),
                                  "random": 0.3 + rng.normal(0, 0.01, 35)}, TEST)
    d = promotion.promote(con, e.version, force=True)
    assert d.promoted and not d.forced and d.status == "champion" and d.diff > 0.5 and d.lo > 0
    assert not d.reason.startswith("forced")
    assert registry.champion(con, "siamese").version == e.version
    assert registry.promotions(con, family="siamese")[0]["forced"] is False
