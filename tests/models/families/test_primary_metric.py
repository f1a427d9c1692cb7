"""The promotion metric is checked against the evaluation the run will have before anything trains (it was
refused at registration, after a whole model was trained)."""

from __future__ import annotations

import pytest

from musim.errors import ParameterError
from musim.models.constants import IDENTITY_METRICS, PRIMARY_METRIC_CHOICES, ranking_metrics
from musim.models.families.record import check_primary_metric


def test_auto_and_each_evaluations_own_metrics_are_taken():
    for name in ("auto", *ranking_metrics()):
        check_primary_metric(name, listening=True)
    for name in ("auto", *IDENTITY_METRICS):
        check_primary_metric(name, listening=False)
    assert set(PRIMARY_METRIC_CHOICES) == {"auto", *ranking_metrics(), *IDENTITY_METRICS}


def test_a_metric_of_the_other_evaluation_or_of_none_is_refused_saying_what_to_choose():
    with pytest.raises(ParameterError, match=r"'auc' is measured by artist identity \(no listening data\), and this "
                                             r"run is not: choose auto or one of precision@3, "):
        check_primary_metric("auc", listening=True)
    with pytest.raises(ParameterError, match=r"'ndcg@10' is measured against co-listening, and this run is not: "
                                             r"choose auto or one of auc, ap, p1$"):
        check_primary_metric("ndcg@10", listening=False)
    with pytest.raises(ParameterError, match=r"'ndcg@7' is no metric musim evaluates; choose auto or one of auc"):
        check_primary_metric("ndcg@7", listening=False)


def test_run_family_checks_it_before_training(monkeypatch):
    from musim import warehouse
    from musim.models.families import record, run_family
    from tests.models.families.test_evaluation import _inputs

    monkeypatch.setattr(record, "gate_inputs", lambda con, inputs: None)
    monkeypatch.setattr(record, "train_evaluate", lambda *a, **k: pytest.fail("trained"))
    library = _inputs([1, 1, 2, 2], {1: "A", 2: "B"})  # no listening data: evaluated by artist identity
    with warehouse.writer() as con, pytest.raises(ParameterError, match="'ndcg@10' is measured against co-listening"):
        run_family("descriptors", con=con, inputs=library, primary_metric="ndcg@10")


def test_the_dags_prepare_task_checks_it_before_writing_the_manifest(toy):
    """In a DAG the metric was refused by the promote task, after every family had trained on the GPU queue."""
    from musim import warehouse
    from musim.models.families import plan_job
    from musim.storage import open_store
    from tests.models.catalogue import make_catalogue

    store = open_store()
    with warehouse.writer() as con:
        make_catalogue(con, store, toy)
        con.execute("DELETE FROM similarity_build")  # a library without listening data
    with pytest.raises(ParameterError, match="'ndcg@10' is measured against co-listening, and this run is not"):
        plan_job("train_embeddings/x", families=("descriptors",), primary_metric="ndcg@10")
    assert [o.key for o in store.list("models/runs/")] == []
    assert plan_job("train_embeddings/y", families=("descriptors",), primary_metric="auc")[0]["family"] == "descriptors"
