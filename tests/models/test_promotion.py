"""Promotion: a challenger becomes the champion only with enough evidence, ahead of every baseline, and beyond the CI
of its paired difference to the champion on the queries whose artist the champion never trained on; forced
promotions, and the model cards every decision rewrites."""

from __future__ import annotations

import numpy as np
import pytest

from musim.models import promotion, registry
from musim.models.bootstrap import bootstrap_ci
from musim.models.evaluate import EvaluationReport
from musim.storage import open_store
from tests.models.conftest import (
    CHAMP_TEST,
    IDS,
    TEST,
    N,
    _artist_report,
    _challenger,
    _champion_trained_on,
    _register,
    _report,
    _truth,
)


def _register_scores(con, tmp_path, values: dict[str, np.ndarray], ids: np.ndarray, *,
                     trained: np.ndarray | None = None) -> registry.ModelEntry:
    """A siamese version whose evaluation has the per-query ndcg@10 ``values`` of each scorer on the artists ``ids``."""
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    return registry.register_model(con, open_store(), family="siamese", model_file=f,
                                   report=_artist_report(values, ids), params={}, target_metric="seed",
                                   dump_id="d" * 64, training_artists=trained)


# -- the rules at their edges: a baseline tied with the model, a champion whose training artists are not recorded
# against a challenger that heard some of its own test artists, and a forced clear winner ----------------------

def test_a_baseline_exactly_as_good_as_the_model_blocks_promotion(con, tmp_path):
    # the model is far ahead of random (the first model's bar) but popularity ties it exactly: not better
    rng = np.random.default_rng(5)
    model = 0.7 + rng.normal(0, 0.01, TEST.size)
    e = _register_scores(con, tmp_path, {"model": model, "random": 0.3 + rng.normal(0, 0.01, TEST.size),
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
    champ = _register_scores(con, tmp_path, {"model": 0.87 + rng.normal(0, 0.01, 35),
                                      "random": 0.3 + rng.normal(0, 0.01, 35)}, CHAMP_TEST)
    assert promotion.promote(con, champ.version).promoted
    assert registry.training_artists(con, champ.version) is None
    e = _register_scores(con, tmp_path, {"model": 0.90 + rng.normal(0, 0.005, 35),
                                  champ.version: 0.80 + rng.normal(0, 0.005, 35),
                                  "random": 0.3 + rng.normal(0, 0.01, 35)}, TEST,
                  trained=np.r_[TEST[:5], np.arange(600, 660)])
    fair = promotion.fair_queries(con, registry.get_model(con, champ.version), e, TEST.tolist())
    assert fair.left_out == set(TEST[5:].tolist()) and fair.queries == TEST[:5].tolist() and not fair.recorded
    d = promotion.promote(con, e.version)
    assert d.left_out == 30 and d.n_queries == 5 and not d.promoted


def test_forcing_a_clear_winner_is_not_recorded_as_forced(con, tmp_path):
    rng = np.random.default_rng(3)
    e = _register_scores(con, tmp_path, {"model": 0.87 + rng.normal(0, 0.01, 35),
                                  "random": 0.3 + rng.normal(0, 0.01, 35)}, TEST)
    d = promotion.promote(con, e.version, force=True)
    assert d.promoted and not d.forced and d.status == "champion" and d.diff > 0.5 and d.lo > 0
    assert not d.reason.startswith("forced")
    assert registry.champion(con, "siamese").version == e.version
    assert registry.promotions(con, family="siamese")[0]["forced"] is False


# -- the decision: evidence, baselines, the CI of the difference, the champion's stored values ------------------

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


def test_a_missing_card_says_so_and_leaves_the_decision_unrecorded(con, tmp_path):
    # a hand-deleted card.md said "could not be rewritten (no object ...): promote again once the object store is
    # reachable", though the store was reachable and waiting would never help
    from musim.errors import StorageError

    store = open_store()
    champ = _champion_trained_on(con, store, tmp_path, np.r_[TEST[:20], np.arange(500, 540)])
    e = _challenger(con, store, tmp_path, champ, np.arange(600, 660))
    store.delete(e.key("card.md"))
    with pytest.raises(StorageError, match=r"^the model card of siamese-2 \(models/siamese/siamese-2/card.md in .*\) "
                                           r"is missing, so the decision was not recorded: restore the version's "
                                           r"folder from a backup of the object store, then promote again$"):
        promotion.promote(con, e.version)
    assert registry.champion(con, "siamese").version == champ.version


def test_the_baseline_that_blocked_a_promotion_is_the_one_it_is_recorded_against(con, tmp_path):
    """The card read "**not promoted** against random on auc: not promoted: a baseline is at least as good on auc:
    ... descriptors ...": it named random (the first model's default opponent) though the descriptors baseline
    decided, and said "not promoted" twice."""
    store = open_store()
    # the model beats random beyond the CI; descriptors, far better, and pixel, a little worse, are baselines too
    e = _register(con, store, tmp_path, _report(_truth(), 0.3, others={"descriptors": (0.01, 7),
                                                                        "pixel": (0.35, 8)}))
    d = promotion.promote(con, e.version)
    assert not d.promoted and d.against == "descriptors" and d.diff < 0 and d.hi < 0, d
    direct = registry.compare_values(con, e.test_set_id, registry.query_values(con, e.version, "model", "ndcg@10"),
                                     registry.query_values(con, e.version, "descriptors", "ndcg@10"),
                                     names=(e.version, "descriptors"), metric="ndcg@10")
    assert d.diff == pytest.approx(direct.diff)  # the recorded difference is to the baseline it names
    stored = registry.promotions(con, family="siamese")[0]
    assert stored["against"] == "descriptors"
    card = store.get_bytes(e.key("card.md")).decode()
    line = next(x for x in card.splitlines() if x.startswith("- ") and "**not promoted**" in x)
    assert "**not promoted** against descriptors on ndcg@10: a baseline is at least as good on ndcg@10: " \
           "descriptors " in line and line.count("not promoted") == 1, line
    forced = promotion.promote(con, e.version, force=True)
    assert forced.against == "descriptors" and forced.reason.startswith("forced; a baseline is at least as good")
    card = store.get_bytes(e.key("card.md")).decode()
    line = next(x for x in card.splitlines() if "**promoted (forced)**" in x)
    assert line.count("forced") == 1 and "against descriptors on ndcg@10: a baseline is at least" in line, line
    # with a champion, a refusal the baseline decided still names the baseline; forcing past it replaces the
    # champion and stays recorded against that champion
    again = _register(con, store, tmp_path, _report(_truth(), 0.3, seed=2, others={"descriptors": (0.01, 7)}))
    assert promotion.promote(con, again.version).against == "descriptors"
    assert promotion.promote(con, again.version, force=True).against == e.version


def test_too_few_artists_judged_by_identity_says_how_many_more_are_needed(con, tmp_path):
    """By artist identity every artist with two tracks is a test artist already, yet the reason said to "raise
    test_share", which cannot help."""
    store = open_store()
    f = tmp_path / "model.keras"
    f.write_bytes(b"not really a keras file")
    e = registry.register_model(con, store, family="autoencoder", model_file=f, report=_identity_report(True),
                                params={}, target_metric="artist", primary_metric="auc")
    d = promotion.promote(con, e.version, min_test_artists=10, min_queries=3)
    assert not d.promoted and d.reason.startswith("not promoted: too little evidence: 6 test artists and 60 query "
                                                  "tracks (at least 10 and 3)"), d.reason
    assert "add audio for 4 more artists (two tracks or more each), or lower" in d.reason
    assert "test_share" not in d.reason
    both = promotion.promote(con, e.version, min_test_artists=10, min_queries=100).reason
    assert "add audio for 4 more artists (two tracks or more each) and 40 more tracks of such artists" in both, both
    assert "MUSIM_PROMOTION_MIN_TEST_ARTISTS" in both
    # held-out artists (not by identity): a larger test share does help there
    clear = _register(con, store, tmp_path, _report(_truth(), 0.01))
    assert "raise test_share" in promotion.promote(con, clear.version, min_test_artists=41).reason


def test_models_show_says_each_decision_once_in_the_cards_words(con, tmp_path, capsys):
    """`musim models show` printed "not promoted vs random: not promoted: too little evidence: …" (the reason's own
    prefix after the outcome) and no metric; it now reads as the card's Promotion section does."""
    from musim.cli import main

    e = _register(con, open_store(), tmp_path, _report(_truth(), 0.01))
    promotion.promote(con, e.version, min_test_artists=41)
    promotion.promote(con, e.version, min_test_artists=41, force=True)
    con.close()
    assert main(["models", "show", e.version]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("promotion ")]
    why = ("too little evidence: 40 test artists and 40 queries (at least 41 and 10: add artists with audio, raise "
           "test_share, or lower MUSIM_PROMOTION_MIN_TEST_ARTISTS / MUSIM_PROMOTION_MIN_QUERIES)")
    assert [line.split(": ", 1)[1] for line in lines] == [f"PROMOTED (FORCED) vs random on ndcg@10: {why}",
                                                          f"not promoted vs random on ndcg@10: {why}"]


@pytest.mark.parametrize("confidence", [0.01, 0.3, 0.999, 0.0, 1.0, 1.5, float("nan"), float("inf")])
def test_a_confidence_outside_what_the_bootstrap_can_tell_is_refused_before_anything_is_decided(con, tmp_path,
                                                                                                 confidence):
    """`promote(confidence=0.01)` promoted a challenger whose narrow "CI" of 1 % cleared 0 by a hair; a level of 1
    or more is no interval at all, 0.999 a single draw of 2,000 in its tail."""
    from musim.errors import ParameterError

    version = _register(con, open_store(), tmp_path, _report(_truth(), 0.3)).version
    with pytest.raises(ParameterError, match=r"^a promotion's confidence \(--confidence\) must be between 0\.5 and "
                                             r"0\.995, got .*: it is the level of the paired difference's CI"):
        promotion.promote(con, version, confidence=confidence)
    assert registry.promotions(con, family="siamese") == [] and registry.champion(con, "siamese") is None
    assert promotion.check_confidence(0.5) == 0.5 and promotion.check_confidence(0.995) == 0.995
    with pytest.raises(ParameterError, match="fewer than 5 of 1,000 bootstrap resamples"):
        promotion.check_confidence(0.995, n_boot=1000)
