"""The ``features`` suite: spectrograms (``track_mel``) and descriptors (``track_descriptors``), migration 005.

SQL invariants over every row (known parameters and tracks, the track's audio when the row was made: its current
one, or one a re-read replaced after the row was made (``track_audio_history``, migration 027), one shape per parameter
set, float16, finite dB ranges, content keys, one descriptor length per parameter set, finite values, values
within what the extractor can produce (:data:`DESCRIPTOR_BOUNDS`, by descriptor name), one descriptor row per
track, parameters and moment (the row a point-in-time read takes), nothing both extracted and rejected); GX over
the rows (each bounded descriptor a column of its own); and a reproducible sample of ``object_sample``
spectrogram objects opened from the object store (exists, the recorded shape and dtype, all finite).

The values (finite, within their bounds, a valid tonic) are checked on the descriptor rows readers take now: each
track's newest row per parameter set, unless a newer rejection withdrew it (the feature store's latest value:
the table macro ``descriptor_rows_read`` of migration 031, which readers read through too). A row a re-read
superseded (its track's earlier audio, ``track_audio_history``) or a recompute replaced (``musim features build
--recompute``) is not read and does not block the gate.

The bounds apply to rows of the current descriptor layout (parameters whose hash
:class:`~musim.features.params.DescriptorParams` gives today: :data:`~musim.audio.DESCRIPTOR_NAMES` in order);
rows of an older algorithm version are checked for finiteness only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from musim import sql
from musim.audio import DESCRIPTOR_NAMES
from musim.audio.descriptors import N_MFCC
from musim.quality.registry import (
    CheckContext,
    Coverage,
    DatasetSuite,
    Part,
    _fetch_df,
    fact_zero,
    register,
    sql_invariants,
    table_rows,
)


@dataclass(frozen=True)
class Bound:
    """What one descriptor can be, as :func:`musim.audio.descriptors` computes it (``None``: unbounded).

    ``hi_of``: ``"nyquist"``, the upper bound is half the rate of the row's parameters; ``"window"``, the length
    of the excerpt analysed (the window in the ``audio_id`` of an excerpt; a whole file has none) plus ``hi``.
    """

    name: str
    lo: float | None
    hi: float | None = None
    lo_open: bool = False
    hi_of: str | None = None


#: Pearson correlations and cosines may round a hair past +-1.
_ROUNDING = 1e-9
#: Decoding an excerpt keeps int(duration * rate) samples, resampled; the window is recorded to the millisecond.
_WINDOW_SLACK_S = 0.01

#: Only bounds that hold for every input (see the definitions in :mod:`musim.audio.descriptors`).
DESCRIPTOR_BOUNDS: tuple[Bound, ...] = (
    Bound("duration_s", 0.0, _WINDOW_SLACK_S, lo_open=True, hi_of="window"),  # non-empty audio, within its window
    Bound("tempo_bpm", 0.0, 320.0),  # librosa.beat.beat_track: 0 without beats, else below its max_tempo (320)
    Bound("ibi_mean_s", 0.0),  # differences of sorted beat times
    Bound("ibi_std_s", 0.0),
    Bound("rolloff_mean_hz", 0.0, hi_of="nyquist"),  # frequencies of the STFT bins
    Bound("zcr_mean", 0.0, 1.0),  # crossings per sample
    Bound("zcr_range", 0.0, 1.0),
    Bound("mel_freq_mean_hz", 0.0, hi_of="nyquist"),  # power-weighted mean / spread of mel band centres
    Bound("mel_freq_std_hz", 0.0, hi_of="nyquist"),
    Bound("onset_strength_mean", 0.0),  # spectral flux, rectified
    Bound("onset_strength_std", 0.0),
    Bound("key_major", 0.0, 1.0),
    Bound("key_strength", -1.0 - _ROUNDING, 1.0 + _ROUNDING),  # a Pearson correlation
    Bound("tonic_pc_cos", -1.0 - _ROUNDING, 1.0 + _ROUNDING),
    Bound("tonic_pc_sin", -1.0 - _ROUNDING, 1.0 + _ROUNDING),
    *(Bound(f"mfcc_std_{k}", 0.0) for k in range(1, N_MFCC + 1)),  # standard deviations
)


def descriptor_params(ctx: CheckContext) -> dict[str, Any]:
    """Named parameters of the descriptor checks: the names, the bounds by 1-based vector index, and the parameter
    sets of the current layout with their rates."""
    import json

    from musim.errors import ParameterError
    from musim.features.params import DescriptorParams

    current, rates = [], []
    for params_hash, params in sql.query(ctx.con, "quality/features_descriptor_params.sql").fetchall():
        try:
            p = DescriptorParams(**json.loads(params))
        except (TypeError, ValueError, ParameterError):  # another version's parameters: not today's layout
            continue
        if p.hash() == params_hash:
            current.append(params_hash)
            rates.append(p.sr)
    return {
        "descriptor_names": list(DESCRIPTOR_NAMES),
        # never an empty list: DuckDB cannot type one
        "current_params": current or [""], "current_sr": rates or [0],
        "bound_index": [DESCRIPTOR_NAMES.index(b.name) + 1 for b in DESCRIPTOR_BOUNDS],
        "bound_lo": [b.lo for b in DESCRIPTOR_BOUNDS],
        "bound_lo_open": [b.lo_open for b in DESCRIPTOR_BOUNDS],
        "bound_hi": [b.hi for b in DESCRIPTOR_BOUNDS],
        "bound_hi_of": [b.hi_of for b in DESCRIPTOR_BOUNDS],
        "window_slack_s": _WINDOW_SLACK_S,
    }


def invariants(ctx: CheckContext) -> list:
    return [
        fact_zero("mel_unknown_params", "spectrograms have registered parameters"),
        fact_zero("mel_unknown_tracks", "spectrograms belong to known tracks"),
        fact_zero("mel_audio_mismatches", "spectrograms are of the track's audio (sha256) when made"),
        fact_zero("mel_bad_shapes", "log-mel shapes are (frames, n_mels), slices (n, frames, n_mels), no empty axis"),
        fact_zero("mel_mixed_shapes", "one image size per parameter set"),
        fact_zero("mel_bad_dtypes", "spectrograms are float16"),
        fact_zero("mel_bad_db_ranges", "finite dB range with min <= max"),
        fact_zero("mel_empty_objects", "spectrogram objects are not empty"),
        fact_zero("mel_bad_object_keys", "keys are features/<mel|slices>/<params_hash>/<audio_id>[.<sha256>].npy"),
        fact_zero("mel_also_rejected", "nothing is both extracted and rejected"),
        fact_zero("descriptor_unknown_params", "descriptors have registered parameters"),
        fact_zero("descriptor_unknown_tracks", "descriptors belong to known tracks"),
        fact_zero("descriptor_audio_mismatches", "descriptors are of the track's audio (sha256) when made"),
        fact_zero("descriptor_mixed_lengths", "one descriptor length per parameter set"),
        fact_zero("descriptor_non_finite", "descriptor vectors are non-empty and finite"),
        fact_zero("descriptor_out_of_range", "descriptors within what the extractor can produce (by name: duration > 0 "
                                             "and within its excerpt, tempo 0..320 BPM, zcr 0..1, frequencies "
                                             "0..sr/2, ...)"),
        fact_zero("descriptor_duplicate_rows", "one descriptor row per (parameters, track, created_at): the row a "
                                               "point-in-time read takes"),
        fact_zero("descriptor_bad_tonic", "tonic pitch class in 0..11"),
        fact_zero("descriptor_also_rejected", "nothing is both described and rejected"),
    ]


def mel_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=["log_mel", "slices"], description="known kinds"),
        gxe.ExpectColumnValuesToBeBetween(column="ndim", min_value=2, max_value=3, description="2-D or 3-D tensors"),
        gxe.ExpectColumnValuesToBeBetween(column="min_dim", min_value=1, description="no empty axis"),
        gxe.ExpectColumnValuesToBeInSet(column="dtype", value_set=["float16"], description="float16"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="max_db", column_B="min_db", or_equal=True,
                                                    description="max_db >= min_db"),
        gxe.ExpectColumnValuesToBeBetween(column="bytes", min_value=1, description="objects are not empty"),
        gxe.ExpectColumnValuesToMatchRegex(column="object_key", regex=r"^features/(?:mel|slices)/[^/]+/[^/]+\.npy$",
                                           description="keys are features/<mel|slices>/<params>/<audio>[.<sha256>].npy"),
    ]


def descriptor_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    out = [
        gxe.ExpectColumnValuesToBeBetween(column="length", min_value=1, description="non-empty vectors"),
        gxe.ExpectColumnValuesToBeBetween(column="non_finite", min_value=0, max_value=0,
                                          description="no NaN or infinite descriptor"),
        gxe.ExpectColumnValuesToBeBetween(column="tonic_pc", min_value=0, max_value=11,
                                          description="tonic pitch class in 0..11"),
    ]
    for b in DESCRIPTOR_BOUNDS:  # NULL (rows of another layout) and NaN (non_finite) are left to the other checks
        hi = b.hi if b.hi_of is None else None
        if b.lo is not None or hi is not None:
            span = (f"{'>' if b.lo_open else '>='} {b.lo:g}" if hi is None else
                    f"<= {hi:g}" if b.lo is None else f"in {b.lo:g}..{hi:g}")
            out.append(gxe.ExpectColumnValuesToBeBetween(column=b.name, min_value=b.lo, max_value=hi,
                                                         strict_min=b.lo_open, description=f"{b.name} {span}"))
        if b.hi_of is not None:
            limit = "nyquist_hz" if b.hi_of == "nyquist" else "window_max_s"
            what = "half the rate" if b.hi_of == "nyquist" else "the excerpt analysed"
            out.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=limit, column_B=b.name, or_equal=True, ignore_row_if="either_value_is_missing",
                description=f"{b.name} <= {what}"))
    return out


def descriptor_frames(part: Part) -> Any:
    """The frames of ``part`` (descriptor rows with a ``bounded`` list in :data:`DESCRIPTOR_BOUNDS` order) with
    one column per bounded descriptor, named as it is."""
    names = [b.name for b in DESCRIPTOR_BOUNDS]

    def frames(ctx: CheckContext, coverage: Coverage) -> Iterator:
        import numpy as np
        import pandas as pd

        for df in part.frames(ctx, coverage):
            values = np.full((len(df), len(names)), np.nan)
            for i, v in enumerate(df["bounded"]):
                if v is not None:
                    values[i] = np.asarray(v, dtype=float)
            yield pd.concat([df.drop(columns=["bounded"]), pd.DataFrame(values, columns=names, index=df.index)],
                            axis=1)

    return frames


#: The invariants' examples that show the tracks behind a row-level failure, by the rows' column.
_ROW_EXAMPLES = {"length": "descriptor_non_finite", "non_finite": "descriptor_non_finite",
                 "tonic_pc": "descriptor_bad_tonic"}


def descriptor_row_examples(ctx: CheckContext, failed: set[str]) -> dict[str, list[str]]:
    """Tracks and values behind failed row-level descriptor checks (not the counts GX saw)."""
    df = _fetch_df(ctx.con, "quality/features_examples.sql",
                   {**descriptor_params(ctx), "limit": ctx.thresholds.examples})
    by_check: dict[str, list[str]] = {}
    for check, example in zip(df["check_name"], df["example"], strict=True):
        by_check.setdefault(check, []).append(str(example))
    out: dict[str, list[str]] = {}
    for column in failed:
        if column in _ROW_EXAMPLES:
            out[column] = by_check.get(_ROW_EXAMPLES[column], [])
        elif column in {b.name for b in DESCRIPTOR_BOUNDS}:
            out[column] = [e for e in by_check.get("descriptor_out_of_range", []) if f": {column} (index " in e]
    return out


def object_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeInSet(column="exists", value_set=[True], description="the object is stored"),
        gxe.ExpectColumnValuesToBeInSet(column="shape_matches", value_set=[True],
                                        description="the array has the recorded shape"),
        gxe.ExpectColumnValuesToBeInSet(column="dtype_matches", value_set=[True],
                                        description="the array has the recorded dtype"),
        gxe.ExpectColumnValuesToBeInSet(column="finite", value_set=[True], description="no NaN or infinite value"),
    ]


def object_examples(ctx: CheckContext, failed: set[str]) -> dict[str, list[str]]:
    """The sampled objects behind failed object checks (what :func:`object_frames` found), by column."""
    found = ctx._cache.get("object_examples", {})
    return {column: found[column][:ctx.thresholds.examples] for column in failed if column in found}


def object_frames(ctx: CheckContext, coverage: Coverage) -> Iterator:
    """Open a reproducible sample of spectrogram objects and describe what they hold."""
    import numpy as np
    import pandas as pd

    from musim.storage import ObjectNotFound

    n = ctx.thresholds.object_sample
    sample = _fetch_df(ctx.con, "quality/features_object_sample.sql", {"n": n, "seed": ctx.thresholds.seed})
    rows = []
    store = ctx.object_store() if len(sample) else None
    # what a failure names: the track to recompute, the object, and (as the descriptor rows' examples) the audio and
    # the build that wrote it; without them a failed check said only "e.g. [false]"
    examples: dict[str, list[str]] = ctx._cache.setdefault("object_examples", {})
    for _kind, track_id, key, shape, dtype, audio_id, run_id in sample.itertuples(index=False):
        row = {"object_key": key, "track_id": track_id, "exists": True, "shape_matches": False,
               "dtype_matches": False, "finite": False}
        recorded = [int(x) for x in shape]
        why = {}
        try:
            arr = np.load(io.BytesIO(store.get_bytes(key)), allow_pickle=False)
        except ObjectNotFound:
            row["exists"] = False
            why = dict.fromkeys(("exists", "shape_matches", "dtype_matches", "finite"), "is not in the object store")
        except Exception as exc:  # unreadable .npy: exists, but nothing else holds
            why = dict.fromkeys(("shape_matches", "dtype_matches", "finite"),
                                f"is no readable .npy ({type(exc).__name__})")
        else:
            row["shape_matches"] = list(arr.shape) == recorded
            row["dtype_matches"] = str(arr.dtype) == dtype
            row["finite"] = bool(np.isfinite(arr).all())
            why = {"shape_matches": f"has shape {list(arr.shape)}, recorded {recorded}",
                   "dtype_matches": f"has dtype {arr.dtype}, recorded {dtype}",
                   "finite": "holds NaN or infinite values"}
        for column, text in why.items():
            if not row[column]:
                examples.setdefault(column, []).append(f"{track_id}: {key} {text} (audio {audio_id}, build {run_id})")
        rows.append(row)
    total = sql.query(ctx.con, "quality/mel_objects.sql").fetchone()[0]
    coverage.rows_total, coverage.rows_validated, coverage.sampled = total, len(rows), len(rows) < total
    coverage.how = f"{len(rows)} of {total:,} stored objects opened (seeded sample)"
    yield pd.DataFrame(rows, columns=["object_key", "track_id", "exists", "shape_matches", "dtype_matches", "finite"])


_rows = table_rows("descriptor_rows", base="quality/features_descriptors_base.sql",
                   rows="quality/features_descriptors_rows.sql", expectations=descriptor_rows,
                   params=descriptor_params, examples=descriptor_row_examples)
_DESCRIPTOR_ROWS = Part(name=_rows.name, expectations=_rows.expectations, frames=descriptor_frames(_rows),
                        examples=_rows.examples, description=_rows.description, prefetch=_rows.prefetch)

register(DatasetSuite(
    name="features",
    description="Extracted features: log-mel spectrograms (tensors in the object store) and descriptors",
    tables=("track_mel", "track_descriptors", "feature_params", "feature_reject", "track", "track_audio_history"),
    parts=(
        sql_invariants("invariants", query="quality/features_invariants.sql",
                       examples="quality/features_examples.sql", expectations=invariants, params=descriptor_params),
        table_rows("mel_rows", base="quality/features_mel_base.sql", rows="quality/features_mel_rows.sql",
                   expectations=mel_rows),
        _DESCRIPTOR_ROWS,
        Part(name="objects", expectations=object_rows, frames=object_frames, examples=object_examples,
             description="a seeded sample of spectrogram objects opened from the object store"),
    ),
))
