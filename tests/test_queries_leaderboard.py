"""The page's leaderboard chosen and ranked in SQL (``queries.leaderboard(limit=)``) against the whole leaderboard
ranked in Python, which the page read and scored in full on each load (0.7 s at 3,000 versions)."""

from __future__ import annotations

import datetime as dt
import json
import random

import duckdb
import pytest

from musim import queries
from musim.sql import SQL_DIR
from musim.ui import page as html

METRICS = ("ndcg@10", "precision@5", "a.b", 'q"t', "$x")


def _registry(n: int, seed: int) -> duckdb.DuckDBPyConnection:
    """An in-memory registry of ``n`` versions: ties, models without a score, champions ranked low, odd metric
    names, a boolean and an integer mean, a model scorer that is not an object."""
    rng = random.Random(seed)
    con = duckdb.connect()
    con.execute((SQL_DIR / "migrations" / "007_models.sql").read_text())
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for i in range(n):
        primary = rng.choice(METRICS)
        kind = rng.random()
        if kind < 0.1:
            model = {primary: {"mean": None, "lo": None, "hi": None, "n": 0}}
        elif kind < 0.13:
            model = {primary: {"mean": rng.choice([True, False, 1, 0])}}
        elif kind < 0.15:
            model = ["not", "an", "object"]
        elif kind < 0.18:
            model = {"other": {"mean": 0.5}}
        else:
            mean = round(rng.random(), 2)  # many ties
            model = {primary: {"mean": mean, "lo": mean - 0.05, "hi": mean + 0.05, "n": 40},
                     "map": {"mean": round(rng.random(), 3), "lo": 0, "hi": 1, "n": 40}}
        metrics = {"model": model} if not isinstance(model, list) else {"model": {primary: model}}
        metrics |= {b: {primary: {"mean": round(rng.random(), 2), "n": 40}} for b in queries.BASELINES
                    if rng.random() < 0.5}
        family = rng.choice(("siamese", "autoencoder", "cnn_classifier"))
        status = rng.choices(("champion", "challenger", "archived"), (0.05, 0.6, 0.35))[0]
        con.execute("""INSERT INTO model_registry (version, family, seq, run_id, status, params, target_metric,
                       test_set_id, primary_metric, metrics, object_prefix, created_at, status_at)
                       VALUES (?, ?, ?, ?, ?, '{}', 'seed', 'ts', ?, ?, ?, ?, ?)""",
                    [f"{family}-{i}", family, i, f"run-{i}", status, primary, json.dumps(metrics),
                     f"models/{family}/{family}-{i}/", now - dt.timedelta(hours=i), now])
    return con


@pytest.mark.parametrize("seed", [1, 2])
def test_the_pages_leaderboard_chosen_in_sql_is_the_whole_ones_best_and_champions(seed):
    con = _registry(400, seed)
    snap = queries.Snapshot(columns={"model_registry": []}, types={}, nonempty={"model_registry"})
    whole = queries.leaderboard(con, snap)  # every version, ranked in Python
    assert len(whole["rows"]) == 400
    for limit in (1, 3, 50, 1000):
        seen: dict[str, int] = {}
        expected = []
        for row in whole["rows"]:
            seen[row["primary_metric"]] = seen.get(row["primary_metric"], 0) + 1
            if seen[row["primary_metric"]] <= limit or row["champion"]:
                expected.append(row)
        shown = queries.leaderboard(con, snap, limit=limit)
        assert shown["rows"] == expected and shown["total"] == 400
        assert shown["primary_metrics"] == whole["primary_metrics"]
        assert html.leaderboard_result(shown, limit=limit) == html.leaderboard_result(whole, limit=limit)
    assert len(queries.leaderboard(con, snap, limit=3)["rows"]) < 400
