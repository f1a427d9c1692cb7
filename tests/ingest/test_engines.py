"""The two 360K engines: chosen by MUSIM_INGEST_ENGINE or by what is built; identical tables from both."""

from __future__ import annotations

import dataclasses
import gzip
import logging

import pytest

from musim.errors import ConfigError
from musim.ingest import engines
from musim.ingest.lastfm import ingest_lastfm
from tests.ingest.corpus import QUIRK_LINES
from tests.ingest.engine_tables import ingest_with, needs_c_scanner, physical_lines, settings_for
from tests.lastfm_files import tiny_dump, write_lines
from tests.native_engines import not_built


@pytest.fixture
def no_c_scanner(monkeypatch):
    """As on a machine where the C scanner was not built: importing it fails."""
    yield from not_built(monkeypatch, engines.SCANNER)


@needs_c_scanner
def test_the_c_scanner_is_the_default_where_it_is_built(monkeypatch):
    monkeypatch.delenv(engines.ENV, raising=False)
    assert engines.choose_engine() == "c"
    monkeypatch.setenv(engines.ENV, "duckdb")
    assert engines.choose_engine() == "duckdb"
    assert engines.choose_engine("c") == "c"


def test_without_the_c_scanner_duckdb_reads_360k_files_and_says_so(tmp_path, monkeypatch, no_c_scanner, caplog):
    monkeypatch.delenv(engines.ENV, raising=False)
    with caplog.at_level(logging.INFO, logger="musim.ingest.engines"):
        result = ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    assert (result.engine, result.loaded, result.rejected) == ("duckdb", 9, 0)
    assert "the C scanner is not built" in caplog.text
    with pytest.raises(ConfigError, match="MUSIM_INGEST_ENGINE=c but the C scanner is not built"):
        engines.choose_engine("c")


def test_an_unknown_engine_is_a_config_error(monkeypatch):
    monkeypatch.setenv(engines.ENV, "rust")
    with pytest.raises(ConfigError, match="MUSIM_INGEST_ENGINE must be one of auto, c, duckdb, got 'rust'"):
        engines.choose_engine()
    with pytest.raises(ConfigError, match="'rust' is not an ingest engine: use c, duckdb or auto"):
        engines.choose_engine("rust")


@needs_c_scanner
@pytest.mark.parametrize("gz", [False, True])
def test_both_engines_load_identical_tables_from_the_quirk_file(tmp_path, gz):
    path = write_lines(tmp_path / "quirks.tsv", QUIRK_LINES, newline_at_end=False, gz=gz)
    c_result, c_tables = ingest_with("c", path, tmp_path / "c")
    duck_result, duck_tables = ingest_with("duckdb", path, tmp_path / "duckdb")
    assert (c_result.engine, duck_result.engine) == ("c", "duckdb")
    assert dataclasses.replace(c_result, seconds=0, engine="") == dataclasses.replace(duck_result, seconds=0,
                                                                                      engine="")
    assert c_tables == duck_tables
    data = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    assert c_result.lines == physical_lines(data) == len(QUIRK_LINES)
    assert c_result.loaded + c_result.rejected == c_result.lines
    assert c_result.rejected == len(c_tables["ingest_rejects"]) >= 20  # the quirks are there


@needs_c_scanner
@pytest.mark.parametrize("gz", [False, True])
def test_both_engines_skip_a_byte_order_mark_before_line_1(tmp_path, gz):
    """A dump saved by an editor that writes a UTF-8 BOM: line 1 is a play like the others, in both engines."""
    plain = tiny_dump(tmp_path / "plain.tsv")
    bom = tmp_path / ("bom.tsv.gz" if gz else "bom.tsv")
    data = b"\xef\xbb\xbf" + plain.read_bytes()
    bom.write_bytes(gzip.compress(data) if gz else data)
    results = {}
    for engine in ("c", "duckdb"):
        result, tables = ingest_with(engine, bom, tmp_path / engine)
        plays = [row[1:] for row in tables["lastfm_plays"]]  # without the dump id (the file's sha256)
        results[engine] = (result.lines, result.loaded, result.rejected, plays, tables["ingest_rejects"])
    assert results["c"] == results["duckdb"]
    _, plain_tables = ingest_with("c", plain, tmp_path / "plain")
    plain_plays = [row[1:] for row in plain_tables["lastfm_plays"]]
    assert results["c"][1:] == (9, 0, plain_plays, [])  # line 1 loaded, as without the mark


@needs_c_scanner
def test_backslashes_in_a_line_are_text_to_both_engines(tmp_path):
    """The DuckDB engine split lines at the two characters backslash and r (its CSV delimiter was written '\\r',
    which DuckDB does not read as a carriage return): "DJ \\real" was rejected as too few fields, and a rejected
    line lost its text from there on (found by the fuzz test)."""
    user = "b" * 40
    lines = [f"{user}\t\tDJ \\real\t5", f"{user}\t\tC:\\new\\tracks\t2", "ab\\rcd", "\\r(?!\\n)"]
    path = write_lines(tmp_path / "backslashes.tsv", lines)
    results = {}
    for engine in ("c", "duckdb"):
        result, tables = ingest_with(engine, path, tmp_path / engine)
        results[engine] = (result.loaded, tables["artist"], tables["ingest_rejects"])
    assert results["c"] == results["duckdb"]
    loaded, artists, rejects = results["duckdb"]
    assert loaded == 2 and {a[3] for a in artists} == {"DJ \\real", "C:\\new\\tracks"}
    assert [(r[2], r[4]) for r in rejects] == [(3, "ab\\rcd"), (4, "\\r(?!\\n)")]


def _gzip_with_comment(data: bytes) -> bytes:
    """``data`` gzipped with a comment in its header (the FCOMMENT field, which `gzip` reads and DuckDB does not)."""
    import struct
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = packer.compress(data) + packer.flush()
    header = b"\x1f\x8b\x08\x10" + bytes(5) + b"\x03" + b"exported by a mirror\x00"
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


#: gzip files that `gunzip` and Python's reader read whole and DuckDB's reader refuses.
ODD_GZIP = {"zero-padded": lambda data: gzip.compress(data) + bytes(4096), "commented": _gzip_with_comment}


@needs_c_scanner
@pytest.mark.parametrize("odd", sorted(ODD_GZIP))
def test_a_gzip_file_duckdb_cannot_read_loads_in_both_engines_and_in_1k(tmp_path, odd):
    """Zero bytes after a gzip file's last member (a block-padded copy or download; `gunzip` skips them, as Python's
    reader does), or a comment in its header: the C engine loaded the dump, the DuckDB engine (and so every 1K
    file) refused it, "DuckDB could not read it (IO Error: Input is not a GZIP stream; Unsupported GZIP archive);
    nothing was stored. Download the file again."."""
    plain = tiny_dump(tmp_path / "plain.tsv")
    padded = tmp_path / "padded.tsv.gz"
    padded.write_bytes(ODD_GZIP[odd](plain.read_bytes()))
    results = {}
    for engine in ("c", "duckdb"):
        result, tables = ingest_with(engine, padded, tmp_path / engine)
        assert not isinstance(result, str), result
        results[engine] = (result.dump_id, result.lines, result.loaded, result.rejected, tables)
    assert results["c"] == results["duckdb"]
    _, plain_tables = ingest_with("c", plain, tmp_path / "plain")
    assert results["c"][1:] == (9, 9, 0, plain_tables)  # the same dump as the file unpadded
    events = "".join(f"user_00000{u}\t2009-05-04T23:08:57Z\t\tArtist {a}\t\tTrack\n" for u in (1, 2) for a in "ABA")
    padded_1k = tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv.gz"
    padded_1k.write_bytes(ODD_GZIP[odd](events.encode()))
    result = ingest_lastfm(padded_1k, settings=settings_for(tmp_path / "1k"))
    assert (result.format, result.lines, result.loaded, result.rejected, result.plays_rows) == ("1k", 6, 6, 0, 4)
