"""Train → evaluate (baselines + champion, same test artists) → register → promote, twice."""

from __future__ import annotations

from musim import warehouse
from musim.models import registry
from musim.models.data import load_catalogue, load_pair_targets
from musim.storage import open_store
from tests.models.conftest import TINY, write_similarity


def test_train_evaluate_register_twice(toy):
    from musim.models.pipeline import load_registered, train_evaluate_register
    from musim.models.train import HyperParams

    store = open_store()
    with warehouse.writer() as con:
        write_similarity(con, toy)
        targets = load_pair_targets(con)
        listeners = load_catalogue(con)
        # 10 test artists: enough for n = 3 (ndcg@10 needs 12), so promotion compares ndcg@3 here
        hp = HyperParams(**TINY, epochs=2, learning_rate=3e-3, seed=3, test_share=0.4)
        first = train_evaluate_register(toy.x, toy.track_artist, targets, hp, con=con, store=store,
                                        listeners=listeners, descriptors=toy.descriptors,
                                        feature_service="siamese_log_mel", snapshot_id="t0", run_id="nightly-1",
                                        n_boot=200, primary_metric="ndcg@3")
        e = first.entry
        assert e.version == "siamese-1" and e.dump_id == targets.dump_id and e.feature_service == "siamese_log_mel"
        assert set(e.metrics) == {"model", "random", "popularity", "pixel", "descriptors"}
        assert first.report.test_set_id == e.test_set_id
        assert first.decision is not None and first.decision.against == "random"

        again = train_evaluate_register(toy.x, toy.track_artist, targets, hp, con=con, store=store,
                                        run_id="nightly-1")
        assert again.result is None and again.entry.version == "siamese-1"  # a retried run does not retrain

        registry.promote(con, "siamese-1", force=True)  # make sure there is a champion to compare with
        second = train_evaluate_register(toy.x, toy.track_artist, targets, HyperParams(**TINY, epochs=1, seed=3, test_share=0.4),
                                         con=con, store=store, listeners=listeners, run_id="nightly-2",
                                         n_boot=200, primary_metric="ndcg@3")
        assert "siamese-1" in second.entry.metrics            # the champion, re-scored on the same artists
        assert second.decision.against == "siamese-1"
        assert second.decision.n_queries == len(second.report.queries)
        model = load_registered(con, "siamese:champion", store=store)
        assert model.get_layer("encoder").output_shape == (None, 16)
