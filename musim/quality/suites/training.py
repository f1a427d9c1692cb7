"""The ``training_sets`` suite: the point-in-time training frame of every registered feature service.

Training sets have no table: :func:`musim.features.get_training_frame` builds them on demand. This suite
builds, for each service in ``feature_service``, the frame of the audio catalogue (every ``track``, with
its ``artist_id``, except those feature extraction had rejected at the service's pinned ``as_of``, else now:
``sql/quality/training_entities.sql`` judges the rejections of ``feature_reject`` and ``feature_superseded`` as they
stood then, of the audio the track had then) at that moment, and checks one fact row per service. A pinned
service is checked on the tracks that were in the catalogue at its ``as_of`` (``track.added_at``): a track added
since cannot have had features then, and a music folder keeps growing after its first model is trained; a track
that was there and had no feature then is still a gap. The facts:
one frame row per entity, every feature column present for at least ``training_feature_mostly`` of the
rows, scalar and vector values finite, one vector length per column, tensor values are feature object
keys. A scalars view's row is present when any of its columns holds a number: NaN in a column beside numbers
in the others is a non-finite value, not a gap (a gap is the whole row NaN: no value at ``as_of``). (Leakage is excluded by construction: the join takes the latest value created at or before
``as_of``.) A training DAG should gate its service with ``gate_task(("training_sets",), None)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from musim import sql
from musim.quality.registry import CheckContext, Coverage, DatasetSuite, Part, register

_TENSOR_KEY = re.compile(r"^features/[a-z_]+/[^/]+/[^/]+\.npy$")
_COLUMNS = ["service", "entities", "rows", "no_usable_tracks", "feature_columns", "min_coverage", "worst_column",
            "non_finite_values", "mixed_vector_lengths", "bad_tensor_keys"]


def _has_services(ctx: CheckContext) -> str | None:
    if sql.query(ctx.con, "quality/feature_service_count.sql").fetchone()[0] == 0:
        return "no feature service is registered (`musim features build` registers the defined ones)"
    return None


def _describe(service: str, frame, entity_columns: list[str], examples: dict[str, list[str]], limit: int) -> dict:
    import numpy as np
    import pandas as pd

    feats = [c for c in frame.columns if "__" in c and c not in entity_columns]
    n = len(frame)
    coverage, worst = 1.0, ""
    non_finite = mixed = bad_keys = 0

    def note(check: str, text: str) -> None:
        if len(examples.setdefault(check, [])) < limit:
            examples[check].append(f"{service}: {text}")

    # a scalars view's columns (floats) are one stored vector: a row of the view is missing only when all are NaN
    scalar = [c for c in feats if pd.api.types.is_float_dtype(frame[c])]
    view_present = {view: frame[[c for c in scalar if c.split("__", 1)[0] == view]].notna().any(axis=1)
                    for view in {c.split("__", 1)[0] for c in scalar}}
    for col in feats:
        values = frame[col]
        if col in scalar:
            present = view_present[col.split("__", 1)[0]]
        else:
            present = values.map(lambda v: v is not None and not (isinstance(v, float) and np.isnan(v)))
        share = float(present.mean()) if n else 1.0
        if share < coverage:
            coverage, worst = share, col
        if share < 1.0:
            missing = frame.loc[~present, "track_id"].head(limit).tolist()
            note("min_coverage", f"{col} missing for {int((~present).sum())} of {n} rows, e.g. tracks {missing}")
        kept = values[present]
        if kept.empty:
            continue
        first = kept.iloc[0]
        if isinstance(first, str):
            bad = kept[~kept.map(lambda k: bool(_TENSOR_KEY.match(k)))]
            bad_keys += len(bad)
            for k in bad.head(limit):
                note("bad_tensor_keys", f"{col} = {k!r}")
        elif isinstance(first, np.ndarray):
            lengths = {int(v.size) for v in kept}
            if len(lengths) > 1:
                mixed += 1
                note("mixed_vector_lengths", f"{col} lengths {sorted(lengths)}")
            bad = kept[~kept.map(lambda v: bool(np.isfinite(np.asarray(v, dtype=float)).all()))]
            non_finite += len(bad)
            for i in bad.index[:limit]:
                note("non_finite_values", f"{col} of track {frame.at[i, 'track_id']}")
        else:
            arr = kept.astype(float).to_numpy()
            bad_idx = kept.index[~np.isfinite(arr)]
            non_finite += len(bad_idx)
            for i in bad_idx[:limit]:
                note("non_finite_values", f"{col} of track {frame.at[i, 'track_id']} = {frame.at[i, col]}")
    return {"service": service, "feature_columns": len(feats), "min_coverage": coverage, "worst_column": worst,
            "non_finite_values": non_finite, "mixed_vector_lengths": mixed, "bad_tensor_keys": bad_keys}


def _catalogue_tracks(ctx: CheckContext, as_of) -> int:
    return sql.query(ctx.con, "quality/catalogue_tracks.sql", as_of=as_of).fetchone()[0]


def _no_usable_tracks(ctx: CheckContext, service, entities: int, examples: dict[str, list[str]]) -> bool:
    """Whether ``service``'s training set has no track to train on while the catalogue holds tracks (noting why in
    ``examples``). A catalogue with no track at all is not one, deliberately: a fresh install's `musim features
    build` (no audio stored yet, nothing to extract) runs this gate and passes; there is nothing wrong to fix yet."""
    if entities or not _catalogue_tracks(ctx, None):
        return False
    there = _catalogue_tracks(ctx, service.as_of)
    if there == 0:
        why = f"pinned at {service.as_of}, before the catalogue's first track was added (pin it at a later as_of)"
    else:
        at = f" at its as_of {service.as_of}" if service.as_of else ""
        why = (f"feature extraction rejected all {there:,} tracks of the catalogue{at} (`musim features build` "
               "prints the reasons: fix the audio, then `musim features build --recompute TRACK_ID ...`)")
    examples.setdefault("no_usable_tracks", []).append(f"{service.name}: 0 usable tracks: {why}")
    return True


def frames(ctx: CheckContext, coverage: Coverage) -> Iterator:
    import pandas as pd

    from musim.features import get_training_frame
    from musim.features.registry import get_service

    # tracks whose audio feature extraction rejected (with a recorded reason) are not training rows
    usable = len(sql.query(ctx.con, "quality/training_entities.sql", as_of=None).fetchall())
    excluded = sql.query(ctx.con, "quality/rejected_tracks.sql").fetchone()[0]
    services = [get_service(ctx.con, r[0]) for r in sql.query(ctx.con, "features/service_names.sql").fetchall()]
    built = ctx.payload.get("training_sets")  # a build of some views: the services it fed (gate_features)
    fed = services if built is None else [s for s in services if {v.ref for v in s.views} & set(built)]
    examples: dict[str, list[str]] = {}
    rows = []
    checked = pinned = 0
    for service in fed:
        name = service.name
        pinned += service.as_of is not None
        # a pinned service: the tracks of the catalogue at its as_of (those added since had no features then)
        entities = sql.query(ctx.con, "quality/training_entities.sql", as_of=service.as_of).df()
        frame = get_training_frame(service, entities, con=ctx.con)
        row = _describe(name, frame, ["track_id", "artist_id", "as_of"], examples, ctx.thresholds.examples)
        empty = _no_usable_tracks(ctx, service, len(entities), examples)
        rows.append({"entities": len(entities), "rows": len(frame), "no_usable_tracks": int(empty), **row})
        checked += len(entities)
        if len(frame) != len(entities):
            examples.setdefault("rows", []).append(f"{name}: {len(frame)} rows for {len(entities)} tracks")
    ctx._cache["training_examples"] = examples
    coverage.rows_total = checked
    coverage.rows_validated = 0
    coverage.how = (f"training frames of {len(fed)} feature service(s) over the {usable:,} usable tracks "
                    f"({excluded:,} rejected by feature extraction left out)"
                    + (f", {pinned} pinned one(s) over those there at their as_of" if pinned else "") + ", summarised"
                    + (f"; not judged: {', '.join(s.name for s in services if s not in fed)}, which read none of the "
                       f"views this build wrote ({', '.join(built)})" if built is not None and len(fed) < len(services)
                       else ""))
    yield pd.DataFrame(rows, columns=_COLUMNS)


def fetch_examples(ctx: CheckContext, failed: set[str]) -> dict[str, list[str]]:
    return {k: v for k, v in ctx._cache.get("training_examples", {}).items() if k in failed}


def expectations(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    mostly = ctx.thresholds.training_feature_mostly

    def zero(column: str, description: str):
        return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=0, description=description)

    return [
        zero("no_usable_tracks", "every training set has a usable track (a set of none trains nothing)"),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="rows", column_B="entities",
                                            description="one training row per catalogue track (at the service's as_of)"),
        gxe.ExpectColumnValuesToBeBetween(column="feature_columns", min_value=1, description="the frame has features"),
        gxe.ExpectColumnValuesToBeBetween(column="min_coverage", min_value=mostly, max_value=1.0,
                                          description=f"every feature is present for >= {mostly:.0%} of the tracks"),
        zero("non_finite_values", "no NaN or infinite feature value"),
        zero("mixed_vector_lengths", "one vector length per feature column"),
        zero("bad_tensor_keys", "tensor features are object keys features/<kind>/<params>/<audio>.npy"),
    ]


register(DatasetSuite(
    name="training_sets", applies=_has_services,
    description="Point-in-time training frames of the registered feature services over the track catalogue",
    tables=("feature_service", "feature_service_view", "feature_view", "track"),
    parts=(Part(name="frames", expectations=expectations, frames=frames, examples=fetch_examples,
                description="summary of each service's training frame"),),
))
