"""gate_import_priority: the table it prints (medians per preload setting, their sum, the gate's ratio)."""

from __future__ import annotations

from benchmarks.gate_import_priority import summarise


def test_the_table_gives_each_settings_medians_their_sum_and_the_gates_ratio():
    runs = {"off": [{"build": 3.0, "gate": 3.0}, {"build": 3.4, "gate": 2.0}, {"build": 9.0, "gate": 2.5}],
            "19": [{"build": 4.0, "gate": 1.0}]}
    rows = summarise(runs).splitlines()
    assert rows[0].startswith("| GX preload |") and len(rows) == 4
    assert rows[2] == "| off (GX imported by the gate) | 3.40 s | 2.50 s | 5.90 s | 0.74x |"
    assert rows[3] == "| nice 19 | 4.00 s | 1.00 s | 5.00 s | 0.25x |"
