"""``musim models compare``: one table of every family (its champion, else its newest version) and the
baselines, from the registry alone (no TensorFlow), with paired differences between versions evaluated
on the same test artists."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from musim import sql
from musim.errors import ParameterError
from musim.jsonable import json_safe
from musim.models import registry
from musim.models.constants import BASELINES, IDENTITY_METRICS, PRIMARY_METRIC

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

__all__ = ["DEFAULT_COLUMNS", "FamilyComparison", "by_identity", "compare_families", "evaluation_rows",
           "version_comparisons"]

#: The columns shown beside the primary metric, of those the compared versions' evaluations record: against
#: co-listening (the queries are test artists), or by artist identity without listening data (the queries are
#: tracks: :data:`musim.models.constants.IDENTITY_METRICS`).
DEFAULT_COLUMNS: tuple[str, ...] = ("precision@5", "map", "spearman", *IDENTITY_METRICS)


def by_identity(entry: registry.ModelEntry) -> bool:
    """Whether ``entry`` was evaluated by artist identity (a catalogue without listening data): its queries are
    tracks, not artists (:func:`musim.models.families.evaluation.evaluate_by_artist`)."""
    return any(m in IDENTITY_METRICS for m in entry.metrics.get(registry.MODEL_SCORER) or {})

@dataclass
class FamilyComparison:
    """One table of every family (its champion, else latest version) and the baselines."""

    metric: str
    metrics: list[str]
    rows: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    same_test_set: bool
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return json_safe({"metric": self.metric, "metrics": self.metrics, "rows": self.rows, "pairs": self.pairs,
                          "same_test_set": self.same_test_set, "notes": self.notes})

    def table(self) -> tuple[list[list[str]], list[str]]:
        """Rows and headers for :func:`musim.cli.output.print_table`."""
        def cell(c: Mapping[str, Any] | None) -> str:
            if not c or c.get("mean") is None or (isinstance(c["mean"], float) and math.isnan(c["mean"])):
                return "–"
            return f"{c['mean']:.3f} [{c['lo']:.3f}, {c['hi']:.3f}]"

        headers = ["model", "version", "status", "test set", "queries", *self.metrics]
        body = [[r["name"], r.get("version") or "", r.get("status") or "", (r.get("test_set_id") or "")[:8],
                 str(r.get("queries", "")), *[cell(r["metrics"].get(m)) for m in self.metrics]] for r in self.rows]
        return body, headers

    def text(self) -> str:
        body, headers = self.table()
        if not body:  # nothing registered to compare: the note alone, not the header of an empty table
            return "\n".join(self.notes)
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) for b in body]
        for p in self.pairs:
            lines.append(f"{p['a']} vs {p['b']} on {p['metric']}: {_fmt_diff(p)}")
        return "\n".join(lines + self.notes)


def _fmt_diff(p: Mapping[str, Any]) -> str:
    if not p.get("n"):
        return "no common query"
    verdict = "better" if p["a_better"] else "worse" if p["b_better"] else "within the CI"
    return f"{p['diff']:+.3f} [{p['lo']:+.3f}, {p['hi']:+.3f}] over {p['n']} queries ({verdict})"


def compare_families(con: duckdb.DuckDBPyConnection, *, metric: str | None = None,
                     metrics: Sequence[str] | None = None, families: Sequence[str] | None = None,
                     latest: bool = False, n_boot: int = 2000, confidence: float = 0.95) -> FamilyComparison:
    """Every family's champion (else, or with ``latest``, its newest version) and the baselines, from the
    registry (no TensorFlow).

    Baselines come from the evaluation of the reference model (the newest entry of the most common test
    set). Paired differences (bootstrap over the common query artists) of the best family against each
    other family use the stored per-query values, only between versions evaluated on the same test set (a
    version's own evaluation: never a champion re-scored on artists it trained on); rows on another test set, and
    rows of a version that trained on some of its test artists (the audio of every track), are flagged in
    ``notes``.
    """
    known = [r[0] for r in sql.query(con, "models/registry_families.sql").fetchall()]
    metrics = list(dict.fromkeys(metrics)) if metrics else metrics
    chosen: list[registry.ModelEntry] = []
    for fam in dict.fromkeys(families or known):  # a family named twice is one row (not a version against itself)
        entry = None if latest else registry.champion(con, fam)
        if entry is None:
            newest = registry.list_models(con, family=fam)
            entry = newest[0] if newest else None
        if entry is not None:
            chosen.append(entry)
    if not chosen:
        asked = list(dict.fromkeys(families or []))
        said = (["no model registered yet: train one (`musim models train [--family F]` or the train_siamese / "
                 "train_embeddings DAGs)"] if not asked or not known else
                [f"no {' or '.join(asked)} version registered yet (registered: {', '.join(known)}): train one "
                 f"(`musim models train --family {asked[0]}`), or compare the registered families"])
        return FamilyComparison(metric or PRIMARY_METRIC, list(metrics or []), [], [], True, said)
    ground = registry.evaluation_ground  # what makes stored values comparable
    sets: dict[tuple[str, str | None, str], int] = {}
    for e in chosen:
        sets[ground(e)] = sets.get(ground(e), 0) + 1
    ref_set = max(sets, key=lambda s: (sets[s], max(e.created_at for e in chosen if ground(e) == s)))
    ref = max((e for e in chosen if ground(e) == ref_set), key=lambda e: e.created_at)
    metric = metric or ref.primary_metric
    recorded = {m for e in chosen for scores in e.metrics.values() if isinstance(scores, dict) for m in scores}
    cols = list(dict.fromkeys([metric, *(metrics or [m for m in DEFAULT_COLUMNS if m in recorded])]))
    unknown = [m for m in dict.fromkeys([metric, *(metrics or [])]) if m not in recorded]
    if unknown:
        raise ParameterError(f"no version compared here records {', '.join(map(repr, unknown))}; metrics: "
                             f"{', '.join(sorted(recorded))}")
    n_test = {s: int(sql.query(con, "models/registry_test_set_size.sql", test_set_id=s).fetchone()[0])
              for s in {e.test_set_id for e in chosen}}

    def queries(e: registry.ModelEntry) -> int:
        return len(registry.query_values(con, e.version, registry.MODEL_SCORER, metric))

    rows = [{"name": e.family, "kind": "family", "version": e.version, "status": e.status,
             "test_set_id": e.test_set_id, "test_artists": n_test.get(e.test_set_id), "queries": queries(e),
             "comparable": ground(e) == ref_set,
             "metrics": {m: (e.metrics.get(registry.MODEL_SCORER) or {}).get(m) for m in cols}}
            for e in chosen]
    rows.sort(key=lambda r: -np.nan_to_num((r["metrics"].get(metric) or {}).get("mean") or math.nan, nan=-9.0))
    for b in BASELINES:
        if b in ref.metrics:
            rows.append({"name": f"baseline: {b}", "kind": "baseline", "version": None, "status": None,
                         "test_set_id": ref.test_set_id, "test_artists": n_test.get(ref.test_set_id), "comparable": True,
                         "queries": len(registry.query_values(con, ref.version, b, metric)) or None,
                         "metrics": {m: ref.metrics[b].get(m) for m in cols}, "from": ref.version})
    notes = []
    same = len(sets) == 1
    if same:
        queried = ("query tracks (the interval resamples their artists)" if by_identity(ref) else "query artists")
        notes.append(f"All rows are evaluated on the same {n_test.get(ref.test_set_id)} test artists (test set "
                     f"{ref.test_set_id[:8]}) against the same truth; baselines from the evaluation of {ref.version}; "
                     f"mean [95% CI] over {queried}.")
    else:
        for e in chosen:
            if e.test_set_id != ref.test_set_id:
                notes.append(f"NOTE: {e.version} was evaluated on other test artists (test set {e.test_set_id[:8]}, "
                             f"{n_test.get(e.test_set_id)} artists) than the others ({ref.test_set_id[:8]}, "
                             f"{n_test.get(ref.test_set_id)} artists): its row is not directly comparable.")
            elif ground(e) != ref_set:
                notes.append(f"NOTE: {e.version} was evaluated against another truth (dump "
                             f"{(e.dump_id or '-')[:12]}, target {e.target_metric}) than the others (dump "
                             f"{(ref.dump_id or '-')[:12]}, target {ref.target_metric}): its row is not directly "
                             "comparable.")
    for e in chosen:  # a row on artists its version trained on (the audio of every track: contrastive, autoencoder)
        trained = registry.training_artists(con, e.version) or set()
        heard = len(trained & registry.test_artists(con, e.test_set_id))
        next(r for r in rows if r.get("version") == e.version)["trained_on_test"] = heard
        if heard:
            notes.append(f"NOTE: {e.version} trained on {heard} of its {n_test.get(e.test_set_id)} test artists "
                         "(their audio): its row is not on held-out artists.")
    pairs = []
    fam_rows = [r for r in rows if r["kind"] == "family" and r["comparable"]]
    if len(fam_rows) > 1:
        best = fam_rows[0]
        a = registry.query_values(con, best["version"], registry.MODEL_SCORER, metric)
        for other in fam_rows[1:]:
            b = registry.query_values(con, other["version"], registry.MODEL_SCORER, metric)
            c = registry.compare_values(con, ref.test_set_id, a, b, names=(best["version"], other["version"]),
                                        metric=metric, n_boot=n_boot, confidence=confidence)
            pairs.append(c.to_json())
    return FamilyComparison(metric, cols, rows, pairs, same, notes)




def evaluation_rows(metrics: Mapping[str, Mapping[str, Mapping[str, Any]]],
                    names: Sequence[str] = ("precision@3", "precision@5", "ndcg@10")) -> list[dict[str, Any]]:
    """``[{scorer, metric: {mean, lo, hi, n}, ...}]`` of one version's evaluation for the named metrics
    (the model first, then the champion and the baselines)."""
    scorers = sorted(metrics, key=lambda s: (s != registry.MODEL_SCORER, s))
    return [{"scorer": s, **{m: dict(metrics[s].get(m) or {}) for m in names}} for s in scorers]


def version_comparisons(con: duckdb.DuckDBPyConnection, version: str, names: Sequence[str], *,
                        against: Sequence[str] | None = None, n_boot: int = 2000) -> list[dict[str, Any]]:
    """Paired bootstrap CIs of (model − scorer) per metric over the same queries of ``version``'s evaluation
    (``against``: scorer names, default every other scorer of that evaluation)."""
    entry = registry.get_model(con, version)
    out = []
    for other in against or [s for s in entry.metrics if s != registry.MODEL_SCORER]:
        for m in names:
            a = registry.query_values(con, version, registry.MODEL_SCORER, m)
            b = registry.query_values(con, version, other, m)
            if not set(a) & set(b):
                continue
            cmp = registry.compare_values(con, entry.test_set_id, a, b, names=("model", other), metric=m,
                                          n_boot=n_boot)
            out.append(cmp.to_json())
    return out
