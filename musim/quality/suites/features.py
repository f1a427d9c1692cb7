"""The ``features`` suite: spectrograms (``track_mel``) and descriptors (``track_descriptors``), migration 005.

SQL invariants over every row (known parameters and tracks, the track's audio when the row was made: its current
one, or one a re-read replaced after the row was made (``track_audio_history``, migration 027), one shape per parameter
set, float16, finite dB ranges, content keys, one descriptor length per parameter set, finite values,
nothing both extracted and rejected); GX over the rows; and a reproducible sample of ``object_sample``
spectrogram objects opened from the object store (exists, the recorded shape and dtype, all finite).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from musim import sql
from musim.quality.registry import (
    CheckContext,
    Coverage,
    DatasetSuite,
    Part,
    _fetch_df,
    register,
    sql_invariants,
    table_rows,
)


def invariants(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    def zero(column: str, description: str):
        return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=0, description=description)

    return [
        zero("mel_unknown_params", "spectrograms have registered parameters"),
        zero("mel_unknown_tracks", "spectrograms belong to known tracks"),
        zero("mel_audio_mismatches", "spectrograms are of the track's audio (sha256) when made"),
        zero("mel_bad_shapes", "log-mel shapes are (frames, n_mels), slices (n, frames, n_mels), no empty axis"),
        zero("mel_mixed_shapes", "one image size per parameter set"),
        zero("mel_bad_dtypes", "spectrograms are float16"),
        zero("mel_bad_db_ranges", "finite dB range with min <= max"),
        zero("mel_empty_objects", "spectrogram objects are not empty"),
        zero("mel_bad_object_keys", "keys are features/<mel|slices>/<params_hash>/<audio_id>.npy"),
        zero("mel_also_rejected", "nothing is both extracted and rejected"),
        zero("descriptor_unknown_params", "descriptors have registered parameters"),
        zero("descriptor_unknown_tracks", "descriptors belong to known tracks"),
        zero("descriptor_audio_mismatches", "descriptors are of the track's audio (sha256) when made"),
        zero("descriptor_mixed_lengths", "one descriptor length per parameter set"),
        zero("descriptor_non_finite", "descriptor vectors are non-empty and finite"),
        zero("descriptor_bad_tonic", "tonic pitch class in 0..11"),
        zero("descriptor_also_rejected", "nothing is both described and rejected"),
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
                                           description="keys are features/<mel|slices>/<params>/<audio>.npy"),
    ]


def descriptor_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(column="length", min_value=1, description="non-empty vectors"),
        gxe.ExpectColumnValuesToBeBetween(column="non_finite", min_value=0, max_value=0,
                                          description="no NaN or infinite descriptor"),
        gxe.ExpectColumnValuesToBeBetween(column="tonic_pc", min_value=0, max_value=11,
                                          description="tonic pitch class in 0..11"),
    ]


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


def object_frames(ctx: CheckContext, coverage: Coverage) -> Iterator:
    """Open a reproducible sample of spectrogram objects and describe what they hold."""
    import numpy as np
    import pandas as pd

    from musim.storage import ObjectNotFound

    n = ctx.thresholds.object_sample
    sample = _fetch_df(ctx.con, "quality/features_object_sample.sql", {"n": n, "seed": ctx.thresholds.seed})
    rows = []
    store = ctx.object_store() if len(sample) else None
    for _kind, track_id, key, shape, dtype in sample.itertuples(index=False):
        row = {"object_key": key, "track_id": track_id, "exists": True, "shape_matches": False,
               "dtype_matches": False, "finite": False}
        try:
            arr = np.load(io.BytesIO(store.get_bytes(key)), allow_pickle=False)
        except ObjectNotFound:
            row["exists"] = False
        except Exception:  # unreadable .npy: exists, but nothing else holds
            pass
        else:
            row["shape_matches"] = list(arr.shape) == [int(x) for x in shape]
            row["dtype_matches"] = str(arr.dtype) == dtype
            row["finite"] = bool(np.isfinite(arr).all())
        rows.append(row)
    total = sql.query(ctx.con, "quality/mel_objects.sql").fetchone()[0]
    coverage.rows_total, coverage.rows_validated, coverage.sampled = total, len(rows), len(rows) < total
    coverage.how = f"{len(rows)} of {total:,} stored objects opened (seeded sample)"
    yield pd.DataFrame(rows, columns=["object_key", "track_id", "exists", "shape_matches", "dtype_matches", "finite"])


register(DatasetSuite(
    name="features",
    description="Extracted features: log-mel spectrograms (tensors in the object store) and descriptors",
    tables=("track_mel", "track_descriptors", "feature_params", "feature_reject", "track", "track_audio_history"),
    parts=(
        sql_invariants("invariants", query="quality/features_invariants.sql",
                       examples="quality/features_examples.sql", expectations=invariants),
        table_rows("mel_rows", base="quality/features_mel_base.sql", rows="quality/features_mel_rows.sql",
                   expectations=mel_rows),
        table_rows("descriptor_rows", base="quality/features_descriptors_base.sql",
                   rows="quality/features_descriptors_rows.sql", expectations=descriptor_rows),
        Part(name="objects", expectations=object_rows, frames=object_frames,
             description="a seeded sample of spectrogram objects opened from the object store"),
    ),
))
