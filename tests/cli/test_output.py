"""Human output is safe for a terminal (controls escaped, long cells cut); JSON keeps strings exact."""

from __future__ import annotations

import json

import pytest

from musim.cli import output


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[31mred", "\\x1b[31mred"), ("a\rb", "a\\rb"), ("a\nb", "a\\nb"), ("nul\x00", "nul\\x00"),
    ("del\x7f", "del\\x7f"), ("csi\x9b", "csi\\x9b"), ("rtl\u202eltr", "rtl\\u202eltr"), ("iso\u2066x", "iso\\u2066x"),
    ("tag\U000e0041", "tag\\U000e0041"), ("Björk 日本", "Björk 日本"), ("tab\there", "tab\\there"),
    ("caf\udce9.wav", "caf\\xe9.wav"),  # a Latin-1 file name as Python reads it: the byte, as path_text writes it
    ("lone\ud800", "lone\\ud800"),
])
def test_printable_escapes_controls(text, shown):
    assert output.printable(text) == shown


def test_printable_cuts_long_values(monkeypatch):
    assert output.printable("x" * 5000) == "x" * 59 + "…"
    assert output.printable("x" * 5000, 10) == "x" * 9 + "…"
    assert output.printable("x" * 5000, 0) == "x" * 5000
    monkeypatch.setattr(output, "CELL_WIDTH", 8)
    assert output.printable("abcdefghij") == "abcdefg…"
    assert output.printable("/music/a/b/c.wav", keep_end=True) == "…b/c.wav"


def test_wide_and_combining_characters_are_measured_in_terminal_columns(capsys):
    """A CJK character or an emoji takes two columns, a combining accent none: tables of such names were padded
    by characters and came out misaligned, and a cell of CJK was cut at twice its width."""
    assert output.columns("椎名林檎") == 8 and output.columns("Bjo\u0308rk") == 5 and output.columns("🎸 Band") == 7
    assert output.printable("椎名林檎椎名林檎", 7) == "椎名林…" and output.columns(output.printable("椎名林檎" * 20)) <= 60
    assert output.printable("/音楽/椎名林檎/ここでキスして.flac", 12, keep_end=True) == "…スして.flac"
    output.print_table([("椎名林檎", 3), ("Radiohead", 12), ("Bjo\u0308rk", 5), ("🎸 Band", 1)], ["artist", "tracks"])
    lines = capsys.readouterr().out.splitlines()
    assert {output.columns(line) for line in lines} == {len("---------  ------")}  # every row ends at one column


def test_path_columns_keep_the_file_name(capsys, monkeypatch):
    monkeypatch.setattr(output, "CELL_WIDTH", 12)
    output.print_table([("/very/long/folder/x.flac", "/very/long/folder/y.flac", 1)], ["path", "other", "n"],
                       path_columns=["path"])
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.split() == ["…lder/x.flac", "/very/long/…", "1"]


def test_table_bytes_hold_no_controls(capsys):
    output.print_table([(1, "a\x1b[2Jb", "c\rd"), (2, "e\x00f", "y" * 5000)], ["n", "na\x1bme", "other"],
                       title="t\x1b]0;x\x07")
    out = capsys.readouterr().out
    assert all(c == "\n" or 0x20 <= ord(c) < 0x7f or ord(c) > 0x9f for c in out)
    assert "a\\x1b[2Jb" in out and "c\\rd" in out and "e\\x00f" in out and "na\\x1bme" in out
    assert max(len(line) for line in out.splitlines()) < 100


def test_json_is_exact_and_inert(capsys):
    names = ["\x1b[31mred", "rtl\u202e", "c1\x9b", "nul\x00", "plain é", "caf\udce9.wav"]
    output.print_json({"names": names})
    out = capsys.readouterr().out
    assert json.loads(out) == {"names": names}
    assert not any(c in out for c in "\x1b\u202e\x9b\x00")


def test_json_is_strict_json_nan_and_infinities_are_null(capsys):
    """`musim sql "SELECT 'nan'::DOUBLE" --json | jq` must parse: Python would write NaN and Infinity."""
    import numpy as np

    output.print_json({"rows": [float("nan"), float("inf"), -float("inf"), 1.5, np.float32(0.25), np.float64("nan")],
                       "nested": {"x": (float("nan"), np.int64(3))}})
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert parsed == {"rows": [None, None, None, 1.5, 0.25, None], "nested": {"x": [None, 3]}}


def test_counted_says_one_thing_and_many_things():
    assert output.counted(1, "file") == "1 file" and output.counted(0, "file") == "0 files"
    assert output.counted(12_345, "feature row") == "12,345 feature rows"


def test_a_small_float_never_reads_as_zero(capsys):
    """`musim sql "SELECT 0.00001::DOUBLE"` printed 0.0000, and -0.00004 as -0.0000."""
    from musim.cli.output import print_table

    print_table([(0.00001, -0.00004, 0.0, 0.5, 1234.5)], ["a", "b", "c", "d", "e"])
    assert capsys.readouterr().out.splitlines()[-1].split() == ["1e-05", "-4e-05", "0.0000", "0.5000", "1,234"]
