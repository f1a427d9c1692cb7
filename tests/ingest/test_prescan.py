from musim.ingest.prescan import MARKER, prescan
from tests.lastfm_files import write_lines


def test_clean_file_needs_no_copy(tmp_path):
    path = write_lines(tmp_path / "a.tsv", ["x\ty", "z\tw"])
    scan = prescan(path, sanitised_path=tmp_path / "copy.tsv")
    assert scan.lines == 2 and not scan.needs_sanitising and not (tmp_path / "copy.tsv").exists()
    assert scan.sha256 == __import__("hashlib").sha256(path.read_bytes()).hexdigest()


def test_irregular_lines_keep_their_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr("musim.ingest.prescan.CHUNK_BYTES", 16)  # many blocks: exercise the block seams
    lines = [b"", b"one\tok", b"two\r(live)\tok", b"", b"bad\xff\tbyte", b"last\tline"]
    path = write_lines(tmp_path / "a.tsv", lines, newline_at_end=False)
    scan = prescan(path, sanitised_path=tmp_path / "copy.tsv")
    assert scan.lines == 6
    assert [(r.line_no, r.reason.split(" (")[0]) for r in scan.rejected] == [
        (1, "blank line"), (4, "blank line"), (5, "invalid UTF-8")]
    assert scan.rejected[2].raw == "bad\\xff\tbyte"
    assert scan.lone_cr_lines == 1
    copy = (tmp_path / "copy.tsv").read_bytes().split(b"\n")
    assert copy[:6] == [MARKER, b"one\tok", b"two (live)\tok", MARKER, MARKER, b"last\tline"]


def test_gzip_hashes_the_content(tmp_path):
    plain = write_lines(tmp_path / "a.tsv", ["x\ty"] * 5)
    packed = write_lines(tmp_path / "a.tsv.gz", ["x\ty"] * 5, gz=True)
    assert prescan(plain).sha256 == prescan(packed).sha256
    assert prescan(packed).lines == 5
