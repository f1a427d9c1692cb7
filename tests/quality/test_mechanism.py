"""The mechanism: thresholds from the environment, sampling and batches, custom suites in the registry."""

from __future__ import annotations

import functools
import json
import logging
import sys

import pandas as pd
import pytest

from musim import warehouse
from musim.config import get_settings
from musim.errors import ConfigError
from musim.quality import Coverage, DatasetSuite, Part, QualityThresholds, check, register
from musim.quality.registry import unregister


def test_thresholds_from_environment():
    t = get_settings({"MUSIM_QUALITY_MAX_REJECT_SHARE": "0.05", "MUSIM_QUALITY_SAMPLE_ROWS": "10"}).quality
    assert (t.max_reject_share, t.sample_rows, t.batch_rows, t.full_rows_max) == (0.05, 10, 100_000, 250_000)
    with pytest.raises(ConfigError, match="MUSIM_QUALITY_SAMPLE_ROWS must be a positive integer, got 'many'"):
        get_settings({"MUSIM_QUALITY_SAMPLE_ROWS": "many"})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        QualityThresholds(max_reject_share=2.0)


def test_large_tables_are_sampled_and_batched_and_all_rows_stay_in_sql(good):
    t = QualityThresholds(full_rows_max=500, sample_rows=1200, batch_rows=300)
    with warehouse.writer() as con:
        total = con.execute("SELECT count(*) FROM lastfm_plays").fetchone()[0]
        con.execute("UPDATE lastfm_plays SET plays = -1 WHERE user_id = 7")  # a handful of rows
        bad = con.execute("SELECT count(*) FROM lastfm_plays WHERE plays < 0").fetchone()[0]
    result = check(["lastfm_plays"], thresholds=t, docs=False).results[0]
    rows = next(p for p in result.parts if p["part"] == "rows")
    assert result.sampled and result.rows_total == total > 1200
    assert rows["rows_validated"] == 1200 and rows["batches"] == 4
    assert "simple random sample of 1,200" in rows["coverage"]  # a dump's plays have contiguous row ids
    # the SQL invariant counts every bad row, whether or not the sample caught one
    (inv,) = [f for f in result.failures if f.columns == ["bad_plays_rows"]]
    assert inv.observed == [bad] and inv.examples
    again = check(["lastfm_plays"], thresholds=t, docs=False).results[0]
    assert again.parts[1]["rows_validated"] == 1200  # same seed, same sample size


def _sample(con, *, by_rowid: bool, t: QualityThresholds) -> tuple[str, list[tuple]]:
    from musim.quality.registry import CheckContext, table_rows

    part = table_rows("rows", base="quality/lastfm_plays_base.sql", rows="quality/lastfm_plays_rows.sql",
                      expectations=lambda ctx: [], by_rowid=by_rowid)
    dump = con.execute("SELECT dump_id FROM lastfm_dump").fetchone()[0]
    coverage = Coverage()
    frames = list(part.frames(CheckContext(con=con, thresholds=t, dump_id=dump), coverage))
    rows = sorted(tuple(r) for df in frames for r in df[["user_key", "artist_key", "plays"]].itertuples(index=False))
    return coverage.how, rows


def test_samples_by_row_id_are_seeded_and_fall_back_to_the_reservoir_when_ids_have_gaps(good):
    t = QualityThresholds(full_rows_max=500, sample_rows=700, batch_rows=300)
    with warehouse.writer() as con:
        how, first = _sample(con, by_rowid=True, t=t)
        _, again = _sample(con, by_rowid=True, t=t)
        _, other_seed = _sample(con, by_rowid=True, t=QualityThresholds(full_rows_max=500, sample_rows=700, seed=7))
        assert how.startswith("simple random sample of 700 of") and first == again != other_seed
        assert len(set(first)) == 700  # drawn without replacement
        con.execute("DELETE FROM lastfm_plays WHERE rowid = 3")  # a gap in the ids: they no longer count rows
        how, rows = _sample(con, by_rowid=True, t=t)
        assert how.startswith("reservoir sample of 700 of") and len(rows) == 700


def test_a_custom_suite_with_its_own_frames(musim_home):
    """How the audio and training-set suites plug in: a function producing frames, expectations in code."""
    def expectations(ctx):
        import great_expectations.expectations as gxe

        return [gxe.ExpectColumnValuesToBeBetween(column="label", min_value=0, max_value=1, description="binary"),
                gxe.ExpectColumnValuesToNotBeNull(column="left", description="every pair has a left track")]

    frames_seen: list[pd.DataFrame] = []

    def frames(ctx, coverage: Coverage):
        for df in frames_seen:
            coverage.rows_validated += len(df)
            yield df
        coverage.rows_total, coverage.how = coverage.rows_validated, "all training pairs"

    suite = register(DatasetSuite(name="test_training_set", description="pairs", parts=(
        Part(name="pairs", expectations=expectations, frames=frames),)), replace=True)
    try:
        frames_seen[:] = [pd.DataFrame({"left": ["a", "b"], "label": [0, 1]}),
                          pd.DataFrame({"left": ["c"], "label": [1]})]
        ok = check([suite.name], docs=False)
        assert ok.success and ok.results[0].rows_validated == 3 and ok.results[0].parts[0]["batches"] == 2
        frames_seen[1] = pd.DataFrame({"left": [None], "label": [3]})
        bad = check([suite.name], docs=False).results[0]
        assert bad.status == "failed" and {f.description for f in bad.failures} == {"binary", "every pair has a left track"}
        assert [f.observed for f in bad.failures if f.description == "binary"] == [[3]]
    finally:
        unregister(suite.name)


def test_a_suite_that_cannot_run_fails_its_dataset_only(good, caplog):
    """... and its traceback is no warning: `musim quality check` printed it on stderr without -v (logged with
    log.exception), above the report that names the error."""
    def broken(ctx, coverage):
        raise RuntimeError("table vanished")
        yield  # pragma: no cover

    suite = register(DatasetSuite(name="test_broken", description="x", parts=(
        Part(name="p", expectations=lambda ctx: [], frames=broken),)), replace=True)
    try:
        with caplog.at_level(logging.INFO, logger="musim.quality.runner"):
            run = check(["test_broken", "artists"], docs=False)
        traced = [r for r in caplog.records if r.name == "musim.quality.runner" and r.exc_info]
        assert traced and all(r.levelno < logging.WARNING for r in traced)  # shown with -v (INFO), in task logs
        broken_result, artists = run.results
        assert broken_result.status == "failed" and "RuntimeError: table vanished" in broken_result.failures[0].line()
        # the one line a gate or `quality check` ends with says why it could not run
        assert run.failed_line() == ("test_broken (1 of 1 expectations failed: (suite): the suite runs "
                                     "(error: RuntimeError: table vanished))")
        assert artists.status == "passed"
    finally:
        unregister(suite.name)


def test_narrow_numeric_columns_are_widened_and_judged_the_same():
    """int32 (DuckDB's INTEGER) and float32 columns reach GX as int64/float64, whose bounds it checks
    vectorised; strings stay; the outcome equals the per-value path's."""
    import great_expectations.expectations as gxe
    import numpy as np

    from musim.quality import gx

    df = pd.DataFrame({"co": np.array([1, 5, 9, -2], np.int32), "score": np.array([0.5, 1.5, 0.0, 1.0], np.float32),
                       "name": ["a", "b", "c", "d"]})
    wide = gx.widened(df)
    assert [str(t) for t in wide.dtypes[["co", "score"]]] == ["int64", "float64"] and wide["name"].equals(df["name"])
    assert wide[["co", "score"]].to_numpy().tolist() == df[["co", "score"]].astype("float64").to_numpy().tolist()
    ctx = gx.new_context(None)
    outcomes = {}
    for name, widen in (("vectorised", gx.widened), ("per value", lambda d: d)):
        validator = gx.PartValidator(ctx, f"widen-{name}", [
            gxe.ExpectColumnValuesToBeBetween(column="co", min_value=0, max_value=8),
            gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1, strict_min=True)], "r")
        original, gx.widened = gx.widened, widen
        try:
            validator.validate(df)
        finally:
            gx.widened = original
        outcomes[name] = sorted((o.type, o.columns[0], o.success, o.unexpected_count, sorted(o.observed))
                                for o in validator.finish())
    assert outcomes["vectorised"] == outcomes["per value"]
    assert [o[3] for o in outcomes["vectorised"]] == [2, 2]


def test_parts_run_as_their_frames_arrive_and_are_reported_in_suite_order(musim_home, monkeypatch):
    """A slow prefetched part does not hold up the parts after it (here the slow part's frames wait until the
    fast part is being validated: a runner taking parts in order would wait 20 s, then validate slow first);
    the result lists parts and failures in the suite's order all the same."""
    import threading

    import great_expectations.expectations as gxe

    from musim.quality import gx

    fast_started, validated = threading.Event(), []
    made = gx.PartValidator

    class Recording(made):
        def __init__(self, ctx, suite_name, *args, **kwargs):
            super().__init__(ctx, suite_name, *args, **kwargs)
            self.part = suite_name.rsplit(".", 1)[1]

        def validate(self, df):
            validated.append(self.part)
            if self.part == "fast":
                fast_started.set()
            super().validate(df)

    monkeypatch.setattr(gx, "PartValidator", Recording)

    def expectations_of(name):
        def expectations(ctx):
            return [gxe.ExpectColumnValuesToBeBetween(column="x", min_value=0, max_value=1, description=name)]
        return expectations

    def frames_of(value, after=None):
        def frames(ctx, coverage):
            if after is not None:
                after.wait(20)
            return [pd.DataFrame({"x": [value]})]
        return frames

    suite = register(DatasetSuite(name="test_part_order", description="x", parts=(
        Part(name="slow", expectations=expectations_of("slow"), frames=frames_of(5, fast_started), prefetch=True),
        Part(name="fast", expectations=expectations_of("fast"), frames=frames_of(7), prefetch=True))), replace=True)
    try:
        result = check([suite.name], docs=False).results[0]
    finally:
        unregister(suite.name)
    assert validated == ["fast", "slow"]
    assert [p["part"] for p in result.parts] == ["slow", "fast"]
    assert [(f.description, f.observed) for f in result.failures] == [("slow", [5]), ("fast", [7])]


def _check_one_part(name: str, *, waits_for, seen: list[bool]):
    """Check a suite ``name`` of one prefetched part whose frames (one row, x = 0, expected in 0..1) first wait up to
    5 s for the event ``waits_for``, noting in ``seen`` whether it came; the dataset's result."""
    import great_expectations.expectations as gxe

    def frames(ctx, coverage):
        seen.append(waits_for.wait(5))
        return [pd.DataFrame({"x": [0]})]

    def expectations(ctx):
        return [gxe.ExpectColumnValuesToBeBetween(column="x", min_value=0, max_value=1, description="x in 0..1")]

    suite = register(DatasetSuite(name=name, description="x", parts=(
        Part(name="p", expectations=expectations, frames=frames, prefetch=True),)), replace=True)
    try:
        return check([suite.name], docs=False).results[0]
    finally:
        unregister(suite.name)


def test_a_check_hurries_the_preload_as_soon_as_its_sql_has_started(musim_home, monkeypatch):
    """What a preload has left of GX's import goes on at normal priority from the moment the parts' SQL starts, not
    once the first frames are in: at nice 19 it got next to no CPU while the SQL kept the cores busy (the similarity
    gate then waited up to 1 s for the import after its SQL). Here the part's frames wait for the hurry: a runner
    hurrying once frames are in sees none for 5 s."""
    import threading

    from musim.quality import runner

    hurried, seen = threading.Event(), []
    monkeypatch.setattr(runner, "hurry_preload", hurried.set)
    result = _check_one_part("test_hurry", waits_for=hurried, seen=seen)
    assert seen == [True] and result.status == "passed"


def test_a_parts_suite_is_built_while_its_frames_are_on_their_way(musim_home, monkeypatch):
    """The main thread builds each part's GX suite while the parts' SQL runs, not once its frames are in: on the
    full similarity dump the whole-table facts arrive last and their suite was built after them, on the gate's
    critical path. Here the frames wait until the part's suite has been built: a runner building it only once
    the frames are in sees none for 5 s."""
    import threading

    from musim.quality import gx

    built, seen = threading.Event(), []
    made = gx.PartValidator

    class Recording(made):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.set()

    monkeypatch.setattr(gx, "PartValidator", Recording)
    result = _check_one_part("test_built_early", waits_for=built, seen=seen)
    assert seen == [True] and result.status == "passed" and result.expectations == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_preload_imports_at_the_lowest_cpu_priority_until_a_check_hurries_it(monkeypatch):
    """GX's import beside the build uses only the CPU the build leaves idle: its thread runs at nice 19, until a
    check that needs GX hurries it back to normal priority (where the OS allows it: as root)."""
    import importlib
    import os
    import threading

    from musim import quality
    from musim.quality import preloading

    started, release, seen = threading.Event(), threading.Event(), []
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def slow_import(name):
        seen.append((name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        started.set()
        release.wait(10)
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    monkeypatch.setattr(importlib, "import_module", slow_import)
    thread = quality.preload()
    assert started.wait(10)
    preloading.hurry()
    release.set()
    thread.join(10)
    assert seen[0] == ("great_expectations", 19)
    assert seen[1] == (0 if os.geteuid() == 0 else 19)  # raising a priority back needs the privilege
    # then what a check imports next, in the same thread, after GX
    assert [name for name, *_ in seen[2::2]] == list(preloading.AHEAD)
    assert preloading._importing == {}  # an ended thread's id is never touched again
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own  # the caller's thread keeps its own


def test_a_failure_counts_rows_of_a_table_and_the_value_of_a_whole_table_fact():
    """The one-line summary of a failure: how many rows of a table (a table of one row too), how many bad things a
    must-be-zero fact found, nothing invented for a fact compared with another (`1 of 1 rows` would be the frame's)."""
    from musim.quality import Failure

    def failure(**kw):
        base = {"part": "rows", "expectation": "expect_column_values_to_match_regex", "columns": ["name"],
                "description": "no empty names", "kwargs": {"regex": "\\S"}, "unexpected_count": 1,
                "element_count": 1, "observed": [""], "examples": []}
        return Failure(**{**base, **kw})

    one_row = failure()
    assert one_row.summary() == "rows: no empty names (1 of 1 rows)" and "1 of 1 rows unexpected" in one_row.line()
    zero = failure(part="invariants", facts=True, description="one row per key", observed=[4],
                   kwargs={"min_value": 0, "max_value": 0})
    assert zero.summary() == "invariants: one row per key (4 found)" and "| 4 found" in zero.line()
    pair = failure(part="invariants", facts=True, description="loaded = rows", observed=[[5, 4]],
                   expectation="expect_column_pair_values_to_be_equal", kwargs={}, columns=["loaded", "rows_stored"])
    assert pair.summary() == "invariants: loaded = rows (loaded 5 != rows stored 4)"
    assert pair.line().endswith("| loaded 5 != rows stored 4")
    # a fact against its bound: the value and the bound it broke, in as many digits as it takes to tell them apart
    fact = functools.partial(failure, part="invariants", facts=True, description="d",
                             expectation="expect_column_max_to_be_between", columns=["min_coverage"])
    assert fact(observed=[0.8999999], kwargs={"min_value": 0.9, "max_value": 1.0}).summary() \
        == "invariants: d (min coverage 0.8999999 < 0.9)"
    assert fact(observed=[3], kwargs={"min_value": 5}).count() == "min coverage 3 < 5"
    assert fact(observed=[12_000], kwargs={"min_value": 0, "max_value": 10_000}).count() == "min coverage 12,000 > 10,000"
    assert fact(observed=[0], kwargs={"min_value": 0, "strict_min": True}).count() == "min coverage 0 <= 0"
    assert fact(observed=[None], kwargs={"min_value": 0, "max_value": 0}).count() == "min coverage is NULL"
    assert fact(observed=["nan"], kwargs={"min_value": 1}).line() == "invariants: d | min_value=1 | min coverage is NaN"
    mostly = failure(unexpected_count=200, element_count=2000, kwargs={"mostly": 0.95, "min_value": 1})
    assert mostly.summary() == "rows: no empty names (200 of 2,000 rows, at most 5% may be)"
    # recorded before `facts` was: the suites' facts part is the one named invariants
    assert Failure.from_json({"part": "invariants", "description": "d", "observed": [3], "element_count": 1,
                              "unexpected_count": 1, "kwargs": {"min_value": 0, "max_value": 0}}).summary() \
        == "invariants: d (3 found)"


def test_the_errors_of_a_failed_check_are_stored_redacted(musim_home):
    """A check's exception text was stored as given in `quality_result.failures`, where `musim sql` and `musim quality
    report` show it: a data source that echoed a registered secret or a URL's password gave it away. Stored redacted
    now, whether the suite could not run or GX could not evaluate an expectation."""
    import great_expectations.expectations as gxe

    from musim.redact import register_secret

    register_secret("PLANTED-QUALITY-9c1e")
    leaky = "s3://key:hunter2@bucket/x?token=PLANTED-QUALITY-9c1e"

    def broken(ctx, coverage):
        raise OSError(f"could not read {leaky}")
        yield  # pragma: no cover

    def frames(ctx, coverage):
        coverage.rows_total = coverage.rows_validated = 1
        yield pd.DataFrame({"a": [1]})

    suites = [register(DatasetSuite(name="test_leaky_source", description="x", parts=(
                  Part(name="p", expectations=lambda ctx: [], frames=broken),)), replace=True),
              register(DatasetSuite(name="test_leaky_column", description="x", parts=(
                  Part(name="p", expectations=lambda ctx: [gxe.ExpectColumnValuesToNotBeNull(column=leaky)],
                       frames=frames),)), replace=True)]
    try:
        run = check([s.name for s in suites], docs=False)
        assert [r.status for r in run.results] == ["failed", "failed"]
        assert all(f.exception for r in run.results for f in r.failures)
        with warehouse.writer(get_settings()) as con:
            stored = [f["exception"] for (doc,) in con.execute(
                "SELECT failures FROM quality_result WHERE run_id = ? ORDER BY dataset", [run.run_id]).fetchall()
                for f in json.loads(doc)]
        # the column's name is the suite's own code, quoted in GX's error (which would carry a source's words)
        assert stored == ['Error: The column "s3://key:***@bucket/x?token=***" in BatchData does not exist.',
                          "OSError: could not read s3://key:***@bucket/x?token=***"], stored
        assert run.results[0].summary().endswith("(error: OSError: could not read s3://key:***@bucket/x?token=***))")
    finally:
        for s in suites:
            unregister(s.name)


def test_a_column_missing_from_the_frame_is_a_failure_that_says_why(musim_home):
    """GX 1.x keys an expectation's exception by the metric that raised it; read at the top of `exception_info`
    only, a column renamed away from a table was a failure with no reason (`p: expect_column_values_to_not_be_null
    (a)`, no count, no error). It says GX's error now."""
    import great_expectations.expectations as gxe

    def frames(ctx, coverage):
        coverage.rows_total = coverage.rows_validated = 1
        yield pd.DataFrame({"renamed": [1]})

    suite = register(DatasetSuite(name="test_renamed_column", description="x", parts=(
        Part(name="p", expectations=lambda ctx: [gxe.ExpectColumnValuesToNotBeNull(column="a")], frames=frames),)),
        replace=True)
    try:
        (failure,) = check([suite.name], docs=False).results[0].failures
        assert failure.exception and '"a"' in failure.exception and "error: " in failure.line(), failure.line()
    finally:
        unregister(suite.name)


def test_a_gate_whose_table_is_gone_fails(good):
    """A suite asked for by name whose table was dropped or renamed was skipped ("tables missing"), and a skipped
    dataset passes: the gate let everything downstream run on a warehouse without the table. It fails, naming it."""
    from musim.errors import QualityError
    from musim.quality import gate

    with warehouse.writer(get_settings()) as con:
        con.execute("ALTER TABLE artist_name_variant RENAME TO artist_name_variant_old")
    with pytest.raises(QualityError) as failed:
        gate(["artists"])
    assert failed.value.failed == ("artists",)
    assert ("(suite): the suite runs (error: NotFoundError: the warehouse lacks the tables the artists suite checks: "
            "artist_name_variant") in str(failed.value)


def test_a_long_error_is_cut_after_it_is_redacted(musim_home):
    """A suite's error was cut to 500 characters before it was redacted: a registered secret cut in two at the
    500th was no longer recognised, and its first part was stored."""
    from musim.redact import register_secret

    register_secret("PLANTED-QUALITY-CUT-4d2a")
    message = "x" * 480 + " PLANTED-QUALITY-CUT-4d2a"  # its 500th character falls inside the secret

    def broken(ctx, coverage):
        raise OSError(message)
        yield  # pragma: no cover

    suite = register(DatasetSuite(name="test_long_error", description="x", parts=(
        Part(name="p", expectations=lambda ctx: [], frames=broken),)), replace=True)
    try:
        (failure,) = check([suite.name], docs=False).results[0].failures
        assert failure.exception == f"OSError: {'x' * 480} ***" and "PLANTED" not in failure.exception
    finally:
        unregister(suite.name)
