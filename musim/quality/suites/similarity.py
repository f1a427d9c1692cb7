"""The ``similarity`` suite: the top-K neighbours and catalogue pairs of one dump's similarity build.

Thresholds come from the build's own record (``similarity_build``): co-listeners >= its
``min_co_listeners``, at most ``k`` neighbours per artist and metric, artists with >= ``min_listeners``.
Ranges: seed, jaccard and cosine in 0..1, lift > 0, pmi finite (= ln lift in the catalogue). Every metric
is symmetric: when a -> b and b -> a are both in the top-K lists their scores (and co-listeners) are equal,
the catalogue stores each pair once with artist_a < artist_b, and its scores equal the neighbour tables'.
"""

from __future__ import annotations

from musim.quality.registry import CheckContext, DatasetSuite, register, sql_invariants, table_rows

BOUNDED = ["seed", "jaccard", "cosine"]


def _has_build(ctx: CheckContext) -> str | None:
    if not ctx.facts()["has_build"]:
        return f"no similarity build for dump {ctx.dump_id[:12]} (run `musim similarity build`)"
    return None


def invariants(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    f = ctx.facts()

    def zero(column: str, description: str):
        return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=0, description=description)

    return [
        gxe.ExpectColumnValuesToBeBetween(column="neighbor_rows", min_value=1,
                                          description="the build has neighbours to serve"),
        zero("out_of_range_rows", "scores in range: seed, jaccard, cosine in 0..1; lift > 0; pmi finite"),
        zero("self_pairs", "no artist is its own neighbour"),
        zero("below_min_co_listeners", f"neighbours have >= {f['min_co_listeners']} co-listeners (the build's threshold)"),
        zero("duplicate_neighbors", "a neighbour appears once per artist and metric"),
        gxe.ExpectColumnValuesToBeBetween(column="max_neighbors_per_artist", min_value=0, max_value=f["k"],
                                          description=f"at most k = {f['k']} neighbours per artist and metric"),
        zero("rank_gaps", "ranks are 1..n without gaps or ties"),
        zero("asymmetric_pairs", "symmetric metrics are symmetric: a -> b and b -> a have equal scores"),
        zero("ineligible_rows", f"only artists with >= {f['min_listeners']} listeners have or are neighbours"),
        zero("catalogue_unordered", "catalogue pairs are stored once, artist_a < artist_b"),
        zero("catalogue_duplicates", "one catalogue row per pair"),
        zero("catalogue_out_of_range", "catalogue scores in range (pmi = ln lift, co-listeners >= 1)"),
        zero("catalogue_mismatches", "catalogue scores equal the neighbour tables' scores for the same pair"),
        gxe.ExpectColumnValuesToBeBetween(column="catalogue_artists", min_value=0, max_value=f["catalogue_size"],
                                          description=f"at most catalogue_size = {f['catalogue_size']} artists"),
    ]


def neighbor_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    f = ctx.facts()
    cond = {"condition_parser": "pandas"}
    return [
        gxe.ExpectColumnValuesToBeInSet(column="metric", value_set=["seed", "jaccard", "cosine", "lift", "pmi"],
                                        description="known metrics"),
        gxe.ExpectColumnValuesToNotBeNull(column="score", description="every neighbour has a score"),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1,
                                          row_condition=f"metric in {BOUNDED!r}", **cond,
                                          description="seed, jaccard and cosine scores are in 0..1"),
        gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, strict_min=True,
                                          row_condition='metric == "lift"', **cond, description="lift > 0"),
        gxe.ExpectSelectColumnValuesToBeUniqueWithinRecord(column_list=["artist_id", "neighbor_id"],
                                                           description="no self pairs"),
        gxe.ExpectColumnValuesToBeBetween(column="co_listeners", min_value=f["min_co_listeners"],
                                          description=f"co-listeners >= {f['min_co_listeners']}"),
        gxe.ExpectColumnValuesToBeBetween(column="rank", min_value=1, max_value=f["k"],
                                          description=f"ranks in 1..k = {f['k']}"),
    ]


def catalogue_rows(ctx: CheckContext) -> list:
    import great_expectations.expectations as gxe

    out = [gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="artist_b", column_B="artist_a",
                                                       description="pairs stored once: artist_a < artist_b"),
           gxe.ExpectColumnValuesToBeBetween(column="co_listeners", min_value=1,
                                             description="catalogue pairs have >= 1 co-listener")]
    out += [gxe.ExpectColumnValuesToBeBetween(column=m, min_value=0, max_value=1, description=f"{m} in 0..1")
            for m in BOUNDED]
    out.append(gxe.ExpectColumnValuesToBeBetween(column="lift", min_value=0, strict_min=True, description="lift > 0"))
    return out


register(DatasetSuite(
    name="similarity", scope="dump", applies=_has_build,
    description="Co-listening similarity of one dump: top-K neighbours per metric and the catalogue pairs",
    tables=("similarity_build", "artist_neighbors", "artist_pair_similarity", "artist_listeners"),
    parts=(
        sql_invariants("invariants", query="quality/similarity_invariants.sql",
                       examples="quality/similarity_examples.sql", expectations=invariants),
        table_rows("neighbor_rows", base="quality/similarity_neighbors_base.sql",
                   rows="quality/similarity_neighbors_rows.sql", expectations=neighbor_rows),
        table_rows("catalogue_rows", base="quality/similarity_catalogue_base.sql",
                   rows="quality/similarity_catalogue_rows.sql", expectations=catalogue_rows),
    ),
))
