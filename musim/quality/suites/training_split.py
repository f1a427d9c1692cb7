"""The ``training_split`` suite: what a model run is about to train and be evaluated on.

A model's training set has no table: the training job builds it from the warehouse (tracks with log-mels,
pair targets of one dump, an artist split) and hands it to this suite as a :class:`TrainingSplit`
(``check_on(..., payload={"training_split": split})``; :func:`musim.models.families.gate_inputs` does for
every family). The suite imports no model code: from the command line (``musim quality check --dataset
training_split``) the CLI hands it the split the next training run would use (default shares and seed).

Three parts:

- ``artists``: one row per artist of the split — an artist is on exactly one side (train, validation or
  test) and has audio; validation and test artists (the ones a model is ranked on) have targets;
- ``pairs``: the target of every pair of artists *within* a side (what the model learns and is ranked on),
  all of them up to ``full_rows_max`` and a seeded sample above — targets present and on 0..1;
- ``balance``: one summary row reporting the balance (artists, tracks and pairs per side, the share of
  pairs with co-listeners per side, classes when the run has labels) and checking the whole-matrix facts
  on every pair: symmetric, finite, on 0..1; enough test artists, one with co-listeners among them; similar pairs to learn from; every test
  label seen in training.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from musim.quality.registry import (
    CheckContext,
    Coverage,
    DatasetSuite,
    Part,
    fact_between,
    fact_zero,
    register,
)

NAME = "training_split"
SIDES = ("train", "validation", "test")


@dataclass(frozen=True, eq=False)
class TrainingSplit:
    """One training run's inputs as the suite sees them.

    ``target_ids`` (sorted) and ``targets`` (square, NaN on the diagonal) are the pair targets;
    ``sides`` maps train/validation/test to artist ids; ``track_artist`` is the artist of each clip;
    ``track_labels`` (optional) the class label of each clip for a classifier run (None: the clip has no
    label, e.g. an untagged track; such clips are left out of the label checks).
    """

    target_ids: np.ndarray
    targets: np.ndarray
    sides: Mapping[str, np.ndarray]
    track_artist: np.ndarray
    track_labels: np.ndarray | None = None
    metric: str = "seed"
    description: str = ""
    zero_threshold: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def index_of(self, artists: np.ndarray) -> np.ndarray:
        """Rows of ``artists`` in the target matrix (-1 where an artist has no targets)."""
        pos = np.searchsorted(self.target_ids, artists)
        pos = np.clip(pos, 0, max(self.target_ids.size - 1, 0))
        ok = self.target_ids.size > 0
        found = (self.target_ids[pos] == artists) if ok else np.zeros(artists.shape, dtype=bool)
        return np.where(found, pos, -1)


@dataclass(frozen=True)
class NoSplit:
    """The payload where no training split can be made, with why (the suite's reason to skip): e.g. a home with no
    co-listening targets, whose model runs train without a split (``musim quality check`` hands it over)."""

    reason: str


def _has_label(x: Any) -> bool:
    """A clip has a class label unless it is missing (None, NaN or blank): an untagged track is no class."""
    return not (x is None or (isinstance(x, float) and x != x) or str(x).strip() == "")


def _side_labels(s: TrainingSplit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The labelled clips' labels (as text), and those of the training and of the test side's labelled clips
    (clips without a label are left out: they are no class a test clip could miss in training)."""
    raw = np.asarray(s.track_labels, dtype=object)
    has = np.fromiter((_has_label(x) for x in raw.tolist()), dtype=bool, count=raw.size)
    labels = raw.astype(str)
    return (labels[has], labels[has & np.isin(s.track_artist, s.sides.get("train", []))],
            labels[has & np.isin(s.track_artist, s.sides.get("test", []))])


def _split(ctx: CheckContext) -> TrainingSplit:
    return ctx.payload[NAME]


def _applies(ctx: CheckContext) -> str | None:
    given = ctx.payload.get(NAME)
    if isinstance(given, NoSplit):
        return given.reason
    if given is not None:
        return None
    return ("no training split given: each model run checks its own (payload); `musim quality check --dataset "
            "training_split` checks the split the next run would use once audio features and targets exist")


# -- frames ---------------------------------------------------------------------------------------------

def artist_frames(ctx: CheckContext, coverage: Coverage) -> Iterator:
    import pandas as pd

    s = _split(ctx)
    members = [(int(a), side) for side in SIDES for a in np.asarray(s.sides.get(side, []), dtype=np.int64)]
    df = pd.DataFrame(members, columns=["artist_id", "side"])
    grouped = df.groupby("artist_id", sort=True)["side"]
    out = pd.DataFrame({"sides": grouped.agg(lambda v: ",".join(sorted(v))), "n_sides": grouped.size()})
    ids, counts = np.unique(np.asarray(s.track_artist, dtype=np.int64), return_counts=True)
    clips = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    out["tracks"] = [clips.get(int(a), 0) for a in out.index]
    out["has_targets"] = s.index_of(out.index.to_numpy(dtype=np.int64)) >= 0
    # artists a model is ranked on need targets; training artists may lack them (the classifier and the
    # autoencoder learn from audio and labels alone)
    out["ranked_without_targets"] = ~out["has_targets"] & (out["sides"] != "train")
    out = out.reset_index()
    coverage.rows_total = coverage.rows_validated = len(out)
    coverage.how = f"all {len(out):,} artists of the split"
    yield out


def _side_pairs(s: TrainingSplit, side: str) -> tuple[np.ndarray, np.ndarray]:
    idx = s.index_of(np.asarray(s.sides.get(side, []), dtype=np.int64))
    idx = idx[idx >= 0]
    a, b = np.triu_indices(idx.size, k=1)
    return idx[a], idx[b]


def pair_frames(ctx: CheckContext, coverage: Coverage) -> Iterator:
    import pandas as pd

    s, t = _split(ctx), ctx.thresholds
    sides = {side: _side_pairs(s, side) for side in SIDES}
    total = sum(a.size for a, _ in sides.values())
    coverage.rows_total = total
    coverage.sampled = total > t.full_rows_max
    rng = np.random.default_rng(t.seed)
    keep_share = min(1.0, t.sample_rows / total) if coverage.sampled and total else 1.0
    frames = []
    for side, (a, b) in sides.items():
        if coverage.sampled:
            chosen = np.sort(rng.choice(a.size, size=round(a.size * keep_share), replace=False))
            a, b = a[chosen], b[chosen]
        frames.append(pd.DataFrame({"side": side, "artist_a": s.target_ids[a], "artist_b": s.target_ids[b],
                                    "target": s.targets[a, b].astype(np.float64)}))
    df = pd.concat(frames, ignore_index=True)
    coverage.how = (f"seeded sample of {len(df):,} of {total:,} within-side pairs (seed {t.seed})"
                    if coverage.sampled else f"all {total:,} within-side pairs")
    for start in range(0, max(len(df), 1), t.batch_rows):
        batch = df.iloc[start:start + t.batch_rows]
        coverage.rows_validated += len(batch)
        yield batch


def _balance(ctx: CheckContext) -> dict[str, Any]:
    s = _split(ctx)
    m = s.targets
    off = ~np.eye(m.shape[0], dtype=bool)
    values = m[off]
    row: dict[str, Any] = {
        "non_finite_targets": int((~np.isfinite(values)).sum()),
        "targets_out_of_range": int(((values < 0) | (values > 1)).sum()),
        "asymmetric_pairs": int((~np.isclose(np.nan_to_num(m), np.nan_to_num(m.T), atol=1e-6)).sum() // 2),
        "artists_on_two_sides": 0,
    }
    seen: dict[int, str] = {}
    for side in SIDES:
        ids = np.asarray(s.sides.get(side, []), dtype=np.int64)
        row["artists_on_two_sides"] += sum(1 for a in ids.tolist() if a in seen)
        seen.update(dict.fromkeys(ids.tolist(), side))
        in_side = np.isin(s.track_artist, ids)
        a, b = _side_pairs(s, side)
        t = m[a, b]
        row[f"{side}_artists"] = int(ids.size)
        row[f"{side}_tracks"] = int(in_side.sum())
        row[f"{side}_pairs"] = int(a.size)
        row[f"{side}_positive_share"] = float((t > s.zero_threshold).mean()) if t.size else 0.0
        row[f"{side}_target_mean"] = float(np.nanmean(t)) if t.size else 0.0
    row["test_ranked_artists"] = _ranked_test_artists(s)
    if s.track_labels is not None:
        row["labels_misaligned"] = int(np.shape(s.track_labels) != np.shape(s.track_artist))
        if row["labels_misaligned"]:
            return row
        labels, train, test = _side_labels(s)
        row["classes"] = len(set(labels.tolist()))
        _, counts = np.unique(train, return_counts=True)
        row["train_min_class_share"] = float(counts.min() / counts.sum()) if counts.size else 0.0
        row["test_tracks_of_unseen_classes"] = int((~np.isin(test, train)).sum())
    return row


def _ranked_test_artists(s: TrainingSplit) -> int:
    """How many test artists have co-listeners (a target > 0) among the other test artists: the queries the
    evaluation ranks (:func:`musim.models.evaluate.evaluate` leaves the others out; with none, registering the run
    is refused after training: "the evaluation has no informative query")."""
    idx = s.index_of(np.asarray(s.sides.get("test", []), dtype=np.int64))
    idx = idx[idx >= 0]
    within = np.nan_to_num(s.targets[np.ix_(idx, idx)].astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    return int((within > 0).any(axis=1).sum())


def balance_frames(ctx: CheckContext, coverage: Coverage) -> Iterator:
    import pandas as pd

    row = _balance(ctx)
    ctx._cache["balance"] = row
    s = _split(ctx)
    coverage.rows_total, coverage.rows_validated = int(s.targets.size), 0
    sides = ", ".join(f"{side} {row[f'{side}_artists']} artists / {row[f'{side}_pairs']:,} pairs "
                      f"({row[f'{side}_positive_share']:.0%} with co-listeners)" for side in SIDES)
    coverage.how = f"every target pair, summarised; {sides}"
    yield pd.DataFrame([row])


# -- expectations ---------------------------------------------------------------------------------------

def artist_expectations(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeUnique(column="artist_id", description="each artist once"),
        gxe.ExpectColumnValuesToBeBetween(column="n_sides", min_value=1, max_value=1,
                                          description="no artist on both sides of the split"),
        gxe.ExpectColumnValuesToBeInSet(column="sides", value_set=list(SIDES),
                                        description="sides are train, validation or test"),
        gxe.ExpectColumnValuesToBeBetween(column="tracks", min_value=1, description="every artist has audio"),
        gxe.ExpectColumnValuesToBeInSet(column="ranked_without_targets", value_set=[False],
                                        description="every validation and test artist has co-listening targets"),
    ]


def pair_expectations(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="target", description="every within-side pair has a target"),
        gxe.ExpectColumnValuesToBeBetween(column="target", min_value=0, max_value=1,
                                          description="targets on 0..1"),
        gxe.ExpectColumnValuesToBeInSet(column="side", value_set=list(SIDES), description="a known side"),
    ]


def balance_expectations(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    t = ctx.thresholds

    out = [
        fact_zero("non_finite_targets", "targets off the diagonal are finite"),
        fact_zero("targets_out_of_range", "targets on 0..1"),
        fact_zero("asymmetric_pairs", "targets are symmetric"),
        fact_zero("artists_on_two_sides", "no artist on both sides of the split"),
        fact_between("train_artists", min_value=2, description="at least 2 training artists"),
        fact_between("test_artists", min_value=t.training_min_test_artists,
                     description=f"at least {t.training_min_test_artists} test artists"),
        fact_between("test_ranked_artists", min_value=1,
                     description="a test artist has co-listeners among the test artists (else the evaluation "
                                 "ranks no query: move more artists to the test side, or pick another split seed)"),
        # a mean over one row: Data Docs show the observed share (the balance report)
        gxe.ExpectColumnMeanToBeBetween(column="train_positive_share", min_value=t.training_min_positive_share,
                                        max_value=1.0,
                                        description=f"at least {t.training_min_positive_share:.1%} of training "
                                                    "pairs have co-listeners (something similar to learn from)"),
        gxe.ExpectColumnMeanToBeBetween(column="test_positive_share", min_value=0.0, max_value=1.0,
                                        description="share of test pairs with co-listeners (reported)"),
    ]
    if _split(ctx).track_labels is not None:
        out.append(fact_zero("labels_misaligned", "one label per clip"))
        out.append(fact_zero("test_tracks_of_unseen_classes", "every test label occurs in training"))
        out.append(gxe.ExpectColumnMeanToBeBetween(column="train_min_class_share", min_value=0.0, max_value=1.0,
                                                   description="share of the rarest class in training (reported)"))
    return out


def fetch_examples(ctx: CheckContext, failed: set[str]) -> dict[str, list[str]]:
    s = _split(ctx)
    limit = ctx.thresholds.examples
    out: dict[str, list[str]] = {}
    if {"artists_on_two_sides", "n_sides"} & failed:
        sides = {side: set(np.asarray(s.sides.get(side, [])).tolist()) for side in SIDES}
        both = sorted(a for a in set().union(*sides.values()) if sum(a in v for v in sides.values()) > 1)
        out["artists_on_two_sides"] = out["n_sides"] = [
            f"artist {a} in {', '.join(x for x in SIDES if a in sides[x])}" for a in both[:limit]]
    if {"targets_out_of_range", "non_finite_targets", "target"} & failed:
        m = s.targets.copy()
        np.fill_diagonal(m, 0.0)
        bad = np.argwhere(~np.isfinite(m) | (m < 0) | (m > 1))
        text = [f"artists {s.target_ids[i]}-{s.target_ids[j]}: {s.targets[i, j]}" for i, j in bad[:limit]]
        for key in ("targets_out_of_range", "non_finite_targets", "target"):
            out[key] = text
    aligned = s.track_labels is not None and np.shape(s.track_labels) == np.shape(s.track_artist)
    if "labels_misaligned" in failed and s.track_labels is not None and not aligned:
        out["labels_misaligned"] = [f"{np.size(s.track_labels)} labels for {np.size(s.track_artist)} clips"]
    if "test_tracks_of_unseen_classes" in failed and aligned:
        _, train, test = _side_labels(s)
        unseen = sorted(set(test[~np.isin(test, train)].tolist()))
        out["test_tracks_of_unseen_classes"] = [f"label {v!r}" for v in unseen[:limit]]
    return out


register(DatasetSuite(
    name=NAME, applies=_applies, on_demand=True,
    description="A model run's artist split and pair targets: disjoint sides, targets on 0..1, balance reported",
    tables=("track",),
    parts=(
        Part(name="artists", expectations=artist_expectations, frames=artist_frames, examples=fetch_examples,
             description="one row per artist of the split"),
        Part(name="pairs", expectations=pair_expectations, frames=pair_frames, examples=fetch_examples,
             description="the target of every pair within a side"),
        Part(name="balance", expectations=balance_expectations, frames=balance_frames, examples=fetch_examples,
             description="whole-matrix facts and the balance of the sides", facts=True),
    ),
))
