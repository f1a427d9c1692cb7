"""The ``similarity`` suite: the co-listened pairs and catalogue pairs of one dump's similarity build.

The build stores each co-listened pair once with its counts (``artist_pair_counts``); the five metrics and the
top-K neighbours derive from them at query time (``sql/similarity/views.sql``), so the invariants are
checked on the stored counts, once, not on five copies of derived scores. Thresholds come from the build's
own record (``similarity_build``): co-listeners >= its ``min_co_listeners``, artists with >=
``min_listeners``. Co-listeners <= either artist's listeners <= users bounds every derived score (seed,
jaccard, cosine in 0..1, lift > 0, pmi finite), on every pair; a sample of pairs is scored and its metrics are
checked row by row (their arithmetic itself, which the bounds only imply). The catalogue stores each pair once with
artist_a < artist_b, and its scores are in range and equal the pairs' metrics: checked in SQL on every row (a
sample of its rows was also checked row by row by GX: the same checks again on a fifth of the rows).
"""

from __future__ import annotations

from musim.quality.registry import (
    CheckContext,
    DatasetSuite,
    fact_between,
    register,
    sql_invariants,
    table_rows,
)

BOUNDED = ["seed", "jaccard", "cosine"]


def _has_build(ctx: CheckContext) -> str | None:
    if not ctx.facts()["has_build"]:
        return f"no similarity build for dump {ctx.dump_id[:12]} (run `musim similarity build`)"
    return None


def invariants(ctx: CheckContext) -> list:
    f = ctx.facts()

    def zero(column: str, description: str):
        return fact_between(column, min_value=0, max_value=0, description=description)

    return [
        fact_between("pair_rows", min_value=1, description="the build has co-listened pairs to serve"),
        zero("unordered_pairs", "pairs are stored once, artist_a < artist_b"),
        zero("pairs_out_of_order", "pairs stored once each, in pair order (artist_a, artist_b)"),
        zero("below_min_co_listeners", f"pairs have >= {f['min_co_listeners']} co-listeners (the build's threshold)"),
        zero("co_listeners_above_listeners", "co-listeners <= either artist's listeners (scores in range)"),
        zero("ineligible_pairs", f"only artists with >= {f['min_listeners']} listeners are paired"),
        zero("unknown_artist_pairs", "pairs name artists of the artist table (else the served similarity names "
                                     "unknown artists: rebuild with `musim similarity build --force`)"),
        zero("listeners_out_of_range", "listeners between 1 and the dump's users"),
        zero("duplicate_listeners", "one listeners row per artist"),
        zero("build_record_mismatches", "the build's record equals the stored pairs (their count; the seed "
                                        "scale: the largest r of them and of the catalogue's pairs)"),
        zero("catalogue_unordered", "catalogue pairs are stored once, artist_a < artist_b"),
        zero("catalogue_duplicates", "one catalogue row per pair"),
        zero("catalogue_out_of_range", "catalogue scores in range (pmi = ln lift, co-listeners >= 1)"),
        zero("catalogue_mismatches", "catalogue scores equal the metrics of the same stored pair"),
        zero("catalogue_missing_pairs", "every catalogue pair above the threshold is a stored pair"),
        zero("catalogue_unknown_artists", "catalogue pairs name artists of the artist table (rebuild with "
                                          "`musim similarity build --force`)"),
        fact_between("catalogue_artists", min_value=0, max_value=f["catalogue_size"],
                     description=f"at most catalogue_size = {f['catalogue_size']} artists"),
    ]


def pair_rows(ctx: CheckContext) -> list:
    """The metrics' arithmetic on the sampled pairs. What the pairs' own columns must hold (artist_a < artist_b,
    the co-listener and listener thresholds) is checked on every pair by :func:`invariants`, not again here
    (on the full dump, four expectations over the 100,000 sampled rows: ~0.045 s of the gate's CPU)."""
    import great_expectations.expectations as gxe

    out = [gxe.ExpectColumnValuesToBeBetween(column=m, min_value=0, max_value=1, description=f"{m} in 0..1")
           for m in BOUNDED]
    out += [gxe.ExpectColumnValuesToBeBetween(column="lift", min_value=0, strict_min=True, description="lift > 0"),
            gxe.ExpectColumnValuesToNotBeNull(column="pmi", description="pmi is defined")]
    return out


register(DatasetSuite(
    name="similarity", scope="dump", applies=_has_build,
    description="Co-listening similarity of one dump: the co-listened pairs (once each) and the catalogue pairs",
    tables=("similarity_build", "artist_pair_counts", "artist_pair_similarity", "artist_listeners"),
    parts=(
        sql_invariants("invariants", query="quality/similarity_invariants.sql",
                       examples="quality/similarity_examples.sql", expectations=invariants, in_order=True),
        table_rows("pair_rows", base="quality/similarity_pairs_base.sql",
                   rows="quality/similarity_pairs_rows.sql", expectations=pair_rows, by_rowid=True),
    ),
))
