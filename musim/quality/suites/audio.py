"""The ``previews`` suite: acquired audio (``preview`` and ``track``, migration 004).

Every downloaded preview is complete and is a track; every track is a downloaded preview of a known
artist, stored content-addressed (``audio/previews/<sha256>.<format>``), decoded at a plausible rate,
with its analysis window inside the audio.
"""

from __future__ import annotations

from musim.audio.formats import FORMATS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from musim.quality.registry import (
    CheckContext,
    DatasetSuite,
    fact_zero,
    register,
    sql_invariants,
    table_rows,
)


def invariants(ctx: CheckContext) -> list:
    return [
        fact_zero("duplicate_preview_ids", "preview track ids are unique"),
        fact_zero("duplicate_track_ids", "track ids are unique"),
        fact_zero("incomplete_downloads", "a downloaded preview has its object, sha256, size, length, rate and format"),
        fact_zero("negative_attempts", "attempts >= 0"),
        fact_zero("tracks_without_download", "every track is a downloaded preview"),
        fact_zero("downloads_without_track", "every downloaded preview is a track"),
        fact_zero("track_preview_mismatches", "a track points at its preview's object"),
        fact_zero("tracks_of_unknown_artists", "every track belongs to a known artist"),
        fact_zero("bad_object_keys", "audio is stored content-addressed: audio/previews/<sha256>.<format>"),
        fact_zero("implausible_audio", "tracks have a positive length and a sample rate in "
                                       f"{MIN_SAMPLE_RATE // 1000}..{MAX_SAMPLE_RATE // 1000} kHz"),
        fact_zero("excerpt_outside_audio", "the analysis window lies inside the audio"),
    ]


def rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeUnique(column="track_id", description="track ids are unique"),
        gxe.ExpectColumnValuesToMatchRegex(column="track_id", regex=r"^[0-9a-f]{16}$",
                                           description="track ids are 16 hex"),
        gxe.ExpectColumnValuesToMatchRegex(column="sha256", regex=r"^[0-9a-f]{64}$", description="sha256 is 64 hex"),
        gxe.ExpectColumnValuesToMatchRegex(column="object_key", regex=r"^audio/previews/[0-9a-f]{64}\.[a-z0-9]+$",
                                           description="objects are content-addressed under audio/previews/"),
        gxe.ExpectColumnValuesToBeInSet(column="format", value_set=sorted(FORMATS), description="a known audio format"),
        gxe.ExpectColumnValuesToBeBetween(column="duration_s", min_value=0, strict_min=True,
                                          description="audio has a positive length"),
        gxe.ExpectColumnValuesToBeBetween(column="sample_rate", min_value=MIN_SAMPLE_RATE, max_value=MAX_SAMPLE_RATE,
                                          description=f"sample rates in {MIN_SAMPLE_RATE // 1000}.."
                                                      f"{MAX_SAMPLE_RATE // 1000} kHz"),
        gxe.ExpectColumnValuesToBeBetween(column="channels", min_value=1, max_value=8,
                                          description="1..8 channels where known"),
        gxe.ExpectColumnValuesToBeBetween(column="excerpt_offset_s", min_value=0, description="window starts >= 0"),
        gxe.ExpectColumnValuesToBeBetween(column="excerpt_duration_s", min_value=0, strict_min=True,
                                          description="window has a positive length"),
    ]


register(DatasetSuite(
    name="previews",
    description="Acquired audio: previews tried and the tracks with stored audio",
    tables=("preview", "track", "artist"),
    parts=(
        sql_invariants("invariants", query="quality/previews_invariants.sql",
                       examples="quality/previews_examples.sql", expectations=invariants,
                       params=lambda ctx: {"min_rate": MIN_SAMPLE_RATE, "max_rate": MAX_SAMPLE_RATE}),
        table_rows("track_rows", base="quality/previews_base.sql", rows="quality/previews_rows.sql",
                   expectations=rows),
    ),
))
