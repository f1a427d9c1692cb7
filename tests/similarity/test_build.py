"""Similarity metrics against hand-computed values, thresholds, ties, rebuilds and community structure."""

from __future__ import annotations

import math

import pytest

from musim import warehouse
from musim.errors import NotFoundError
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity.build import SimilarityParams, build, build_similarity, resolve_dump
from tests.lastfm_files import tiny_dump
from tests.test_cooccurrence import needs_c_kernels


def _pairs(con, metric):
    return {(a, b): (s, c) for a, b, s, c in con.execute(
        """SELECT x.name, y.name, n.score, n.co_listeners FROM artist_neighbors n
           JOIN artist x ON x.artist_id = n.artist_id JOIN artist y ON y.artist_id = n.neighbor_id
           WHERE n.metric = ?""", [metric]).fetchall()}


@pytest.fixture
def tiny(tmp_path):
    # listeners: A = {u1, u2, u4}, B = {u1, u2, u3}, C = {u1, u3} (u4 played C 0 times); U = 4 users
    # co: AB = 2, AC = 1, BC = 2
    return ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))


def test_metrics_match_hand_computation(tiny):
    result = build(params=SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
    assert (result.users, result.artists, result.pairs) == (4, 3, 3)
    with warehouse.writer() as con:
        seed, jac, cos, lift, pmi = (_pairs(con, m) for m in ("seed", "jaccard", "cosine", "lift", "pmi"))
        listeners = dict(con.execute("""SELECT a.name, l.listeners FROM artist_listeners l
                                        JOIN artist a USING (artist_id)""").fetchall())
    assert listeners == {"Artist A": 3, "Artist B": 3, "Artist C": 2}
    ab, ac, bc = ("Artist A", "Artist B"), ("Artist A", "Artist C"), ("Artist B", "Artist C")
    r = {ab: (2 / 3 + 2 / 3) / 2, ac: (1 / 3 + 1 / 2) / 2, bc: (2 / 3 + 2 / 2) / 2}
    for pair, raw in r.items():
        assert seed[pair][0] == pytest.approx(raw / max(r.values()))
        assert seed[pair[::-1]] == seed[pair]  # both directions
    assert seed[bc][0] == 1.0
    assert jac[ab] == (pytest.approx(2 / 4), 2) and jac[ac][0] == pytest.approx(1 / 4)
    assert cos[ab][0] == pytest.approx(2 / 3) and cos[ac][0] == pytest.approx(1 / math.sqrt(6))
    assert lift[ab][0] == pytest.approx(2 * 4 / 9) and pmi[ab][0] == pytest.approx(math.log(8 / 9))


def test_thresholds_and_ranks(tiny):
    build(params=SimilarityParams(min_listeners=3, min_co_listeners=2, k=1))
    with warehouse.writer() as con:
        rows = con.execute("SELECT artist_id, rank, co_listeners FROM artist_neighbors WHERE metric = 'seed'").fetchall()
    # C has 2 listeners < 3: only A and B are eligible; their pair has 2 co-listeners
    assert sorted(r[2] for r in rows) == [2, 2] and {r[1] for r in rows} == {1}


def test_catalogue_pairs_are_complete(tiny):
    build(params=SimilarityParams(min_listeners=1, min_co_listeners=2, k=5, catalogue_size=3))
    with warehouse.writer() as con:
        rows = con.execute("SELECT co_listeners, seed FROM artist_pair_similarity ORDER BY co_listeners").fetchall()
    # every co-listened pair among the catalogue, even below min_co_listeners, on the same seed scale
    assert [r[0] for r in rows] == [1, 2, 2] and max(r[1] for r in rows) == pytest.approx(1.0)


def test_rebuild_replaces_and_unknown_dump_is_explained(tiny):
    build(params=SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
    build(params=SimilarityParams(min_listeners=1, min_co_listeners=2, k=5))
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM similarity_build").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM artist_neighbors WHERE metric = 'seed'").fetchone()[0] == 4
        with pytest.raises(NotFoundError, match="matches no dump"):
            resolve_dump(con, "ffff")


def test_a_dump_id_matching_several_or_none_names_the_matching_or_newest_dumps(tmp_path):
    """An ambiguous prefix listed every dump, not the ones it matched; a wrong one listed every dump (hundreds, where
    the landing ingests hourly) in its one line."""
    from collections import Counter

    from musim.similarity import DUMPS_LISTED
    from tests.lastfm_files import U1, U2, write_lines

    ids = [ingest_lastfm(write_lines(tmp_path / f"d{i}.tsv", [f"{U1}\t\tA\t{i + 1}", f"{U2}\t\tA\t1"])).dump_id
           for i in range(17)]  # 17 ids over 16 hex digits: two start alike
    digit, _ = Counter(i[0] for i in ids).most_common(1)[0]
    matching = [i[:12] for i in ids if i.startswith(digit)]
    with warehouse.writer() as con:
        with pytest.raises(NotFoundError) as err:
            resolve_dump(con, digit)
        assert str(err.value) == (f"dump id {digit!r} matches several dumps: {', '.join(matching)}; give more of its "
                                  "digits")
        with pytest.raises(NotFoundError) as err:
            resolve_dump(con, "nope")
    newest = ", ".join(i[:12] for i in ids[-DUMPS_LISTED:])
    assert str(err.value) == (f"dump id 'nope' matches no dump; known dumps: {newest} (the newest {DUMPS_LISTED} of "
                              "17; `musim dumps` lists them all)")


def test_ties_are_broken_deterministically(tmp_path):
    from tests.lastfm_files import write_lines
    # X is co-listened with Y and Z by the same single user pattern: identical scores
    lines = []
    for i in range(4):
        u = f"{i:040x}"
        lines += [f"{u}\t\tX\t1", f"{u}\t\tY\t1", f"{u}\t\tZ\t1"]
    ingest_lastfm(write_lines(tmp_path / "t.tsv", lines))
    build(params=SimilarityParams(min_listeners=1, min_co_listeners=1, k=2))
    with warehouse.writer() as con:
        got = con.execute("""SELECT y.name FROM artist_neighbors n JOIN artist x ON x.artist_id = n.artist_id
                             JOIN artist y ON y.artist_id = n.neighbor_id
                             WHERE x.name = 'X' AND metric = 'jaccard' ORDER BY rank""").fetchall()
    assert got == [("Y",), ("Z",)]  # equal scores and co-listeners: lower artist id first


def test_communities_show_in_the_neighbours(tmp_path):
    import json

    from musim.synth.lastfm import write_lastfm_dump

    s = write_lastfm_dump(tmp_path / "synth", users=1500, artists=120, communities=4, seed=11)
    ingest_lastfm(s.plays_path)
    build(params=SimilarityParams(min_listeners=5, k=5))
    truth = {a["name"]: a["community"] for a in json.loads((tmp_path / "synth" / "synth-truth.json").read_text())["artists"]}
    with warehouse.writer() as con:
        rows = con.execute("""SELECT x.name, y.name FROM artist_neighbors n JOIN artist x ON x.artist_id = n.artist_id
                              JOIN artist y ON y.artist_id = n.neighbor_id WHERE metric = 'jaccard'""").fetchall()
    same = sum(truth[a] == truth[b] for a, b in rows) / len(rows)
    assert same > 0.8  # chance would be ~0.25


def test_a_build_with_no_pairs_is_refused_and_the_earlier_build_stays(tiny, tmp_path):
    """An empty build was stored (seed scale NULL) and, once published, broke every `musim similar`."""
    from musim.errors import ParameterError

    build(params=SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
    with pytest.raises(ParameterError, match=r"no co-listened pairs in dump \w+ with min_listeners=100 .*0 of its 3 "
                                             r"artists have that many listeners \(the most has 3\); nothing was stored"):
        build(params=SimilarityParams(min_listeners=100))
    with warehouse.writer() as con:
        assert con.execute("SELECT min_listeners, pairs FROM similarity_build").fetchall() == [(1, 3)]
    from tests.lastfm_files import U1, write_lines

    silent = ingest_lastfm(write_lines(tmp_path / "zero.tsv", [f"{U1}\t\tArtist Z\t0"]))
    with pytest.raises(ParameterError, match="has no plays above 0 of a named artist"):
        build(silent.dump_id)


@pytest.mark.parametrize("bad", [{"k": 2.5}, {"k": True}, {"min_listeners": 0}, {"catalogue_size": -1}])
def test_parameters_of_a_wrong_type_or_range_are_one_error_naming_the_field(bad):
    """A direct caller's k=2.5 or True was taken, and k='10' raised a bare TypeError deep in the build."""
    from musim.errors import ParameterError

    with pytest.raises(ParameterError, match=f"similarity parameter {next(iter(bad))}: "):
        SimilarityParams(**bad)


def test_an_artist_with_more_neighbours_than_a_smallint_holds_is_served(tmp_path):
    """The views cast every row's rank to SMALLINT before keeping the top k: an artist with more than 32,767
    neighbours failed every query on it ("INT64 32768 can't be cast to INT16")."""
    from tests.lastfm_files import write_lines

    lines = []
    for u in range(3300):  # each user plays Hub and 10 artists of their own: Hub has 33,000 neighbours
        lines += [f"{u:040x}\t\tHub\t1", *(f"{u:040x}\t\tOwn {u}-{i}\t1" for i in range(10))]
    ingest_lastfm(write_lines(tmp_path / "hub.tsv", lines))
    build(params=SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
    with warehouse.writer() as con:
        ranks = con.execute("SELECT metric, list(rank ORDER BY rank) FROM artist_neighbors WHERE artist_name = 'Hub' "
                            "GROUP BY metric").fetchall()
        named = con.execute("SELECT count(*) FROM similar_artists WHERE artist = 'Hub'").fetchone()[0]
    assert sorted(ranks) == [(m, [1, 2, 3, 4, 5]) for m in sorted(("seed", "jaccard", "cosine", "lift", "pmi"))]
    assert named == 25


@pytest.mark.parametrize("engine", [pytest.param("c", marks=needs_c_kernels), "duckdb"])
def test_seed_has_one_scale_for_every_stored_pair(tmp_path, engine):
    """The seed scale came from the pairs with >= min_co_listeners only and the catalogue's pairs (>= 1) were
    clipped to it: Zed One and Zed Two (one listener each, one co-listener: r = 1) stored 1.0, and so did Em and En
    (r = (2/4 + 2/3) / 2), the scale's own pair, as if both were equally similar."""
    from musim.quality import gate
    from tests.lastfm_files import write_lines

    lines = [f"{'c1' * 20}\t\tZed One\t7", f"{'c1' * 20}\t\tZed Two\t7"]
    lines += [f"{u * 20}\t\tEm\t7" for u in ("c2", "c3", "c4", "c6")] + [f"{u * 20}\t\tEn\t7" for u in ("c2", "c3", "c5")]
    dump_id = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines)).dump_id
    with warehouse.writer() as con:
        build_similarity(con, dump_id, SimilarityParams(min_listeners=1, min_co_listeners=2, k=5), engine=engine,
                         gated=True)
        gate(["similarity"], dump_id=dump_id, con=con)  # the record and the catalogue agree with the pairs
        scale = con.execute("SELECT seed_raw_max FROM similarity_build").fetchone()[0]
        catalogue = dict(con.execute("""SELECT x.name || '-' || y.name, c.seed FROM artist_pair_similarity c
                                        JOIN artist x ON x.artist_id = c.artist_a
                                        JOIN artist y ON y.artist_id = c.artist_b""").fetchall())
        view = con.execute("SELECT score FROM similar_artists WHERE artist = 'Em' AND metric = 'seed'").fetchall()
    em_en = (2 / 4 + 2 / 3) / 2
    assert scale == 1.0 and catalogue == {"Zed One-Zed Two": 1.0, "Em-En": pytest.approx(em_en)}
    assert view == [(catalogue["Em-En"],)]  # the neighbour views use the same scale


def _built_at(con):
    return con.execute("SELECT built_at FROM similarity_build").fetchone()[0]


def _check(con, dump_id, *, passed):
    """A recorded similarity check of ``dump_id`` (as the quality runner records one), now."""
    con.execute("""INSERT INTO quality_result (run_id, dataset, dump_id, status, success, expectations, failed,
                                               rows_validated, sampled, failures, seconds, created_at)
                   VALUES (?, 'similarity', ?, ?, ?, 1, ?, 1, false, '[]', 0.1, now())""",
                [f"q{passed}-{dump_id[:4]}", dump_id, "passed" if passed else "failed", passed, 0 if passed else 1])


def test_building_again_with_the_same_parameters_is_a_no_op_unless_forced_or_changed(tiny):
    """A rerun of the same night rebuilt the whole build; now it stands, and --force or other parameters rebuild."""
    p = SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)
    with warehouse.writer() as con:
        first = build_similarity(con, None, p)
        built = _built_at(con)
        again = build_similarity(con, None, p)  # not gated, never checked: it stands for an ungated run
        assert first.built_before is None and again.built_before is not None and _built_at(con) == built
        assert (again.users, again.artists, again.pairs, again.neighbors) == (4, 3, 3, None)
        line = again.describe_existing()
        assert "already has a similarity build" in line and "--force" in line and tiny.dump_id[:12] in line
        # a catalogue_size beyond the eligible artists takes the same artists: the same build
        assert build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5,
                                                            catalogue_size=50)).built_before is not None
        forced = build_similarity(con, None, p, force=True)
        assert forced.built_before is None and _built_at(con) > built
        built = _built_at(con)
        other = build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=4))
        assert other.built_before is None and _built_at(con) > built


def test_a_build_not_checked_or_failed_is_built_again(tiny):
    """A failed or unfinished quality check is no reason to skip: the build is made (and then checked) again."""
    p = SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)
    with warehouse.writer() as con:
        build_similarity(con, None, p, gated=True)  # its check never ran (killed)
        built = _built_at(con)
        assert build_similarity(con, None, p, gated=True).built_before is None and _built_at(con) > built
        _check(con, tiny.dump_id, passed=False)
        built = _built_at(con)
        assert build_similarity(con, None, p).built_before is None and _built_at(con) > built  # failed: rebuilt
        # that build was made without a gate and is unchecked: it stands for an ungated run, not for a gated one
        assert build_similarity(con, None, p).built_before is not None
        assert build_similarity(con, None, p, gated=True).built_before is None
        build_similarity(con, None, p, gated=True)
        _check(con, tiny.dump_id, passed=True)
        built = _built_at(con)
        standing = build_similarity(con, None, p, gated=True)
        assert standing.built_before is not None and standing.check_run == f"qTrue-{tiny.dump_id[:4]}"
        assert _built_at(con) == built


def test_an_artists_plays_summed_over_users_past_2_63_are_stored_exactly(tmp_path):
    """Each user's count fits a BIGINT, their sum over users did not: the 128-bit sum was cast into the BIGINT
    artist_listeners.plays and the whole build failed with a ConversionException."""
    from tests.lastfm_files import write_lines

    big = 999_999_999_999_999_999
    lines = [line for i in range(10) for line in (f"{i + 1:040x}\t\tFoo\t{big}", f"{i + 1:040x}\t\tBar\t3")]
    ingest_lastfm(write_lines(tmp_path / "d.tsv", lines))
    result = build(params=SimilarityParams(min_listeners=2, min_co_listeners=1, k=5))
    assert (result.users, result.artists, result.pairs) == (10, 2, 1)
    with warehouse.writer() as con:
        plays = dict(con.execute("""SELECT a.name, l.plays FROM artist_listeners l
                                    JOIN artist a USING (artist_id)""").fetchall())
    assert plays == {"Foo": 10 * big, "Bar": 30}


def test_a_build_made_by_other_code_is_built_again_once(tiny, monkeypatch):
    """The no-op compared parameters only: after an upgrade that fixes the similarity arithmetic, the build that
    older code made stood until someone thought of --force. Now a build records its code's fingerprint and only a
    build of the same code stands; one recorded before fingerprints were (NULL, migration 024) is made once."""
    from musim.similarity import fingerprint

    p = SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)
    today = fingerprint.code_fingerprint()
    with warehouse.writer() as con:
        first = build_similarity(con, None, p)
        built = _built_at(con)
        assert first.code_fingerprint == today and first.rebuilt_because is None
        assert con.execute("SELECT code_fingerprint FROM similarity_build").fetchone() == (today,)
        same = build_similarity(con, None, p)  # the same code: it stands
        assert same.built_before is not None and same.code_fingerprint == today and _built_at(con) == built
        assert f"by this code (fingerprint {today[:12]})" in same.describe_existing()

        upgraded = "f00d" * 16
        monkeypatch.setattr(fingerprint, "code_fingerprint", lambda: upgraded)
        again = build_similarity(con, None, p)
        assert again.built_before is None and _built_at(con) > built
        assert again.rebuilt_because == (f"dump {tiny.dump_id[:12]}: its similarity build with these parameters was "
                                         f"built by other code (fingerprint {today[:12]}… vs f00df00df00d…): "
                                         "rebuilding")
        assert con.execute("SELECT code_fingerprint FROM similarity_build").fetchone() == (upgraded,)
        built = _built_at(con)
        assert build_similarity(con, None, p).built_before is not None and _built_at(con) == built

        con.execute("UPDATE similarity_build SET code_fingerprint = NULL")  # as recorded before migration 024
        unknown = build_similarity(con, None, p)
        assert unknown.built_before is None and _built_at(con) > built
        assert "recorded before builds recorded their code (no fingerprint" in unknown.rebuilt_because
        assert build_similarity(con, None, p).built_before is not None  # once: it records its fingerprint now


def test_an_empty_dump_id_is_refused_not_a_prefix_of_every_dump(tiny):
    """`musim similarity drop --dump "$DUMP"` with DUMP unset dropped the only dump's build: "" starts every id."""
    from musim.errors import ParameterError
    from musim.similarity.build import drop_build

    build(params=SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
    with warehouse.writer() as con:
        for empty in ("", " "):
            with pytest.raises(ParameterError, match=r"the dump id is empty \(an unset variable\?\)"):
                drop_build(con, empty)
            with pytest.raises(ParameterError, match="the dump id is empty"):
                build_similarity(con, empty, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5), force=True)
        assert con.execute("SELECT count(*) FROM similarity_build").fetchone()[0] == 1
        assert resolve_dump(con, None) == tiny.dump_id


def test_a_checked_dump_is_not_built_while_the_latest_artists_check_failed(tmp_path):
    """artists is checked across dumps: its latest check, failed in a run that judged a dump (the lastfm_ingest DAG's
    gate), keeps that dump from being built, not another; a failed check of the catalogue alone keeps every dump; a
    passing re-check, or force, builds it."""
    from musim.errors import QualityError
    from musim.quality.runner import check_on
    from tests.lastfm_files import write_lines

    checked = ingest_lastfm(tiny_dump(tmp_path / "d.tsv")).dump_id
    never = ingest_lastfm(write_lines(tmp_path / "e.tsv", [f"{u:040x}\t\t{a}\t2" for a in ("Artist A", "Artist B")
                                                            for u in range(3)])).dump_id
    params = SimilarityParams(min_listeners=1, min_co_listeners=1)
    with warehouse.writer() as con:
        con.execute("UPDATE artist_name_variant SET lines = 0 WHERE artist_id = 1")  # a spelling never used
        run = check_on(con, ["lastfm_plays", "artists"], dump_id=checked, docs=False)  # the DAG's gate of `checked`
        assert [r.dataset for r in run.failed] == ["artists"]
        with pytest.raises(QualityError) as refused:
            build_similarity(con, checked, params)
        assert f"dump {checked[:12]} failed its ingest quality check: artists (run {run.run_id})" in str(refused.value)
        assert refused.value.failed == ("artists",)
        assert con.execute("SELECT count(*) FROM similarity_build").fetchone() == (0,)
        assert build_similarity(con, never, params).pairs == 1  # another dump: built
        alone = check_on(con, ["artists"], docs=False)  # the catalogue as a whole: every dump is held back
        with pytest.raises(QualityError, match=f"dump {never[:12]} failed .*: artists \\(run {alone.run_id}\\)"):
            build_similarity(con, never, params, force=False)
        assert build_similarity(con, checked, params, force=True).pairs == 3  # built anyway
        con.execute("UPDATE artist_name_variant SET lines = 1 WHERE lines = 0")
        assert check_on(con, ["artists"], docs=False).success
        assert build_similarity(con, checked, params).pairs == 3  # checked again and passed: built (stands)


def test_the_listeners_and_users_are_grouped_in_perfect_hash_tables(tmp_path, monkeypatch):
    """The build's two aggregates over the whole dump, the listeners per artist and the users who played anything,
    grouped the ids in DuckDB's hash tables (its default leaves a range of more than 4,096 ids to hashing): now in
    perfect hash tables, one slot per id (sql/similarity/perfect_hash.sql), the same rows; DuckDB's default on the
    connection afterwards."""
    from musim import sql
    from musim.synth.lastfm import write_lastfm_dump

    ingest_lastfm(write_lastfm_dump(tmp_path / "d", users=5000, artists=4200, communities=4, seed=3).plays_path)
    plans, execute = {}, sql._execute

    def explained(con, stmt, bound):
        for key, mark in (("listeners", "GROUP BY p.artist_id"), ("users", "count(DISTINCT user_id)")):
            if mark in stmt:
                plans[key] = con.execute("EXPLAIN " + stmt, bound).fetchall()[0][1]
        return execute(con, stmt, bound)

    monkeypatch.setattr(sql, "_execute", explained)
    with warehouse.writer() as con:
        result = build_similarity(con, None, SimilarityParams(min_listeners=2, min_co_listeners=1, k=5))
        ids = con.execute("SELECT max(artist_id) - min(artist_id) FROM lastfm_plays").fetchone()[0]
        assert ids >= 4096  # past DuckDB's default range for a perfect hash table
        assert set(plans) == {"listeners", "users"}
        assert all("Perfect Hash Group By" in plan for plan in plans.values()), plans
        assert con.execute("SELECT current_setting('perfect_ht_threshold')").fetchone()[0] == 12
        counted = con.execute("""SELECT count(DISTINCT user_id), count(DISTINCT artist_id) FILTER (WHERE NOT a.is_placeholder)
                                 FROM lastfm_plays p JOIN artist a USING (artist_id) WHERE plays > 0""").fetchone()
        assert (result.users, con.execute("SELECT count(*) FROM artist_listeners").fetchone()[0]) == counted


def test_a_failed_build_step_under_the_perfect_hash_setting_raises_its_own_error(tiny):
    """DuckDB runs no statement in an aborted transaction, not even the RESET of the perfect hash setting: the
    step's error is raised, not the RESET's."""
    import duckdb

    from musim.similarity.build import _perfect_hash

    with warehouse.writer() as con:
        con.begin()
        with pytest.raises(duckdb.CatalogException, match="no_such_table"), _perfect_hash(con):
            con.execute("SELECT * FROM no_such_table")
        con.rollback()
