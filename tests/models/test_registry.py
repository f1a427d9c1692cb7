"""Registry: a version's files and rows, champion look-ups, and the card tables written at registration (the
promotion decision: test_promotion.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim.errors import NotFoundError
from musim.models import promotion, registry
from musim.storage import open_store
from tests.models.conftest import TEST, N, _challenger, _champion_trained_on, _register, _report, _truth


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


def test_without_a_champion_the_errors_name_the_registered_versions(con, tmp_path):
    from musim.models.new_audio import serving_model

    e = _register(con, open_store(), tmp_path, _report(_truth(), 0.3))
    assert e.status != "champion"
    with pytest.raises(NotFoundError, match=r"no model is served: the published snapshot has no champion and no "
                                            r"published version: publish one \(`musim models publish VERSION`\) or "
                                            rf"name one with `--model VERSION`; registered: {e.version}$"):
        serving_model(con)
    con.execute("INSERT INTO artist_neighbors_audio (family, model_version, artist_id, rank, neighbor_id, score, "
                "cold_start, created_at) VALUES ('siamese', ?, 1, 1, 2, 0.5, false, now())", [e.version])
    assert serving_model(con) == e.version  # published, no champion: it serves (as `similar --audio` serves it)
    con.execute("DELETE FROM artist_neighbors_audio")
    with pytest.raises(NotFoundError, match=rf"family 'siamese' has no champion yet; its versions: {e.version} "):
        registry.get_model(con, "siamese:champion")
    with pytest.raises(NotFoundError, match=r"family 'autoencoder' has no champion yet$"):
        registry.get_model(con, "autoencoder:champion")
    promotion.promote(con, e.version, force=True)
    assert serving_model(con) == e.version


# -- the card's tables score a re-scored champion only on the test artists it never trained on ------------------

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


def test_a_version_name_registered_again_is_fetched_again_not_served_from_the_cache(con, tmp_path):
    """A warehouse restored from a backup (or made anew) over the same object store numbers its versions from there:
    the next siamese-1 replaces the stored model, and the local copy of the previous siamese-1 (`$MUSIM_HOME/cache/
    models/siamese-1/model.keras`) went on serving `similar-audio`, `embed` and publishing, silently."""
    import zipfile

    store = open_store()
    cache = tmp_path / "cache"

    def register(weights: str) -> registry.ModelEntry:
        f = tmp_path / "model.keras"
        with zipfile.ZipFile(f, "w") as z:
            z.writestr("model.weights.h5", weights)
        return registry.register_model(con, store, family="siamese", model_file=f, report=_report(_truth(), 0.3),
                                       params={}, target_metric="seed", dump_id="d" * 64)

    def weights(path) -> str:
        with zipfile.ZipFile(path) as z:
            return z.read("model.weights.h5").decode()

    first = register("first model")
    assert weights(registry.fetch_model_file(store, first, cache)) == "first model"
    assert weights(registry.fetch_model_file(store, first, cache)) == "first model"  # the copy, as before
    for table in ("model_eval_query", "model_training_artist", "model_registry"):  # the warehouse restored
        con.execute(f"DELETE FROM {table}")
    again = register("second model")
    assert again.version == first.version and again.created_at != first.created_at
    assert weights(registry.fetch_model_file(store, again, cache)) == "second model"


def test_a_version_name_registered_again_does_not_take_the_published_manifest_of_the_one_before(con, tmp_path):
    """A warehouse restored from a backup numbers its versions from there: the earlier siamese-1's embedding.json (its
    newest publication's manifest: views, input parameters, analysis window) stayed beside the new siamese-1, which
    `embed --model siamese-1` read as the new, unpublished version's own."""
    from musim.models.manifests import EMBEDDING_FILE, read_manifest

    store = open_store()
    first = _register(con, store, tmp_path, _report(_truth(), 0.3))
    store.put_bytes(first.key(EMBEDDING_FILE), json.dumps({"version": first.version, "excerpt_s": 12.0}).encode())
    assert store.exists(first.key(EMBEDDING_FILE))  # published
    for table in ("model_eval_query", "model_training_artist", "model_registry"):  # the warehouse restored
        con.execute(f"DELETE FROM {table}")
    again = _register(con, store, tmp_path, _report(_truth(), 0.3))
    assert again.version == first.version
    with pytest.raises(NotFoundError):  # never published: the earlier version's manifest is not its own
        read_manifest(store, "siamese", again.version)
