"""Registry and promotion: files and rows, champion only beyond the CI of the difference."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim import warehouse
from musim.errors import NotFoundError
from musim.models import promotion, registry
from musim.models.bootstrap import bootstrap_ci
from musim.models.data import PairTargets
from musim.models.evaluate import EvaluationReport, evaluate
from musim.storage import open_store

N = 40
IDS = np.arange(500, 500 + N)


def _truth(seed: int = 0) -> PairTargets:
    rng = np.random.default_rng(seed)
    ia, ib = np.triu_indices(N, k=1)
    return PairTargets.from_pairs(IDS, IDS[ia], IDS[ib], rng.random(ia.size))


def _noisy(truth: PairTargets, noise: float, seed: int) -> np.ndarray:
    m = np.nan_to_num(truth.matrix)
    return m + np.random.default_rng(seed).normal(0, noise, m.shape)


def _report(truth, noise, *, seed=1, others=None, ids=IDS):
    scorers = {"model": _noisy(truth, noise, seed)[np.ix_(truth.positions(ids), truth.positions(ids))],
               "random": np.random.default_rng(99).random((len(ids), len(ids)))}
    for name, (n, s) in (others or {}).items():
        scorers[name] = _noisy(truth, n, s)[np.ix_(truth.positions(ids), truth.positions(ids))]
    return evaluate(scorers, truth, ids, n_boot=300)


def _register(con, store, tmp_path, report, run_id=None, history=None, target_metric="seed", dump_id="d" * 64):
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    return registry.register_model(con, store, family="siamese", model_file=f, report=report,
                                   params={"epochs": 3, "conv_filters": (8, 16)}, target_metric=target_metric,
                                   feature_service="siamese_log_mel", dump_id=dump_id, snapshot_id="snap-1",
                                   run_id=run_id, training={"seconds": 1.0, "best_loss": float("nan")},
                                   history=history)


@pytest.fixture
def con():
    c = warehouse.connect()
    yield c
    c.close()


def test_register_writes_files_and_rows(con, tmp_path):
    store = open_store()
    truth = _truth()
    e = _register(con, store, tmp_path, _report(truth, 0.3), run_id="run-1",
                  history={"loss": [0.3, 0.2], "val_loss": [0.35, 0.3]})
    assert e.version == "siamese-1" and e.status == "challenger" and e.object_prefix == "models/siamese/siamese-1/"
    for name in ("model.keras", "metrics.json", "card.md", "curves.png"):
        assert store.exists(e.key(name)), name
    doc = json.loads(store.get_bytes(e.key("metrics.json")))
    assert doc["evaluation"]["test_set_id"] == e.test_set_id and "per_query" in doc["evaluation"]
    assert doc["training"]["best_loss"] is None  # NaN written as null: strict JSON
    card = store.get_bytes(e.key("card.md")).decode()
    assert "# Model card: siamese-1" in card and "ndcg@10" in card and "curves.png" in card and "random" in card
    assert store.get_bytes(e.key("curves.png"))[:4] == b"\x89PNG"
    n_test = con.execute("SELECT count(*) FROM model_test_artist WHERE test_set_id = ?", [e.test_set_id]).fetchone()[0]
    assert n_test == N
    assert len(registry.query_values(con, e.version, "model", "ndcg@10")) == N
    assert e.score()["lo"] <= e.score()["mean"] <= e.score()["hi"]
    assert e.params["conv_filters"] == [8, 16]
    again = _register(con, store, tmp_path, _report(truth, 0.3), run_id="run-1")
    assert again.version == "siamese-1" and len(registry.list_models(con)) == 1  # a retried run registers once
    assert registry.get_model(con, "siamese-1").version == "siamese-1"
    with pytest.raises(NotFoundError):
        registry.get_model(con, "siamese-9")
    with pytest.raises(NotFoundError):
        registry.get_model(con, "siamese:champion")


def test_promotion_only_beyond_the_ci(con, tmp_path):
    store = open_store()
    truth = _truth()
    first = _register(con, store, tmp_path, _report(truth, 0.3))
    d = promotion.promote(con, first.version)
    assert d.promoted and d.against == "random" and d.lo > 0 and d.status == "champion"
    assert registry.champion(con, "siamese").version == first.version

    # as good as the champion (same noise, other draw) on the same test artists: stays a challenger
    tie = _register(con, store, tmp_path, _report(truth, 0.3, seed=2, others={first.version: (0.3, 1)}))
    d = promotion.promote(con, tie.version)
    assert not d.promoted and d.against == first.version and d.lo < 0 < d.hi and d.status == "challenger"
    assert "does not beat" in d.reason
    assert registry.get_model(con, tie.version).status == "challenger"
    assert registry.champion(con, "siamese").version == first.version

    # clearly better on the same test artists: champion; the old one is archived
    best = _register(con, store, tmp_path, _report(truth, 0.02, seed=3, others={first.version: (0.3, 1)}))
    d = promotion.promote(con, best.version)
    assert d.promoted and d.lo > 0 and d.n_queries == N
    assert registry.champion(con, "siamese").version == best.version
    assert registry.get_model(con, first.version).status == "archived"
    assert promotion.promote(con, best.version).reason == "already the champion"

    # better, but on other test artists and without the champion re-scored: cannot decide, stays challenger
    other = _register(con, store, tmp_path, _report(truth, 0.0, seed=4, ids=IDS[:30]))
    d = promotion.promote(con, other.version)
    assert not d.promoted and "test sets" in d.reason
    forced = promotion.promote(con, other.version, force=True)
    assert forced.promoted and forced.forced and registry.champion(con, "siamese").version == other.version

    log = registry.promotions(con, family="siamese")
    assert len(log) == 5 and sum(r["promoted"] for r in log) == 3 and sum(r["forced"] for r in log) == 1


def test_same_test_set_uses_the_champions_stored_values(con, tmp_path):
    store = open_store()
    truth = _truth(1)
    champ = _register(con, store, tmp_path, _report(truth, 0.5))
    assert promotion.promote(con, champ.version).promoted
    better = _register(con, store, tmp_path, _report(truth, 0.01, seed=5))  # no champion scorer in its run
    assert better.test_set_id == champ.test_set_id
    d = promotion.promote(con, better.version)
    assert d.promoted and d.against == champ.version


@pytest.mark.parametrize("other", [{"target_metric": "jaccard"}, {"dump_id": "e" * 64}])
def test_the_champions_stored_values_are_paired_only_against_the_same_truth(con, tmp_path, other):
    """Equal test artists were enough to pair a challenger's values with the champion's stored ones: the same
    scores measured against another target (or another dump's co-listening) "beat" themselves by +0.38."""
    store = open_store()
    champ = _register(con, store, tmp_path, _report(_truth(1), 0.5))
    assert promotion.promote(con, champ.version).promoted
    elsewhere = _register(con, store, tmp_path, _report(_truth(2), 0.01, seed=5), **other)
    assert elsewhere.test_set_id == champ.test_set_id
    d = promotion.promote(con, elsewhere.version)
    assert not d.promoted and "against the same truth" in d.reason and "evaluate both in one run" in d.reason


def test_too_little_evidence_is_never_promoted(con, tmp_path, monkeypatch):
    store = open_store()
    truth = _truth()
    clear = _register(con, store, tmp_path, _report(truth, 0.01))   # far better than random, 40 test artists
    d = promotion.promote(con, clear.version, min_test_artists=41)
    assert not d.promoted and d.status == "challenger" and "too little evidence: 40 test artists" in d.reason
    assert d.lo > 0  # the comparison itself was clear: evidence is a condition of its own
    monkeypatch.setenv("MUSIM_PROMOTION_MIN_QUERIES", "41")          # the settings give the defaults
    assert "40 queries (at least 10 and 41" in promotion.promote(con, clear.version).reason
    monkeypatch.delenv("MUSIM_PROMOTION_MIN_QUERIES")
    assert promotion.promote(con, clear.version).promoted


def test_a_baseline_ahead_blocks_promotion(con, tmp_path):
    store = open_store()
    truth = _truth()
    # the model beats random beyond the CI, but the descriptor baseline of the same run is better still
    report = _report(truth, 0.3, others={"descriptors": (0.05, 7)})
    e = _register(con, store, tmp_path, report)
    d = promotion.promote(con, e.version)
    assert not d.promoted and "a baseline is at least as good on ndcg@10: descriptors" in d.reason
    forced = promotion.promote(con, e.version, force=True)
    assert forced.promoted and forced.forced


def test_without_a_champion_the_errors_name_the_registered_versions(con, tmp_path):
    from musim.models.new_audio import serving_model

    e = _register(con, open_store(), tmp_path, _report(_truth(), 0.3))
    assert e.status != "champion"
    with pytest.raises(NotFoundError, match=r"no family has a champion in the published snapshot: promote a version "
                                            r"and publish it \(`musim models promote VERSION`, then `musim models "
                                            rf"publish VERSION`\) .*--model VERSION`; registered: {e.version}$"):
        serving_model(con)
    con.execute("INSERT INTO artist_neighbors_audio VALUES ('siamese', ?, 1, 1, 2, 0.5, false, now())", [e.version])
    with pytest.raises(NotFoundError, match=rf"registered: {e.version}; published \(`similar-audio` searches their "
                                            rf"neighbours\): {e.version}$"):
        serving_model(con)
    con.execute("DELETE FROM artist_neighbors_audio")
    with pytest.raises(NotFoundError, match=rf"family 'siamese' has no champion yet; its versions: {e.version} "):
        registry.get_model(con, "siamese:champion")
    with pytest.raises(NotFoundError, match=r"family 'autoencoder' has no champion yet$"):
        registry.get_model(con, "autoencoder:champion")
    promotion.promote(con, e.version, force=True)
    assert serving_model(con) == e.version


def test_a_card_says_when_the_model_heard_the_test_artists_audio():
    """The contrastive and autoencoder families train on every track's audio, the test artists' too, and were
    ranked against the siamese family and the baselines on those artists without a word on the card."""
    from musim.models.card import render_card

    report = _report(_truth(1), 0.5)
    said = "the evaluation is transductive"
    assert said in render_card(version="contrastive-1", family="contrastive", report=report, params={}, curves=False)
    assert said in render_card(version="autoencoder-1", family="autoencoder", report=report,
                               params={"train_on": "all"}, curves=False)
    assert said not in render_card(version="autoencoder-2", family="autoencoder", report=report,
                                   params={"train_on": "train_artists"}, curves=False)
    assert said not in render_card(version="siamese-1", family="siamese", report=report, params={}, curves=False)


def _identity_report(clusters: bool) -> EvaluationReport:
    # an evaluation by artist identity: 60 query tracks of 6 artists; the model is far ahead on 2 artists' tracks
    # and a little behind on the 4 others', so it is ahead on average only because of 2 artists
    rng = np.random.default_rng(2)
    artists = np.repeat(np.arange(900, 906), 10)
    random_auc = np.full(60, 0.5) + rng.normal(0, 0.002, 60)
    model_auc = random_auc + np.where(artists < 902, 0.3, -0.05)
    per = {"model": {"auc": model_auc}, "random": {"auc": random_auc}}
    summary = {s: {"auc": bootstrap_ci(v["auc"], clusters=artists)} for s, v in per.items()}
    return EvaluationReport(np.unique(artists), np.arange(60), [], ["auc"], per, summary, n_boot=300,
                            set_key=f"tracks:{'c' if clusters else 't'}", query_clusters=artists if clusters else None)


def test_a_promotion_on_query_tracks_resamples_their_artists(con, tmp_path):
    # resampling the 60 tracks, the model beats random beyond the CI; resampling the 6 artists it does not
    # (a draw of the 4 artists where it is behind is likely enough): tracks of one artist are not 6 x 10 queries
    store = open_store()
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    decisions = {}
    for family, clusters in (("autoencoder", True), ("contrastive", False)):
        e = registry.register_model(con, store, family=family, model_file=f, report=_identity_report(clusters),
                                    params={}, target_metric="artist", primary_metric="auc")
        decisions[clusters] = promotion.promote(con, e.version, min_test_artists=3, min_queries=3)
    assert decisions[False].promoted and decisions[False].lo > 0
    assert not decisions[True].promoted and decisions[True].lo < 0 < decisions[True].hi
    assert decisions[True].diff == pytest.approx(decisions[False].diff)
    assert "beyond the CI" in decisions[True].reason
    card = store.get_bytes(registry.get_model(con, "autoencoder-1").key("card.md")).decode()
    assert "resampling whole artists" in card and "co-listening" not in card
    stored = con.execute("SELECT count(*), count(DISTINCT cluster_id) FROM model_query_cluster").fetchone()
    assert stored == (60, 6)


# -- a champion re-scored on a challenger's test artists is compared only on those it never trained on ----------

CHAMP_TEST = np.arange(400, 435)       # the champion's own held-out artists
TEST = np.arange(300, 335)             # the challenger's (35, as in the reviewer's run)


def _artist_report(values: dict[str, np.ndarray], ids: np.ndarray) -> EvaluationReport:
    """An evaluation whose queries are the artists ``ids``, with the per-query ndcg@10 of each scorer given."""
    per = {s: {"ndcg@10": np.asarray(v, dtype=np.float64)} for s, v in values.items()}
    summary = {s: {"ndcg@10": bootstrap_ci(v["ndcg@10"], n_boot=300)} for s, v in per.items()}
    return EvaluationReport(ids, ids, [], ["ndcg@10"], per, summary, n_boot=300)


def _champion_trained_on(con, store, tmp_path, trained: np.ndarray | None) -> registry.ModelEntry:
    """siamese-1, champion: 0.87 on its own held-out artists, having trained on ``trained`` (None: not recorded)."""
    rng = np.random.default_rng(1)
    report = _artist_report({"model": 0.87 + rng.normal(0, 0.01, 35), "random": 0.3 + rng.normal(0, 0.01, 35)},
                            CHAMP_TEST)
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    e = registry.register_model(con, store, family="siamese", model_file=f, report=report, params={},
                                target_metric="seed", dump_id="d" * 64, training_artists=trained)
    assert promotion.promote(con, e.version).promoted
    return e


def _challenger(con, store, tmp_path, champ: registry.ModelEntry, trained: np.ndarray) -> registry.ModelEntry:
    """siamese-2 on TEST, with the champion re-scored there: 0.94 on the artists it trained on (TEST[:20] in the
    tests), 0.80 on the others; the challenger 0.86 on every one."""
    rng = np.random.default_rng(2)
    seen = np.isin(TEST, sorted(registry.training_artists(con, champ.version) or TEST[:20].tolist()))
    report = _artist_report({"model": 0.86 + rng.normal(0, 0.005, 35),
                             champ.version: np.where(seen, 0.94, 0.80) + rng.normal(0, 0.005, 35),
                             "random": 0.3 + rng.normal(0, 0.01, 35)}, TEST)
    f = tmp_path / "model.keras"
    return registry.register_model(con, store, family="siamese", model_file=f, report=report, params={},
                                   target_metric="seed", dump_id="d" * 64, training_artists=trained)


def test_a_champion_is_compared_only_on_artists_it_never_trained_on(con, tmp_path):
    """20 of the challenger's 35 test artists were the champion's training artists: scored there, the champion
    won by -0.02; on the 15 it never trained on, the challenger is ahead by +0.06."""
    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, np.r_[TEST[:20], np.arange(500, 540)])
    assert registry.training_artists(con, champ.version) == set(np.r_[TEST[:20], np.arange(500, 540)].tolist())
    e = _challenger(con, store, tmp_path, champ, np.arange(600, 660))
    d = promotion.promote(con, e.version)
    assert d.promoted and d.against == champ.version and d.left_out == 20 and d.n_queries == 15
    assert d.diff == pytest.approx(0.06, abs=0.01) and d.lo > 0
    assert ("over the 15 queries of 15 artists siamese-1 never trained on (20 of the test artists were its "
            "training artists)") in d.reason


def _cells(card: str, metric: str) -> dict[str, str]:
    """The card's evaluation table row of ``metric``, by column heading."""
    table = card[card.index("## Evaluation"):card.index("### model vs")].splitlines()
    header = next(line for line in table if line.startswith("| metric |"))
    row = next(line for line in table if line.startswith(f"| {metric} |"))
    return {h.strip(): c.strip() for h, c in zip(header.split("|")[2:-1], row.split("|")[2:-1], strict=True)}


def test_the_cards_tables_score_the_champion_on_the_queries_the_decision_compares(con, tmp_path):
    """The card's table scored the champion on all 35 test artists (0.88, 20 of them its training artists) while its
    Promotion section compared it on the 15 it never trained on (0.80): the two disagreed."""
    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, np.r_[TEST[:20], np.arange(500, 540)])
    e = _challenger(con, store, tmp_path, champ, np.arange(600, 660))
    d = promotion.promote(con, e.version)
    values = registry.query_values(con, e.version, champ.version, "ndcg@10")
    on_unseen = float(np.mean([values[int(a)] for a in TEST[20:]]))
    assert d.n_queries == 15 and abs(on_unseen - float(np.mean(list(values.values())))) > 0.05
    card = store.get_bytes(e.key("card.md")).decode()
    cells = _cells(card, "ndcg@10")
    assert cells["siamese-1*"].startswith(f"{on_unseen:.3f} [") and cells["model"].startswith("0.86")
    assert ("\\* siamese-1 on the 15 queries of 15 artists it never trained on (of 35 queries of 35 test artists: "
            "the other 20 were its training artists), the queries its promotion decision compares.") in card
    assert f"| siamese-1* (15 queries) | ndcg@10 | {d.diff:.3f} | [" in card  # the decision's difference
    metrics = json.loads(store.get_bytes(e.key("metrics.json")))
    paired = next(c for c in metrics["comparisons"] if c["b"] == champ.version)
    assert paired["n"] == 15 and paired["diff"] == pytest.approx(d.diff)
    assert metrics["fair_queries"][champ.version]["left_out"] == TEST[:20].tolist()
    stored = registry.get_model(con, e.version).metrics[champ.version]["ndcg@10"]  # `musim models show`, `train`
    assert stored["mean"] == pytest.approx(on_unseen) and (stored["n"], stored["left_out_artists"]) == (15, 20)


def test_a_champion_that_never_trained_on_the_test_artists_is_scored_on_all_of_them(con, tmp_path):
    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, np.arange(500, 540))
    e = _challenger(con, store, tmp_path, champ, np.arange(600, 660))
    card = store.get_bytes(e.key("card.md")).decode()
    values = registry.query_values(con, e.version, champ.version, "ndcg@10")
    assert _cells(card, "ndcg@10")["siamese-1"].startswith(f"{float(np.mean(list(values.values()))):.3f} [")
    assert "never trained on" not in card and "| siamese-1 | ndcg@10 |" in card


def test_too_few_artists_the_champion_never_trained_on_cannot_decide(con, tmp_path):
    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, np.r_[TEST[:30], np.arange(500, 540)])
    e = _challenger(con, store, tmp_path, champ, np.arange(600, 660))
    d = promotion.promote(con, e.version)
    assert not d.promoted and d.status == "challenger" and d.left_out == 30 and d.n_queries == 5
    assert ("not promoted: cannot decide against siamese-1: 30 of the test artists of siamese-2 were its training "
            "artists, leaving 5 artists and 5 queries it never trained on (at least 10 and 10)") in d.reason
    assert promotion.promote(con, e.version, force=True).forced


def test_a_champion_whose_training_artists_are_not_recorded_is_known_unseen_only_on_its_test_artists(con, tmp_path):
    # registered before migration 017: it may have trained on any artist but its own held-out ones
    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, None)
    assert registry.training_artists(con, champ.version) is None
    e = _challenger(con, store, tmp_path, champ, np.arange(600, 660))
    d = promotion.promote(con, e.version)
    assert not d.promoted and d.left_out == 35 and ("35 of the test artists of siamese-2 may have been its training "
                                                    "artists (they are not recorded") in d.reason


def test_artists_both_trained_on_stay_in_the_comparison(con, tmp_path):
    # families trained on every track's audio (contrastive) heard the test artists, the challenger too: no advantage
    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, np.r_[TEST, CHAMP_TEST])
    e = _challenger(con, store, tmp_path, champ, np.r_[TEST, np.arange(600, 660)])
    fair = promotion.fair_queries(con, champ, e, TEST.tolist())
    assert fair.queries == TEST.tolist() and not fair.left_out and fair.artists == 35
    d = promotion.promote(con, e.version)
    assert d.left_out == 0 and d.n_queries == 35 and "never trained on" not in d.reason


def test_a_later_promotion_rewrites_both_model_cards(con, tmp_path):
    """`musim models promote siamese-2 --force` left its card saying "not promoted", and the old champion's card
    still said champion."""
    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, np.r_[TEST[:30], np.arange(500, 540)])
    e = _challenger(con, store, tmp_path, champ, np.arange(600, 660))
    promotion.promote(con, e.version)

    def card(version: str) -> str:
        return store.get_bytes(registry.get_model(con, version).key("card.md")).decode()

    before = card(e.version)
    assert before.count("## Promotion") == 1 and "**challenger**" in before and "**not promoted**" in before
    assert "**champion**" in card(champ.version) and "**promoted** against random" in card(champ.version)
    promotion.promote(con, e.version, force=True)
    after = card(e.version)
    section = after[after.index("## Promotion"):after.index("## Caveats")]
    assert after.count("## Promotion") == 1 and section.startswith("## Promotion\n\n**champion** since ")
    assert section.index("**promoted (forced)** against siamese-1") < section.index("**not promoted** against")
    assert after.replace(section, "") == before.replace(before[before.index("## Promotion"):
                                                                before.index("## Caveats")], "")
    old = card(champ.version)
    assert "**archived** since " in old and "siamese-2 became the champion" in old and old.count("## Promotion") == 1


def test_a_card_that_cannot_be_rewritten_leaves_the_decision_unrecorded(con, tmp_path, monkeypatch):
    from musim.errors import StorageError
    from musim.storage.local import LocalStore

    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, np.r_[TEST[:20], np.arange(500, 540)])
    e = _challenger(con, store, tmp_path, champ, np.arange(600, 660))
    card = store.get_bytes(e.key("card.md"))
    put = LocalStore.put_bytes

    def refuse_the_old_champions_card(self, key, data, **kw):
        if key == champ.key("card.md"):
            raise OSError("disk full")
        return put(self, key, data, **kw)

    with monkeypatch.context() as m, pytest.raises(
            StorageError, match=r"^the model card of siamese-1 \(models/siamese/siamese-1/card.md in .*\) could not "
                                r"be rewritten \(disk full\), so the decision was not recorded"):
        m.setattr(LocalStore, "put_bytes", refuse_the_old_champions_card)
        promotion.promote(con, e.version)
    assert registry.champion(con, "siamese").version == champ.version
    assert [d["version"] for d in registry.promotions(con, family="siamese")] == [champ.version]
    assert store.get_bytes(e.key("card.md")) != card  # written first; promoting again makes it true
    assert promotion.promote(con, e.version).promoted
    assert "**champion**" in store.get_bytes(e.key("card.md")).decode()
