"""The pre-scan rules are written once: the C header is generated from them, and they are Python's UTF-8."""

from __future__ import annotations

import itertools

import numpy as np

from musim.ingest import prescan_rules
from musim.ingest.prescan import BLANK_LINE, _utf8_error_offsets


def test_the_c_header_is_generated_from_the_rules():
    assert prescan_rules.HEADER.read_text() == prescan_rules.render_header(), \
        "musim/ingest/_prescan_rules.h is stale: run `python -m musim.ingest.prescan_rules` and `make install`"


def _valid(seq: bytes) -> bool:
    try:
        seq.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_the_utf8_table_is_pythons_decoder_for_every_lead_and_second_byte():
    sequences = []
    for lead, second in itertools.product(range(0x80, 0x100), range(0x100)):
        need, lo, hi = prescan_rules.UTF8_LEAD[lead]
        seq = bytes([lead, second]) + b"\x80" * max(need - 1, 0)
        assert (need > 0 and lo <= second <= hi) == _valid(seq), (hex(lead), hex(second))
        sequences.append(seq)
    # the vectorised check built on the table (musim.ingest.prescan), all sequences in one block
    block = b"\n".join(sequences)
    starts = np.cumsum([0] + [len(s) + 1 for s in sequences[:-1]])
    flagged = set(np.searchsorted(starts, _utf8_error_offsets(memoryview(block)), side="right") - 1)
    assert [i in flagged for i in range(len(sequences))] == [not _valid(s) for s in sequences]


def test_a_blank_line_is_made_of_blank_bytes_only():
    assert all(BLANK_LINE.fullmatch(line) for line in (b"", b" ", b"\t\t", b" \r\t"))
    assert not any(BLANK_LINE.fullmatch(line) for line in (b"x", b" \x00", b"\xc2\xa0", b"\x0b"))


def test_help_prints_usage_and_writes_nothing():
    """`python -m musim.ingest.prescan_rules --help` ignored its arguments and rewrote the header."""
    import subprocess
    import sys

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "musim.ingest.prescan_rules", *argv], capture_output=True,
                              text=True, timeout=60)

    before = prescan_rules.HEADER.stat().st_mtime_ns
    helped, refused = run("--help"), run("--bogus")
    assert helped.returncode == 0 and "Regenerate musim/ingest/_prescan_rules.h" in " ".join(helped.stdout.split())
    assert refused.returncode == 2 and refused.stderr.splitlines() == [  # one line, as every entry point's
        "python -m musim.ingest.prescan_rules: error: unrecognized arguments: --bogus; see "
        "`python -m musim.ingest.prescan_rules --help`"]
    assert prescan_rules.HEADER.stat().st_mtime_ns == before
