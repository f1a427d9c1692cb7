import hashlib
import random

import numpy as np
import pytest

from musim.ingest import prescan as prescan_module
from musim.ingest.prescan import CHUNK_BYTES, Prescan, classify_line, prescan, read_blocks
from musim.ingest.prescan_rules import MAX_LINE_BYTES
from tests.lastfm_files import write_lines


def test_clean_file_is_hashed_and_counted(tmp_path):
    path = write_lines(tmp_path / "a.tsv", ["x\ty", "z\tw"])
    scan = prescan(path)
    assert scan.lines == 2 and scan.bytes == path.stat().st_size
    assert not scan.rejected and not scan.fixed and not scan.irregular
    assert scan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_irregular_lines_keep_their_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr("musim.ingest.prescan.CHUNK_BYTES", 16)  # many blocks: exercise the block seams
    lines = [b"", b"one\tok", b"two\r(live)\tok", b"", b"", b"bad\xff\tbyte", b"last\tline", b"", b" \t\r "]
    path = write_lines(tmp_path / "a.tsv", lines, newline_at_end=False)
    scan = prescan(path)
    assert scan.lines == 9
    assert [(r.line_no, r.reason.split(" (")[0]) for r in scan.rejected] == [
        (1, "blank line"), (4, "blank line"), (5, "blank line"), (6, "invalid UTF-8"), (8, "blank line"),
        (9, "blank line")]
    assert scan.rejected[3].raw == "bad\\xff\tbyte"
    assert [(f.line_no, f.text) for f in scan.fixed] == [(3, b"two (live)\tok")]
    assert list(scan.irregular) == [(i + 1, lines[i]) for i in (0, 2, 3, 4, 5, 7, 8)]


def test_blank_line_at_the_start_of_a_block_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr("musim.ingest.prescan.CHUNK_BYTES", 8)
    path = write_lines(tmp_path / "a.tsv", [b"abcdefg", b"", b"x"])  # the 2nd read starts at the empty line
    scan = prescan(path)
    assert [(r.line_no, r.reason) for r in scan.rejected] == [(2, "blank line")]


def test_long_lines_grow_the_buffer(tmp_path, monkeypatch):
    monkeypatch.setattr("musim.ingest.prescan.CHUNK_BYTES", 8)
    path = write_lines(tmp_path / "a.tsv", ["x" * 100, "y\tz\r!"])
    scan = prescan(path)
    assert scan.lines == 2 and [(f.line_no, f.text) for f in scan.fixed] == [(2, b"y\tz !")]


def test_a_line_far_too_long_is_not_held_whole_yet_hashed_and_rejected_whole(tmp_path):
    """A line without a newline was held whole in memory however long it was: a gzip bomb of a few megabytes
    (gigabytes of one line) filled memory. Only its first ``MAX_LINE_BYTES + 1`` bytes are held now."""
    lines = [b"a\tb", b"x" * (2 * CHUNK_BYTES + 12345), b"c\td"]
    path = write_lines(tmp_path / "a.tsv", lines)
    blocks: list[int] = []
    scan = Prescan(path=path, sha256="", bytes=0, lines=0)
    read_blocks(path, scan, lambda block: blocks.append(len(block)))
    assert max(blocks) <= MAX_LINE_BYTES + 1 + CHUNK_BYTES
    assert scan.bytes == path.stat().st_size
    assert scan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    full = prescan(path)
    assert full.lines == 3 and [r.line_no for r in full.rejected] == [2]
    assert full.rejected[0].raw == "x" * 1000 and full.sha256 == scan.sha256


def test_gzip_hashes_the_content(tmp_path):
    plain = write_lines(tmp_path / "a.tsv", ["x\ty"] * 5)
    packed = write_lines(tmp_path / "a.tsv.gz", ["x\ty"] * 5, gz=True)
    assert prescan(plain).sha256 == prescan(packed).sha256
    assert prescan(packed).lines == 5


def test_utf8_check_agrees_with_python_decoding_line_by_line():
    """The vectorised UTF-8 check flags exactly the lines ``bytes.decode`` refuses (random and edge cases)."""
    import random

    from musim.ingest.prescan import _utf8_error_offsets

    edge = [b"caf\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x8e\xb5", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80", b"\xf5\x80", b"\xc3", b"\xe2\x82", b"\x80", b"\xc3\xa9\xa9", b"\xef\xbf\xbf",
            b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xed\x9f\xbf", b"\xc2\x80", b"\xdf\xbf"]
    rng = random.Random(3)
    alphabet = [0x41, 0x20, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
    lines = edge + [bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(4000)]
    block = b"\n".join(lines) + b"\n"
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    flagged = {int(np.searchsorted(starts, off, side="right")) - 1 for off in _utf8_error_offsets(memoryview(block))}

    def invalid(raw: bytes) -> bool:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False

    assert flagged == {i for i, line in enumerate(lines) if invalid(line)}


def test_lone_carriage_returns_found_in_few_and_in_crlf_blocks():
    from musim.ingest.prescan import _lone_cr_offsets

    few = bytearray(b"a\rb\r\nc\r")
    assert _lone_cr_offsets(few, len(few)) == [1, 6]
    crlf = bytearray(b"x\r\n" * 2000 + b"y\rz\n")
    assert _lone_cr_offsets(crlf, len(crlf)) == [6001]


def test_the_longest_line_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr("musim.ingest.prescan.CHUNK_BYTES", 16)
    path = write_lines(tmp_path / "a.tsv", ["ab", "x" * 40, "", "abc"], newline_at_end=False)
    assert prescan(path).longest_line == (40, 2)


def _one_line_at_a_time(buf, end, line_nos, starts, stops, scan):
    """The reference: every irregular line through classify_line, as the pre-scan did before its runs of empty
    lines were rejected in one go."""
    for i in range(len(line_nos)):
        classify_line(bytes(buf[int(starts[i]):int(stops[i])]), int(line_nos[i]), scan, newline=int(stops[i]) < end)


@pytest.mark.parametrize("seed", range(12))
def test_runs_of_empty_lines_are_rejected_as_one_line_at_a_time(tmp_path, monkeypatch, seed):
    """The pre-scan's runs of empty lines (nothing, or a CR before the newline) give the rejected, irregular and
    fixed lines that classifying each line gives: beside blank lines of spaces, lone CRs, invalid UTF-8, a CR at
    the very end of a file without its last newline, and runs across its blocks."""
    rng = random.Random(seed)
    kinds = [b"", b"", b"", b"\r", b"\r", b"  \t", b"a\tb\tc\t1", b"x\ry\tz", b"bad\xff\tline", b"ok\tline", b" \r"]
    lines = [rng.choice(kinds) for _ in range(rng.randint(1, 3000))]
    data = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else rng.choice([b"", b"\r"]))
    path = tmp_path / "plays.tsv"
    path.write_bytes(data)
    monkeypatch.setattr(prescan_module, "CHUNK_BYTES", rng.choice([64, 1024, 1 << 20]))
    fast = prescan(path)
    monkeypatch.setattr(prescan_module, "_classify_block", _one_line_at_a_time)
    slow = prescan(path)
    assert fast.lines == slow.lines and fast.longest_line == slow.longest_line
    assert list(fast.rejected) == list(slow.rejected) and list(fast.irregular) == list(slow.irregular)
    assert list(fast.fixed) == list(slow.fixed)
