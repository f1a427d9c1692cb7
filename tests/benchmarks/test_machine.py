"""The machine probe printed above every benchmark run."""

from __future__ import annotations

import json

from benchmarks import machine, run


def test_probe_measures_the_interpreter_and_blas():
    m = machine.probe(gx=False)
    assert m["cpus"] >= 1 and m["cpu"]
    assert 0 < m["python_loop_ms"] < 10_000 and m["matmul_gflops"] > 0
    assert "gx_import_s" not in m
    line = machine.describe(m)
    assert line.startswith("machine: ") and "Python loop" in line and "Great Expectations" not in line


def test_describe_names_the_gx_import_when_measured():
    m = {"cpu": "Some CPU", "cpus": 2, "python_loop_ms": 49.9, "matmul_gflops": 16.2, "gx_import_s": 7.04}
    assert machine.describe(m) == ("machine: Some CPU, 2 CPUs; Python loop 50 ms; matmul 16 GFLOP/s; "
                                   "Great Expectations import 7.0 s")


def test_disk_probe_writes_syncs_and_removes_its_file(tmp_path):
    m = machine.probe(gx=False, disk=tmp_path)
    assert m["disk_write_mb_s"] > 0 and list(tmp_path.iterdir()) == []
    assert machine.describe(m).endswith(f"synced disk writes {m['disk_write_mb_s']:,.0f} MB/s")


def test_gx_import_is_none_when_the_probe_fails(monkeypatch):
    monkeypatch.setattr(machine, "_GX_PROBE", "raise SystemExit(3)")
    assert machine.gx_import_s() is None


def test_a_run_writes_the_machine_beside_its_rows(tmp_path, monkeypatch, capsys):
    import sys
    import types

    monkeypatch.setattr(run, "HERE", tmp_path)
    (tmp_path / "bench_tiny.py").write_text("")
    tiny = types.ModuleType("benchmarks.bench_tiny")
    tiny.run = lambda *, quick, workdir: []
    monkeypatch.setitem(sys.modules, "benchmarks.bench_tiny", tiny)
    assert run.main(["--quick", "--only", "tiny", "--workdir", str(tmp_path / "data")]) == 0
    written = json.loads((tmp_path / "results" / "bench-tiny-quick.json").read_text())
    assert written["machine"]["python_loop_ms"] > 0 and written["machine"]["disk_write_mb_s"] > 0
    assert written["rows"] == []
    assert "machine: " in capsys.readouterr().out
