"""Fuzz and property tests of the Last.FM parsers (untrusted input): hypothesis-generated 360K files go
through both engines, which must agree on every table; 1K files keep every line accounted for.

Bounded for `make test`: ``MUSIM_FUZZ_EXAMPLES`` (default 20) examples per ingest property, five times that
for the scanner-only one. Raise it for a deeper run, e.g. ``MUSIM_FUZZ_EXAMPLES=500 pytest tests/ingest/test_fuzz.py``.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from musim import warehouse
from musim.ingest import prescan as prescan_module
from musim.ingest.lastfm import ingest_lastfm
from musim.ingest.prescan import prescan
from tests.ingest.corpus import events_file, plays_file
from tests.ingest.engine_tables import ingest_with, needs_c_scanner, physical_lines, settings_for

EXAMPLES = int(os.environ.get("MUSIM_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Blocks of a few bytes (lines cut across blocks, lines longer than a block) as well as the usual size.
CHUNKS = st.sampled_from([5, 64, 4096, prescan_module.CHUNK_BYTES])


def _write(folder: Path, data: bytes, gz: bool) -> Path:
    path = folder / ("plays.tsv.gz" if gz else "plays.tsv")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.slow
@needs_c_scanner
@FUZZ
@given(data=plays_file(), gz=st.booleans(), chunk=CHUNKS)
@example(data=b"\xef\xbb\xbf", gz=False, chunk=5)  # only a byte-order mark: an empty file (found by CI)
@example(data=b"\xef\xbb\xbf\n", gz=True, chunk=5)  # a mark, then one empty line
# a backslash and an r are text, in a play and in a rejected line (found here)
@example(data=b"a" * 40 + b"\t\tDJ \\real\t1\nab\\rcd\r\n", gz=True, chunk=5)
def test_both_engines_load_the_same_tables_and_account_for_every_line(data, gz, chunk):
    """Each example in new warehouses: a difference left by one example made every later one fail too, and
    hypothesis then reported the simplest of those (an empty file) instead of the example that differed."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(prescan_module, "CHUNK_BYTES", chunk):
        path = _write(Path(tmp), data, gz)
        c_outcome, c_tables = ingest_with("c", path, Path(tmp) / "c")
        duck_outcome, duck_tables = ingest_with("duckdb", path, Path(tmp) / "duckdb")
    assert c_tables == duck_tables
    lines = physical_lines(data)
    if isinstance(c_outcome, str):  # refused: empty, or every line rejected (and nothing stored)
        assert c_outcome == duck_outcome
        assert ("is empty" in c_outcome) == (lines == 0)
        return
    assert (c_outcome.lines, c_outcome.loaded, c_outcome.rejected, c_outcome.dump_id) == \
        (duck_outcome.lines, duck_outcome.loaded, duck_outcome.rejected, duck_outcome.dump_id)
    assert c_outcome.loaded + c_outcome.rejected == c_outcome.lines == lines
    line_nos = [r[2] for r in c_tables["ingest_rejects"] if r[0] == c_outcome.dump_id]
    assert len(set(line_nos)) == len(line_nos) == c_outcome.rejected and set(line_nos) <= set(range(1, lines + 1))


@needs_c_scanner
@settings(FUZZ, max_examples=EXAMPLES * 5)
@given(data=plays_file(), chunk=CHUNKS)
def test_the_c_scanner_and_the_python_prescan_reject_the_same_lines(data, chunk):
    """The pre-scan rules (musim.ingest.prescan_rules), as C and as numpy: same lines, same reasons."""
    from musim.ingest.plays_360k import scan_360k

    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(prescan_module, "CHUNK_BYTES", chunk):
        path = _write(Path(tmp), data, gz=False)
        by_c, _ = scan_360k(path)
        by_python = prescan(path)
    assert by_c.lines == by_python.lines == physical_lines(data)
    assert by_c.sha256 == by_python.sha256
    assert [(r.line_no, r.reason, r.raw) for r in by_c.rejected] == \
        [(r.line_no, r.reason, r.raw) for r in by_python.rejected]


@pytest.mark.slow
@FUZZ
@given(data=events_file())
def test_a_1k_file_keeps_every_line_loaded_or_rejected_once(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), data, gz=False)
        conf = settings_for(Path(tmp) / "home")
        try:
            result = ingest_lastfm(path, fmt="1k", settings=conf)
        except Exception as exc:  # only a refusal (every line rejected) may stop it
            assert "rejected (" in str(exc) and "nothing was stored" in str(exc), exc
            return
        with warehouse.writer(conf) as con:
            rejected = [r[0] for r in con.execute("SELECT line_no FROM ingest_rejects ORDER BY 1").fetchall()]
            loaded = con.execute("SELECT sum(lines) FROM lastfm_plays").fetchone()[0]
    lines = physical_lines(data)
    assert result.lines == lines and result.loaded + result.rejected == lines
    assert loaded == result.loaded and len(rejected) == len(set(rejected)) == result.rejected
    assert set(rejected) <= set(range(1, lines + 1))
