import hashlib

from musim.ingest.prescan import MARKER, prescan
from tests.lastfm_files import write_lines


def _joined(scan) -> bytes:
    return b"".join(p.path.read_bytes() for p in scan.parts)


def test_clean_file_is_hashed_counted_and_copied_as_is(tmp_path):
    path = write_lines(tmp_path / "a.tsv", ["x\ty", "z\tw"])
    scan = prescan(path, parts_dir=tmp_path)
    assert scan.lines == 2 and not scan.rejected and scan.lone_cr_lines == 0
    assert scan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert _joined(scan) == path.read_bytes()


def test_irregular_lines_keep_their_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr("musim.ingest.prescan.CHUNK_BYTES", 16)  # many blocks: exercise the block seams
    lines = [b"", b"one\tok", b"two\r(live)\tok", b"", b"bad\xff\tbyte", b"last\tline"]
    path = write_lines(tmp_path / "a.tsv", lines, newline_at_end=False)
    scan = prescan(path, parts_dir=tmp_path, part_bytes=20)
    assert scan.lines == 6
    assert [(r.line_no, r.reason.split(" (")[0]) for r in scan.rejected] == [
        (1, "blank line"), (4, "blank line"), (5, "invalid UTF-8")]
    assert scan.rejected[2].raw == "bad\\xff\tbyte"
    assert scan.lone_cr_lines == 1
    assert _joined(scan).split(b"\n")[:6] == [MARKER, b"one\tok", b"two (live)\tok", MARKER, MARKER, b"last\tline"]
    # parts are whole lines and know where they start
    assert len(scan.parts) > 1 and scan.parts[0].first_line == 1
    assert sum(p.lines for p in scan.parts) == 6
    for a, b in zip(scan.parts, scan.parts[1:], strict=False):
        assert b.first_line == a.first_line + a.lines


def test_long_lines_grow_the_buffer(tmp_path, monkeypatch):
    monkeypatch.setattr("musim.ingest.prescan.CHUNK_BYTES", 8)
    path = write_lines(tmp_path / "a.tsv", ["x" * 100, "y\tz"])
    scan = prescan(path, parts_dir=tmp_path)
    assert scan.lines == 2 and _joined(scan) == path.read_bytes()


def test_gzip_hashes_the_content(tmp_path):
    plain = write_lines(tmp_path / "a.tsv", ["x\ty"] * 5)
    packed = write_lines(tmp_path / "a.tsv.gz", ["x\ty"] * 5, gz=True)
    assert prescan(plain).sha256 == prescan(packed).sha256
    assert prescan(packed).lines == 5
