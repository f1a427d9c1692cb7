"""Suites of the Last.FM spine: a dump's plays (``lastfm_plays``) and profiles (``lastfm_profiles``), and
the artist catalogue with its spellings (``artists``).

Every row of a dump is covered by the SQL invariants (bad-row counts, counts against the dump's record,
the share of rejected lines); GX also validates the rows one by one (all of them for small tables, a
reservoir sample above ``full_rows_max``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from musim import sql, warehouse
from musim.quality.registry import (
    CheckContext,
    DatasetSuite,
    fact_between,
    fact_zero,
    register,
    sql_invariants,
    table_rows,
)

ARTIST_KEY_REGEX = r"^(?:mbid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|name:.+)$"
_FORMAT_NAME = {"360k": "40-hex sha1 (360K dump)", "1k": "user_NNNNNN (1K dump)"}


def _equal(gxe, a: str, b: str, description: str):
    return gxe.ExpectColumnPairValuesToBeEqual(column_A=a, column_B=b, description=description)


# -- lastfm_plays ---------------------------------------------------------------------------------------

def plays_invariants(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    fmt = _FORMAT_NAME[ctx.facts()["format"]]
    share = ctx.thresholds.max_reject_share
    return [
        _equal(gxe, "lines", "loaded_plus_rejected", "every line of the dump is loaded or rejected: lines = loaded + rejected"),
        _equal(gxe, "loaded", "sum_lines", "loaded = sum(lastfm_plays.lines): every loaded line is in the plays"),
        _equal(gxe, "rejected", "rejects_stored", "rejected = lines of the dump in ingest_rejects"),
        _equal(gxe, "plays_rows", "rows_stored", "the dump record's plays_rows = rows in lastfm_plays"),
        fact_between("loaded", min_value=1, description="the dump loaded at least one line"),
        fact_between("reject_share", min_value=0, max_value=share,
                     description=f"rejected lines are at most {share:.2%} of all lines"),
        fact_zero("bad_plays_rows", "plays are integers >= 0 (rows with NULL or negative plays)"),
        fact_zero("bad_lines_rows", "every row merges >= 1 line"),
        fact_zero("duplicate_rows", "one row per user and artist"),
        fact_zero("bad_user_keys", f"user ids are {fmt}"),
        fact_zero("duplicate_user_ids", "user ids are unique"),
        fact_zero("duplicate_user_keys", "one user id per user key"),
        fact_zero("missing_artist_keys", "every artist played has an artist row with a key"),
    ]


def plays_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    fmt = ctx.facts()["format"]
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="user_key", description="every row has a user"),
        gxe.ExpectColumnValuesToMatchRegex(column="user_key", regex=ctx.facts()["user_key_regex"],
                                           description=f"user ids are {_FORMAT_NAME[fmt]}"),
        gxe.ExpectColumnValuesToNotBeNull(column="artist_key", description="every row has an artist key"),
        gxe.ExpectColumnValuesToMatchRegex(column="artist_key", regex=ARTIST_KEY_REGEX,
                                           description="artist keys are mbid:<uuid> or name:<normalised name>"),
        gxe.ExpectColumnValuesToNotBeNull(column="plays", description="every row has plays"),
        gxe.ExpectColumnValuesToBeInTypeList(column="plays", type_list=["int64", "Int64", "int32", "Int32"],
                                             description="plays are integers"),
        gxe.ExpectColumnValuesToBeBetween(column="plays", min_value=0, description="plays >= 0"),
        gxe.ExpectColumnValuesToBeBetween(column="lines", min_value=1, description="every row merges >= 1 line"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["user_key", "artist_key"],
                                            description="one row per user and artist (within the batch)"),
    ]


def duplicate_plays_rows(ctx: CheckContext) -> dict[str, int]:
    """``duplicate_rows``: rows of the dump whose (user, artist) another row has, counted exactly.

    The ingest stores a dump's plays in (user, artist) order, so the keys usually come strictly increasing in
    storage order, which proves there is no duplicate in one pass (0.2 s for 16M rows, against 0.5 s to
    sort them). Otherwise (plays stored in another order: a 1K dump, rows added by hand) they are sorted in
    SQL and counted.
    """
    con = ctx.con
    with warehouse.in_order(con):  # the table's own order, if it is increasing
        keys = sql.query(con, "quality/lastfm_plays_keys.sql", **ctx.params()).fetchnumpy()["k"]
    if bool(np.all(keys[1:] > keys[:-1])):
        return {"duplicate_rows": 0}
    del keys
    return {"duplicate_rows": int(sql.query(con, "quality/lastfm_plays_duplicates.sql", **ctx.params()).fetchone()[0])}


register(DatasetSuite(
    name="lastfm_plays", scope="dump",
    description="The user-artist plays of one Last.FM dump, against the dump's record and its rejects",
    tables=("lastfm_dump", "lastfm_plays", "lastfm_user", "artist", "ingest_rejects"),
    parts=(
        sql_invariants("invariants", query="quality/lastfm_plays_invariants.sql", facts=duplicate_plays_rows,
                       examples="quality/lastfm_plays_examples.sql", expectations=plays_invariants),
        table_rows("rows", base="quality/lastfm_plays_base.sql", rows="quality/lastfm_plays_rows.sql",
                   expectations=plays_rows, by_rowid=True),
    ),
))


# -- lastfm_profiles ------------------------------------------------------------------------------------

def _has_profiles(ctx: CheckContext) -> str | None:
    if not ctx.facts().get("profiles_file"):
        return "the dump was ingested without a profiles file"
    return None


def profiles_invariants(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    fmt = _FORMAT_NAME[ctx.facts()["format"]]
    share = ctx.thresholds.max_profile_reject_share
    return [
        _equal(gxe, "profile_lines", "loaded_plus_rejected", "every profile line is loaded or rejected"),
        _equal(gxe, "profile_loaded", "rows_stored", "profile_loaded = rows in lastfm_profile"),
        _equal(gxe, "profile_rejected", "rejects_stored", "profile_rejected = profile lines in ingest_rejects"),
        fact_between("reject_share", min_value=0, max_value=share,
                     description=f"rejected profile lines are at most {share:.2%}"),
        fact_zero("bad_user_keys", f"profile user ids are {fmt}"),
    ]


def profiles_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    mostly = ctx.thresholds.profile_mostly
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="user_key", description="every profile has a user"),
        gxe.ExpectColumnValuesToMatchRegex(column="user_key", regex=ctx.facts()["user_key_regex"],
                                           description=f"user ids are {_FORMAT_NAME[ctx.facts()['format']]}"),
        gxe.ExpectColumnValuesToBeUnique(column="user_key", description="one profile per user"),
        gxe.ExpectColumnValuesToBeInSet(column="gender", value_set=["m", "f"], mostly=mostly,
                                        description="gender is m or f where given"),
        gxe.ExpectColumnValuesToBeBetween(column="age", min_value=1, max_value=110, mostly=mostly,
                                          description="ages are plausible where given"),
        gxe.ExpectColumnValuesToBeBetween(column="signup_year", min_value=2002, max_value=dt.date.today().year,
                                          mostly=mostly, description="signed up between 2002 (Last.FM) and now"),
    ]


register(DatasetSuite(
    name="lastfm_profiles", scope="dump", applies=_has_profiles,
    description="The user profiles of one Last.FM dump",
    tables=("lastfm_dump", "lastfm_profile", "lastfm_user", "ingest_rejects"),
    parts=(
        sql_invariants("invariants", query="quality/lastfm_profiles_invariants.sql",
                       examples="quality/lastfm_profiles_examples.sql", expectations=profiles_invariants),
        table_rows("rows", base="quality/lastfm_profiles_base.sql", rows="quality/lastfm_profiles_rows.sql",
                   expectations=profiles_rows),
    ),
))


# -- artists --------------------------------------------------------------------------------------------

def artists_invariants(ctx: CheckContext) -> list:
    return [
        fact_zero("duplicate_artist_ids", "artist ids are unique"),
        fact_zero("duplicate_artist_keys", "artist keys are unique"),
        fact_zero("empty_names", "no empty (or blank) display names"),
        fact_zero("empty_name_norms", "no empty normalised names"),
        fact_zero("malformed_keys", "artist keys are mbid:<uuid> or name:<normalised name>"),
        fact_zero("mbid_key_mismatches", "an artist with an MBID is keyed by it"),
        fact_zero("duplicate_variants", "one spelling row per artist, spelling and dump"),
        fact_zero("bad_variant_lines", "every spelling was used by >= 1 line"),
        fact_zero("orphan_variants", "every spelling belongs to an artist"),
        fact_zero("artists_without_variant", "every artist has at least one spelling"),
    ]


def artists_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeUnique(column="artist_id", description="artist ids are unique"),
        gxe.ExpectColumnValuesToBeUnique(column="artist_key", description="artist keys are unique"),
        gxe.ExpectColumnValuesToNotBeNull(column="artist_key", description="every artist has a key"),
        gxe.ExpectColumnValuesToMatchRegex(column="artist_key", regex=ARTIST_KEY_REGEX,
                                           description="artist keys are mbid:<uuid> or name:<normalised name>"),
        gxe.ExpectColumnValuesToNotBeNull(column="name", description="every artist has a display name"),
        gxe.ExpectColumnValuesToMatchRegex(column="name", regex=r"\S", description="no empty display names"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="name_norm", min_value=1,
                                                description="no empty normalised names"),
    ]


def variants_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToNotBeNull(column="artist_id", description="every spelling has an artist"),
        gxe.ExpectColumnValuesToNotBeNull(column="raw_name", description="every spelling has its text"),
        gxe.ExpectColumnValuesToBeBetween(column="lines", min_value=1, description="every spelling was used"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["artist_id", "raw_name", "dump_id"],
                                            description="one row per artist, spelling and dump"),
    ]


register(DatasetSuite(
    name="artists",
    description="The artist catalogue across dumps and every spelling seen per dump",
    tables=("artist", "artist_name_variant"),
    parts=(
        sql_invariants("invariants", query="quality/artists_invariants.sql",
                       examples="quality/artists_examples.sql", expectations=artists_invariants),
        table_rows("artist_rows", base="quality/artists_base.sql", rows="quality/artists_rows.sql",
                   expectations=artists_rows),
        table_rows("variant_rows", base="quality/artist_variants_base.sql", rows="quality/artist_variants_rows.sql",
                   expectations=variants_rows),
    ),
))
