"""The benchmark runner: names and environment checked before anything runs; results never replaced by less."""

from __future__ import annotations

import json
import sys
import types

import pytest

from benchmarks import run as runner


@pytest.fixture
def suite(tmp_path, monkeypatch):
    """Two stand-in benchmarks, ``good`` (one row) and ``broken`` (raises), with a checked variable."""
    for name in ("good", "broken"):
        (tmp_path / f"bench_{name}.py").write_text("")
    good = types.ModuleType("benchmarks.bench_good")
    good.run = lambda *, quick, workdir: [{"benchmark": "good", "metric": "speed", "value": 1.0, "unit": "x"}]

    def check_env(quick):
        if "abc" in (__import__("os").environ.get("GOOD_FRACTION") or ""):
            raise SystemExit("GOOD_FRACTION='abc': not a number; set e.g. GOOD_FRACTION=1")

    good.check_env = check_env
    broken = types.ModuleType("benchmarks.bench_broken")

    def fail(*, quick, workdir):
        raise RuntimeError("the benchmark broke")

    broken.run = fail
    monkeypatch.setitem(sys.modules, "benchmarks.bench_good", good)
    monkeypatch.setitem(sys.modules, "benchmarks.bench_broken", broken)
    monkeypatch.setattr(runner, "HERE", tmp_path)
    monkeypatch.setattr(runner, "probe", lambda **_: {})
    monkeypatch.setattr(runner, "describe", lambda machine: "machine")
    results = tmp_path / "results"
    results.mkdir()
    (results / "bench.json").write_text('{"rows": ["the whole suite"]}')
    return tmp_path


@pytest.mark.parametrize(("argv", "message"), [
    (["--only", "nope"], "no benchmark nope; the benchmarks are broken, good"),
    (["--only"], "expected at least one argument"),
])
def test_an_unknown_or_empty_selection_is_refused_before_anything_runs(suite, capsys, argv, message):
    """``--only nope`` ran nothing and replaced the results with an empty table (rc 0); ``--only`` with no name
    (an empty ``$VAR``) ran the whole multi-hour suite."""
    with pytest.raises(SystemExit) as exc:
        runner.main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert json.loads((suite / "results" / "bench.json").read_text()) == {"rows": ["the whole suite"]}


def test_a_bad_environment_value_stops_the_run_before_the_first_benchmark(suite, capsys, monkeypatch):
    monkeypatch.setenv("GOOD_FRACTION", "abc")
    with pytest.raises(SystemExit) as exc:
        runner.main(["--workdir", str(suite / "data")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "bench_good: GOOD_FRACTION='abc': not a number" in err
    assert not (suite / "data").exists()


def test_a_part_of_the_suite_writes_its_own_file_and_a_run_that_only_failed_writes_none(suite, capsys):
    assert runner.main(["--only", "good", "--workdir", str(suite / "data")]) == 0
    assert json.loads((suite / "results" / "bench-good.json").read_text())["rows"][0]["metric"] == "speed"
    assert runner.main(["--only", "broken", "--workdir", str(suite / "data")]) == 1
    assert "every benchmark failed: nothing written" in capsys.readouterr().err
    assert sorted(p.name for p in (suite / "results").iterdir()) == ["bench-good.json", "bench.json"]
    assert json.loads((suite / "results" / "bench.json").read_text()) == {"rows": ["the whole suite"]}


def test_one_benchmark_alone_takes_only_its_options_and_checks_its_environment(suite, capsys, monkeypatch):
    from benchmarks._util import run_alone

    assert run_alone("benchmarks.bench_good", ["--quick"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["metric"] == "speed"
    for argv in (["--bogus"], ["--help"]):
        with pytest.raises(SystemExit) as exc:
            run_alone("benchmarks.bench_good", argv)
        assert exc.value.code == (0 if argv == ["--help"] else 2)
    monkeypatch.setenv("GOOD_FRACTION", "abc")
    with pytest.raises(SystemExit) as exc:
        run_alone("benchmarks.bench_good", [])
    assert exc.value.code == 2 and "GOOD_FRACTION='abc'" in capsys.readouterr().err


@pytest.mark.parametrize(("raw", "expected"), [("", 3), ("2", 2), (" 5 ", 5), ("0", None), ("-1", None), ("1.5", None),
                                               ("three", None)])
def test_a_count_from_the_environment_is_a_whole_number_of_at_least_one(monkeypatch, raw, expected):
    from benchmarks._util import env_int

    monkeypatch.setenv("BENCH_REPEATS", raw)
    if expected is not None:
        assert env_int("BENCH_REPEATS", 3) == expected
        return
    with pytest.raises(SystemExit, match=r"BENCH_REPEATS='.*': must be a whole number >= 1, e.g. BENCH_REPEATS=3"):
        env_int("BENCH_REPEATS", 3)


def test_the_similarity_benchmark_checks_its_repeats_before_any_benchmark_runs(monkeypatch):
    from benchmarks import bench_similarity

    monkeypatch.setenv("MUSIM_BENCH_SIMILARITY_REPEATS", "0")
    with pytest.raises(SystemExit, match="MUSIM_BENCH_SIMILARITY_REPEATS='0'"):
        bench_similarity.check_env(quick=False)
    bench_similarity.check_env(quick=True)  # --quick times each side once, whatever the variable says
