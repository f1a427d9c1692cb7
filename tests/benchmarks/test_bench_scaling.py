"""bench_scaling: what it reports as the size where one machine stops (extrapolated from the fits, or
measured where a step ran out), and how a step that runs out of memory or time is recorded instead of
stopping the benchmark."""

from __future__ import annotations

import os
import sys

import pytest

from benchmarks.bench_scaling import STEPS, limits, run_step


def _size(lines: int, *, fail: tuple[str, str] | None = None) -> dict:
    """A measured size whose step s costs (i+1) * lines^1 seconds and (i+1) * 1e-4 * lines MiB."""
    steps = {}
    for i, step in enumerate(STEPS):
        steps[step] = {"status": "ok", "wall_s": (i + 1) * lines * 1e-6, "peak_rss_mib": (i + 1) * 1e-4 * lines,
                       "cpu_s": (i + 1) * lines * 1.5e-6}
        if fail and fail[0] == step:
            steps[step]["status"] = fail[1]
            break
    return {"scale": lines / 1e6, "lines": lines, "steps": steps}


def test_limits_extrapolate_time_and_memory_from_the_fits():
    lim = limits([_size(1_000_000), _size(2_000_000), _size(4_000_000)], ram_mib=24 * 1024, budget_s=7200, cores=2)
    assert lim["time_lines"] == pytest.approx(7200 / (10 * 1e-6), rel=1e-6)  # sum of 1..4 = 10 per line
    assert lim["cpu_lines"] == pytest.approx(2 * 7200 / (10 * 1.5e-6), rel=1e-6)  # 2 cores busy the whole window
    assert lim["ram_lines"] == pytest.approx(24 * 1024 / (4e-4), rel=1e-6) and lim["ram_step"] == "publish"
    assert lim["ram_measured"] is None and lim["time_measured"] is None


def test_a_step_out_of_memory_is_the_measured_answer():
    sizes = [_size(1_000_000), _size(2_000_000), _size(4_000_000, fail=("quality", "oom"))]
    lim = limits(sizes, ram_mib=24 * 1024, budget_s=7200, cores=2)
    assert lim["ram_lines"] == 4_000_000 and lim["ram_measured"] == (4_000_000, "quality")
    # the failed size is left out of the fits of the steps that did not succeed there
    assert lim["rss_fits"]["quality"].points == 2 and lim["rss_fits"]["ingest"].points == 3
    assert "publish" in lim["rss_fits"]  # still fitted on the sizes where it ran


def test_a_step_past_the_budget_is_the_measured_time_limit():
    lim = limits([_size(1_000_000), _size(2_000_000, fail=("build", "timeout"))], ram_mib=24 * 1024, budget_s=7200,
                 cores=2)
    assert lim["time_measured"] == (2_000_000, "build") and lim["time_lines"] == lim["cpu_lines"] == 2_000_000
    assert lim["wall_fits"].keys() == {"ingest"}  # one size is not a fit: nothing extrapolated but ingest


@pytest.mark.parametrize(("code", "status"), [
    ("print('{\"loaded\": 3}')", "ok"),
    ("raise MemoryError", "oom"),  # an allocation error in stderr
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "oom"),  # what the kernel's OOM killer does
    ("raise SystemExit('musim: error: no such dump')", "failed"),
    ("import time; time.sleep(30)", "timeout"),
])
def test_a_step_is_recorded_with_its_status_and_never_raises(tmp_path, code, status):
    res = run_step([sys.executable, "-c", code], env=dict(os.environ), timeout=2 if status == "timeout" else 120,
                   logs=tmp_path)
    assert res["status"] == status
    assert res["wall_s"] > 0 and (status == "timeout" or res["peak_rss_mib"] > 0)
    assert res["output"] == ({"loaded": 3} if status == "ok" else {})
    if status == "failed":
        assert res["error"] == "musim: error: no such dump" and res["rc"] == 1


def test_an_argument_it_does_not_know_is_refused_not_taken_as_a_full_run(monkeypatch, tmp_path, capsys):
    """`--help` (or `--refit=FILE`) started the full scaling benchmark: gigabytes of dumps and ten minutes; `--refit`
    without a file was an IndexError, with a missing one a FileNotFoundError."""
    from benchmarks import bench_scaling

    monkeypatch.setattr(bench_scaling, "run", lambda **_: pytest.fail("the benchmark ran"))
    for argv, code in ((["--help"], 0), (["--bogus"], 2), (["--refit"], 2), (["--refit", str(tmp_path / "no.json")], 2)):
        with pytest.raises(SystemExit) as exc:
            bench_scaling.main(argv)
        assert exc.value.code == code
    assert "--refit" in capsys.readouterr().err and not (tmp_path / "data").exists()
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SystemExit):
        bench_scaling.main(["--refit", str(tmp_path / "bad.json")])
    assert "not a saved scaling curve (KeyError: 'sizes')" in capsys.readouterr().err
