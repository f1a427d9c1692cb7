"""Broken dumps are refused with one clear line, and nothing of them is stored (issue 15, items 2, 3, 8)."""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import lzma
import os
import shutil
import subprocess
import zlib

import pytest

from musim import warehouse
from musim.cli import main
from musim.errors import IngestError
from musim.ingest.landing import LandedDump, ingest_landed, new_dumps
from musim.ingest.lastfm import ingest_lastfm
from tests.ingest.engine_tables import needs_c_scanner
from tests.lastfm_files import MB_A, U1, U2, tiny_dump, write_lines


@pytest.fixture(autouse=True, params=[pytest.param("c", marks=needs_c_scanner), "duckdb"])
def engine(request, monkeypatch):
    """Every refusal on both 360K engines."""
    monkeypatch.setenv("MUSIM_INGEST_ENGINE", request.param)
    return request.param


def _stored(con) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("lastfm_dump", "lastfm_plays", "lastfm_user", "artist", "ingest_rejects", "lastfm_profile")}


def _nothing_stored():
    with warehouse.writer() as con:
        assert set(_stored(con).values()) == {0}


@pytest.mark.parametrize("fmt", ["auto", "360k", "1k"])
def test_an_empty_file_is_refused(tmp_path, fmt):
    path = tmp_path / "usersha1-artmbid-artname-plays.tsv"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match="is empty"):
        ingest_lastfm(path, fmt=fmt)
    _nothing_stored()


@pytest.mark.parametrize("fmt, lines", [
    ("360k", [f"{U1}\tFoo\t5", "", f"{U2}\t{MB_A}\tFoo\t-1", b"\xff\xfe\t\t\t1"]),
    ("1k", [f"{U1}\t2009-05-04T23:08:57Z\t{MB_A}\tFoo", f"{U1}\tnot a time\t{MB_A}\tFoo\t\tTrack"]),
])
def test_a_file_whose_every_line_is_rejected_is_refused_and_says_why(tmp_path, fmt, lines):
    tiny = ingest_lastfm(tiny_dump(tmp_path / "good.tsv"))
    with pytest.raises(IngestError, match=rf"all {len(lines)} lines were rejected \(.*first: line 1") as err:
        ingest_lastfm(write_lines(tmp_path / "bad.tsv", lines), fmt=fmt)
    assert "nothing was stored" in str(err.value) and "\n" not in str(err.value)
    with warehouse.writer() as con:  # the good dump stays the only one, so it stays the default
        assert con.execute("SELECT dump_id FROM lastfm_dump").fetchall() == [(tiny.dump_id,)]
        assert con.execute("SELECT DISTINCT dump_id FROM ingest_rejects").fetchall() == []


def test_a_profiles_file_whose_every_line_is_rejected_is_refused(tmp_path):
    plays = tiny_dump(tmp_path / "plays.tsv")
    with pytest.raises(IngestError, match=r"profiles.tsv: all 9 lines were rejected"):
        ingest_lastfm(plays, profiles=tiny_dump(tmp_path / "profiles.tsv"))
    _nothing_stored()


def test_a_profiles_file_whose_every_line_is_rejected_is_named_as_the_profiles_file(tmp_path, capsys):
    """It was asked whether it was "the right file and format (--format)": it is the --profiles file that is wrong."""
    plays = tiny_dump(tmp_path / "plays.tsv")
    profiles = write_lines(tmp_path / "profiles.tsv", ["nonsense", "more nonsense"])
    assert main(["ingest", "lastfm", str(plays), "--profiles", str(profiles)]) == 2
    err = capsys.readouterr().err
    assert "profiles.tsv: all 2 lines were rejected" in err and "--format" not in err
    assert "the profiles file" in err and "--profiles" in err and err.count("\n") == 1
    _nothing_stored()


@pytest.mark.parametrize("compress, name, command", [
    (lambda d: bz2.compress(d), "bzip2", "bunzip2"), (lambda d: lzma.compress(d), "xz", "unxz"),
    (lambda d: subprocess.run(["zstd", "-c"], input=d, capture_output=True, check=True).stdout, "zstd", "unzstd")])
@pytest.mark.parametrize("role", ["plays", "profiles"])
def test_a_bzip2_xz_or_zstd_dump_says_to_decompress_it(tmp_path, capsys, compress, name, command, role):
    """A .bz2 dump was read as text: "all 2 lines were rejected (2 invalid UTF-8 ...) ... Is this the right file"."""
    if name == "zstd" and shutil.which("zstd") is None:
        pytest.skip("no zstd command to make the file")
    plays = tiny_dump(tmp_path / "usersha1-artmbid-artname-plays.tsv")
    squeezed = tmp_path / f"usersha1-{'profile' if role == 'profiles' else 'artmbid-artname-plays'}.tsv.{name}"
    source = plays if role == "plays" else write_lines(tmp_path / "p.tsv", [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"])
    squeezed.write_bytes(compress(source.read_bytes()))
    args = [str(squeezed)] if role == "plays" else [str(plays), "--profiles", str(squeezed)]
    for fmt in ("auto", "360k"):
        assert main(["ingest", "lastfm", *args, "--format", fmt]) == 2
        err = capsys.readouterr().err
        assert err == (f"musim: error: {squeezed} is {name}-compressed: decompress it ({command} {squeezed}) or "
                       "recompress it with gzip; nothing was stored\n")
    _nothing_stored()


def test_a_text_dump_starting_like_bzip2_is_still_text(tmp_path):
    path = write_lines(tmp_path / "d.tsv", ["BZh9 band\tx\ty\t1", f"{U1}\t{MB_A}\tFoo\t5"])
    result = ingest_lastfm(path, fmt="360k")
    assert (result.loaded, result.rejected) == (1, 1)


@pytest.mark.parametrize("fmt", ["360k", "1k"])
def test_a_line_too_long_is_rejected_and_the_rest_loads(tmp_path, fmt):
    """One 50 MB line refused the whole dump ("line 2 is 50,000,044 bytes long ... Nothing was stored")."""
    if fmt == "360k":
        head, tail = f"{U1}\t{MB_A}\t", "\t3"
    else:
        head, tail = "user_000001\t2009-05-04T23:08:57Z\t\t", "\t\tTrack"
    def line(width: int, cr: bool = False) -> bytes:  # a line of ``width`` bytes before its newline
        return (head + "x" * (width - len(head) - len(tail) - cr) + tail + "\r" * cr).encode()
    lines = [line(60), line(50_000_000), line(1_999_999), line(2_000_000), line(1_999_999, cr=True),
             line(2_000_000, cr=True), line(70)]
    result = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines), fmt=fmt)
    assert (result.lines, result.loaded, result.rejected) == (7, 4, 3)
    with warehouse.writer() as con:
        rejects = con.execute("SELECT line_no, reason, raw FROM ingest_rejects ORDER BY line_no").fetchall()
    assert [r[0] for r in rejects] == [2, 4, 6]
    assert {r[1] for r in rejects} == {"line too long (over 1,999,999 bytes; its first 1,000 bytes are kept)"}
    assert all(raw == lines[n - 1][:1000].decode() for n, _, raw in rejects)


def test_the_raw_text_of_a_line_with_invalid_bytes_tells_its_bytes_exactly(tmp_path, capsys):
    """The byte 0xE9 and a line's own text \\xe9 were both kept as \\xe9 (backslashreplace, the backslash itself
    left as is): a rejected line's bytes could not be told from its raw text."""
    lines = [f"{U1}\t{MB_A}\tcaf".encode() + b"\xe9\t-1", f"{U2}\t{MB_A}\tcaf\\xe9\t-1",
             f"{U1}\t{MB_A}\tback\\slash \\xe9 caf".encode() + b"\xe9\t1", f"{U2}\t{MB_A}\tFoo\t1"]
    path = write_lines(tmp_path / "usersha1-artmbid-artname-plays.tsv", lines)
    assert main(["ingest", "lastfm", str(path)]) == 0
    capsys.readouterr()
    assert main(["rejects", "--json"]) == 0
    rejects = json.loads(capsys.readouterr().out)
    assert [(r["line_no"], r["raw"], r["raw_escaped"]) for r in rejects] == [
        (1, f"{U1}\t{MB_A}\tcaf\\xe9\t-1", True), (2, f"{U2}\t{MB_A}\tcaf\\xe9\t-1", False),
        (3, f"{U1}\t{MB_A}\tback\\\\slash \\\\xe9 caf\\xe9\t1", True)]
    for r in rejects:  # the escaped ones read back to their bytes exactly
        raw = codecs.escape_decode(r["raw"].encode())[0] if r["raw_escaped"] else r["raw"].encode()
        want = lines[r["line_no"] - 1]
        assert raw == (want if isinstance(want, bytes) else want.encode())


@pytest.mark.parametrize("fmt", ["360k", "1k"])
def test_an_artist_name_with_a_control_character_is_rejected(tmp_path, fmt):
    """NUL, C0 control characters and DEL loaded as artist names (nul\\x00band, an OSC escape that retitles a
    terminal), and C1 ones (U+0080-U+009F), which were loaded: 'Guns N\\x92 Roses' is Windows-1252's curly quote
    read as Latin-1, an artist apart from 'Guns N\u2019 Roses', and U+009B is a terminal's CSI. Each is rejected
    with its reason, on both engines, in both formats; the right quote and the no-break space (U+00A0, just past
    the C1 block) load."""
    names = ["nul\x00band", "\x1b]0;pwned\x07 Artist", "Foo\x0b", "\x01", "Del\x7f", "Guns N\x92 Roses",
             "\x9b31mRed", "Ellipsis\x85", "\x80uro", "Good Artist", "Guns N\u2019 Roses", "Sigur\u00a0R\u00f3s"]
    if fmt == "360k":
        lines = [f"{U1}\t{mbid}\t{name}\t3" for name in names for mbid in ("", MB_A)]
    else:
        lines = [f"user_000001\t2009-05-04T23:08:57Z\t{mbid}\t{name}\t\tTrack" for name in names for mbid in ("", MB_A)]
    result = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines), fmt=fmt)
    assert (result.lines, result.loaded, result.rejected) == (24, 6, 18)
    with warehouse.writer() as con:
        rejects = con.execute("SELECT line_no, reason FROM ingest_rejects ORDER BY line_no").fetchall()
        stored = {r[0] for r in con.execute("SELECT raw_name FROM artist_name_variant").fetchall()}
    c1 = "C1 control character in artist name (U+0080-U+009F: Windows-1252 text read as Latin-1?)"
    assert rejects == [(n, "control character in artist name") for n in range(1, 11)] + \
        [(n, c1) for n in range(11, 19)]
    assert stored == {"Good Artist", "Guns N\u2019 Roses", "Sigur\u00a0R\u00f3s"}


def test_an_empty_profiles_file_is_refused(tmp_path):
    (tmp_path / "profiles.tsv").write_bytes(b"")
    with pytest.raises(IngestError, match="profiles.tsv: the profiles file is empty"):
        ingest_lastfm(tiny_dump(tmp_path / "plays.tsv"), profiles=tmp_path / "profiles.tsv")
    _nothing_stored()


def test_the_cli_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "empty.tsv"
    path.write_bytes(b"")
    assert main(["ingest", "lastfm", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("musim: error: ") and "is empty" in err and "Traceback" not in err
    assert main(["dumps", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_the_ingest_dag_task_fails_clearly_and_tries_again_next_time(tmp_path, musim_home):
    landing = musim_home / "landing" / "lastfm" / "2026-12-01"
    path = write_lines(landing / "usersha1-artmbid-artname-plays.tsv", ["nonsense", "more nonsense"])
    [dump] = new_dumps()
    st = path.stat()
    assert dump == LandedDump(plays=str(path), profiles=None, size=st.st_size, mtime=st.st_mtime, changed=st.st_mtime)
    with pytest.raises(IngestError, match="all 2 lines were rejected"):
        ingest_landed(dump.to_json())  # what the lastfm_ingest DAG's ingest task calls
    _nothing_stored()
    assert new_dumps() == [dump]  # not remembered as ingested: a fixed file in its place is picked up


def _truncated_gz(tmp_path, name):
    data = "".join(f"{U1}\t{MB_A}\tArtist {i}\t{i}\n" for i in range(20_000)).encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data)[:-100])
    return path


@pytest.mark.parametrize("name, fmt", [("usersha1-artmbid-artname-plays.tsv.gz", "auto"), ("x.tsv.gz", "auto"),
                                       ("events.tsv.gz", "1k")])
def test_a_truncated_gzip_is_one_line_naming_the_file(tmp_path, name, fmt):
    path = _truncated_gz(tmp_path, name)
    with pytest.raises(IngestError, match=rf"{name}: the gzip stream is truncated or corrupt .*Download the file"):
        ingest_lastfm(path, fmt=fmt)
    _nothing_stored()


def _gzip_cut_mid_line(path, lines: list[str], keep: int, *, trailer_only: bool = False):
    """``lines`` gzipped into ``path``, cut as an unfinished download is: its stream decompresses to the text up to
    the last line's first ``keep`` characters (``1234`` read as ``12``), or (``trailer_only``) to every line whole,
    only the gzip trailer (CRC and size) missing."""
    text = "".join(f"{line}\n" for line in lines).encode()
    head = len(text) - len(lines[-1]) - 1 + keep
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # a gzip stream
    first = packer.compress(text if trailer_only else text[:head])
    first += packer.flush(zlib.Z_FINISH if trailer_only else zlib.Z_FULL_FLUSH)
    rest = b"" if trailer_only else packer.compress(text[head:]) + packer.flush()
    whole = first + rest
    assert gzip.decompress(whole) == text
    cut = whole[:-8] if trailer_only else first
    assert zlib.decompressobj(31).decompress(cut) == (text if trailer_only else text[:head])
    path.write_bytes(cut)
    return path


@pytest.mark.parametrize("trailer_only", [False, True], ids=["mid-line", "trailer"])
@pytest.mark.parametrize("kind", ["360k", "1k", "profiles"])
def test_a_gzip_file_cut_mid_line_is_refused_naming_it_never_loaded_short(tmp_path, kind, trailer_only):
    """A .gz download cut off mid-line (the last count 1234 read as 12) is one line naming the file, on both
    engines, for a plays, events or profiles file, and nothing is stored: its last line is never loaded cut. (A
    plain file cut so cannot be told from a complete one without a final newline: README, "Every line is
    accounted for".)"""
    if kind == "360k":
        lines = [f"{U1}\t{MB_A}\tArtist {i}\t{1000 + i}" for i in range(500)] + [f"{U2}\t{MB_A}\tArtist 1\t1234"]
    elif kind == "1k":
        lines = [f"user_000001\t2009-05-04T23:08:{i % 60:02d}Z\t\tArtist {i}\t\tT" for i in range(500)]
        lines.append("user_000002\t2009-05-04T23:08:57Z\t\tArtist 1\t\tTrack 1234")
    else:
        lines = [f"{U1[:-3]}{i:03d}\tm\t22\tSweden\tFeb 1, 2007" for i in range(500)] + \
            [f"{U2}\tf\t1234\tChile\tFeb 27, 2008"]
    keep = len(lines[-1]) - 2 if kind != "profiles" else len(lines[-1]) - 4  # ...\t12 | Feb 27, 20
    name = "usersha1-profile.tsv.gz" if kind == "profiles" else f"dump-{kind}.tsv.gz"
    cut = _gzip_cut_mid_line(tmp_path / name, lines, keep, trailer_only=trailer_only)
    with pytest.raises(IngestError, match=rf"{cut}: the gzip stream is truncated or corrupt .*nothing was stored"):
        if kind == "profiles":
            ingest_lastfm(tiny_dump(tmp_path / "d.tsv"), profiles=cut)
        else:
            ingest_lastfm(cut, fmt=kind)
    _nothing_stored()
    if kind == "360k" and not trailer_only:  # the same text, plain: the limit the README states
        plain = tmp_path / "dump-360k.tsv"
        plain.write_bytes(zlib.decompressobj(31).decompress(cut.read_bytes()))
        assert ingest_lastfm(plain).rejected == 0
        with warehouse.writer() as con:
            assert con.execute("SELECT p.plays FROM lastfm_plays p JOIN lastfm_user u USING (user_id) "
                               "WHERE u.user_key = ?", [U2]).fetchall() == [(12,)]


def test_a_corrupt_gzip_is_one_line(tmp_path):
    path = tmp_path / "d.tsv.gz"
    path.write_bytes(b"\x1f\x8b" + os.urandom(500))
    with pytest.raises(IngestError, match="d.tsv.gz: the gzip stream is truncated or corrupt"):
        ingest_lastfm(path, fmt="360k")


def test_a_directory_is_the_dump_it_holds_or_names_what_to_pass(tmp_path):
    """An unpacked dump was refused ("is a directory: pass the dump file itself ... it holds ...") although it
    names its files: it is ingested, with its profiles file."""
    tiny_dump(tmp_path / "dump" / "usersha1-artmbid-artname-plays.tsv")
    write_lines(tmp_path / "dump" / "usersha1-profile.tsv", [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"])
    result = ingest_lastfm(tmp_path / "dump")
    assert (result.loaded, result.profile_lines) == (9, 1)
    write_lines(tmp_path / "dump" / "userid-timestamp-artid-artname-traid-traname.tsv",  # two dumps: which one?
                ["user_000001\t2009-05-04T23:08:57Z\t\tDeep Dish\t\tFuck Me Im Famous"])
    with pytest.raises(IngestError, match=r"dump is a directory holding userid-timestamp-artid-artname-traid-traname"
                                          r".tsv, usersha1-artmbid-artname-plays.tsv: pass the dump file itself, with "
                                          r"its profiles file if it has one: musim ingest lastfm PLAYS --profiles "
                                          r"PROFILES"):
        ingest_lastfm(tmp_path / "dump")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match=r"empty is a directory holding no plays file: pass the dump file"):
        ingest_lastfm(tmp_path / "empty")
    with pytest.raises(IngestError, match=r"is a directory: pass the profiles file \(--profiles\)"):
        ingest_lastfm(tmp_path / "dump" / "usersha1-artmbid-artname-plays.tsv", profiles=tmp_path / "dump")


@pytest.mark.parametrize("kind", ["fifo", "broken link", "folder"])
def test_a_folders_profiles_file_that_is_no_file_is_refused_not_passed_over(tmp_path, kind):
    """A folder's usersha1-profile.tsv that was a FIFO, a broken link or a folder was passed over: the dump was
    ingested without its profiles, nothing said."""
    tiny_dump(tmp_path / "dump" / "usersha1-artmbid-artname-plays.tsv")
    profiles = tmp_path / "dump" / "usersha1-profile.tsv"
    if kind == "fifo":
        os.mkfifo(profiles)
    elif kind == "broken link":
        profiles.symlink_to(tmp_path / "unmounted" / "usersha1-profile.tsv")
    else:
        profiles.mkdir()
    with pytest.raises(IngestError, match=r"dump/usersha1-profile.tsv(: not a regular file|: no such file| is a "
                                          r"directory: pass).*the profiles file"):
        ingest_lastfm(tmp_path / "dump")
    _nothing_stored()


def test_a_wrong_profiles_path_is_named_as_the_profiles_file(tmp_path):
    with pytest.raises(IngestError, match=r"nope.tsv: no such file; give the path of the profiles file"):
        ingest_lastfm(tiny_dump(tmp_path / "d.tsv"), profiles=tmp_path / "nope.tsv")
    _nothing_stored()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_an_unreadable_file_is_one_line(tmp_path):
    path = tiny_dump(tmp_path / "d.tsv")
    path.chmod(0)
    with pytest.raises(IngestError, match="d.tsv: cannot be read .*make it readable"):
        ingest_lastfm(path)


def test_a_device_or_fifo_is_not_a_dump(tmp_path):
    fifo = tmp_path / "fifo.tsv"
    os.mkfifo(fifo)
    with pytest.raises(IngestError, match="fifo.tsv: not a regular file"):
        ingest_lastfm(fifo)


def test_a_dump_named_in_latin1_is_refused_naming_it(tmp_path):
    """Its name reached DuckDB only when the dump was recorded, as an InvalidInputException."""
    path = tiny_dump(tmp_path / "d.tsv").rename(os.fsdecode(bytes(tmp_path) + b"/pl\xe9ys.tsv"))
    with pytest.raises(IngestError, match=r"pl\\xe9ys.tsv: the path is not valid UTF-8 .*convmv"):
        ingest_lastfm(path)
    _nothing_stored()


def test_read_errors_become_one_line_naming_the_file():
    from musim.ingest.dump_files import reading

    with pytest.raises(IngestError, match=r"^x.tsv: cannot be read \(Permission denied\); make it readable"):
        with reading("x.tsv"):
            raise PermissionError(13, "Permission denied")
    with pytest.raises(IngestError, match=r"^x.tsv: cannot be read \(Input/output error\)"):
        with reading("x.tsv"):
            raise OSError(5, "Input/output error")


def test_an_empty_path_is_refused_not_the_working_folder(tmp_path, monkeypatch):
    """`musim ingest lastfm "$F"` with F unset ingested the dump the working folder held."""
    from musim.errors import ParameterError

    tiny_dump(tmp_path / "usersha1-artmbid-artname-plays.tsv")
    monkeypatch.chdir(tmp_path)
    for path, profiles in (("", None), (" ", None), ("usersha1-artmbid-artname-plays.tsv", "")):
        with pytest.raises(ParameterError, match=r"an empty path was given \(an unset variable\?\)"):
            ingest_lastfm(path, profiles=profiles)
    _nothing_stored()


@pytest.mark.parametrize("gz", [False, True])
def test_a_utf16_dump_is_refused_saying_to_re_encode_it(tmp_path, capsys, gz):
    """A dump saved as "Unicode" (UTF-16, with its byte-order mark) by a Windows editor: every line was rejected
    for its NUL bytes and the refusal asked "Is this the right file and format (--format)?", which no --format
    answers. It says what the file is and how to re-encode it; the re-encoded file is the dump."""
    plain = tiny_dump(tmp_path / "plain" / "usersha1-artmbid-artname-plays.tsv")
    data = plain.read_text(encoding="utf-8").encode("utf-16")
    name = "usersha1-artmbid-artname-plays.tsv" + (".gz" if gz else "")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if gz else data)
    assert main(["ingest", "lastfm", str(path)]) == 2
    err = capsys.readouterr().err
    read = f"gunzip -c {name} | iconv" if gz else f"iconv {name}"
    assert err.startswith(f"musim: error: {path}: all 10 lines were rejected (") and err.count("\n") == 1
    assert err.endswith(f"nothing was stored. It is UTF-16 text (it starts with a UTF-16 byte-order mark): re-encode "
                        f"it as UTF-8 and ingest that, e.g. {read} -f UTF-16 -t UTF-8 > "
                        "utf8-usersha1-artmbid-artname-plays.tsv\n")
    _nothing_stored()
    profiles = tmp_path / "usersha1-profile.tsv"
    profiles.write_bytes(f"{U1}\tm\t22\tSweden\tFeb 1, 2007\n".encode("utf-16"))
    with pytest.raises(IngestError, match=r"usersha1-profile.tsv: all 2 lines were rejected .* It is UTF-16 text"):
        ingest_lastfm(plain, profiles=profiles)
    _nothing_stored()


def test_a_dump_whose_lines_end_with_a_lone_carriage_return_says_so(tmp_path, capsys):
    """Lines ended by a carriage return alone (classic Mac OS; Excel for Mac's text export) are one line here: the
    dump was refused as "its only line was rejected (1 too many fields ...)" or, unnamed, as "lines have 18000001
    tab-separated fields", after the format detection read the whole file into memory as its first line. Both now
    say what the file is and how to convert it; the converted file is the dump."""
    plain = tiny_dump(tmp_path / "plain" / "usersha1-artmbid-artname-plays.tsv")
    data = plain.read_bytes().replace(b"\n", b"\r")
    named = tmp_path / "usersha1-artmbid-artname-plays.tsv"
    named.write_bytes(data)
    assert main(["ingest", "lastfm", str(named)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"musim: error: {named}: its only line was rejected (1 too many fields (first: line 1)); "
                          "nothing was stored. It is one line: its lines end with a carriage return alone (classic "
                          "Mac OS line ends, as Excel for Mac writes text), which end no line here: convert them to "
                          "newlines and ingest that, e.g. tr '\\r' '\\n' < usersha1-artmbid-artname-plays.tsv > "
                          "unix-usersha1-artmbid-artname-plays.tsv\n")
    unnamed = tmp_path / "export.txt"
    unnamed.write_bytes(data * (2_000_000 // len(data)))  # the format told by its first lines: more than a megabyte
    with pytest.raises(IngestError, match=r"^.*export.txt: its lines end with a carriage return alone .* e.g. "
                                          r"tr '\\r' '\\n' < export.txt > unix-export.txt; nothing was stored.$"):
        ingest_lastfm(unnamed)
    _nothing_stored()
    fixed = tmp_path / "unix-usersha1-artmbid-artname-plays.tsv"
    fixed.write_bytes(data.replace(b"\r", b"\n"))
    assert ingest_lastfm(fixed).dump_id == ingest_lastfm(plain).dump_id


def test_a_profiles_file_given_as_the_dump_says_to_pass_it_with_profiles(tmp_path, capsys):
    """`musim ingest lastfm usersha1-profile.tsv` (the wrong file of the two) said "lines have 5 tab-separated
    fields; expected 4 ... or 6 ... Pass --format to force one", and --format only had every line rejected."""
    plays = tiny_dump(tmp_path / "usersha1-artmbid-artname-plays.tsv")
    profiles = write_lines(tmp_path / "usersha1-profile.tsv", [f"{U1}\tm\t22\tSweden\tFeb 1, 2007",
                                                               f"{U2}\tf\t\t\t"])
    says = ("profiles file (user, gender, age, country, signup), given as the dump's plays file: pass the plays file, "
            f"with this one as its profiles: musim ingest lastfm PLAYS --profiles {profiles}")
    assert main(["ingest", "lastfm", str(profiles)]) == 2
    assert capsys.readouterr().err == f"musim: error: {profiles}: it is a {says}; nothing was stored.\n"
    assert main(["ingest", "lastfm", str(profiles), "--profiles", str(plays)]) == 2  # the two swapped
    assert capsys.readouterr().err == f"musim: error: {profiles}: it is a {says}; nothing was stored.\n"
    assert main(["ingest", "lastfm", str(profiles), "--format", "360k"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"musim: error: {profiles}: all 2 lines were rejected (") and err.count("\n") == 1
    assert err.endswith(f"nothing was stored. It is named as a {says}\n")
    _nothing_stored()
    assert main(["ingest", "lastfm", str(plays), "--profiles", str(profiles)]) == 0  # as it says


def _grows(path, monkeypatch, target, name):
    """Append a line to ``path`` when ``target.name`` is called, as a copy still being written appends."""
    original = getattr(target, name)

    def appending(*args, **kwargs):
        with open(path, "ab") as fh:
            fh.write(f"{U2}\t{MB_A}\tArtist A\t4\n".encode())
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, appending)


@pytest.mark.parametrize("role", ["plays", "profiles"])
def test_a_file_that_grows_while_it_is_read_is_refused_nothing_stored(tmp_path, monkeypatch, role):
    """A dump still being copied was loaded as the part read so far (its id the hash of that part); it is refused
    in one line before the transaction commits."""
    import musim.ingest.lastfm as lastfm

    plays = tiny_dump(tmp_path / "usersha1-artmbid-artname-plays.tsv")
    profiles = write_lines(tmp_path / "usersha1-profile.tsv", [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"])
    _grows(plays if role == "plays" else profiles, monkeypatch, lastfm, "join_dump")
    with pytest.raises(IngestError, match=rf"{'plays' if role == 'plays' else 'profile'}.tsv: the file changed while it was read \(is it still being "
                                          r"copied or written\?\); nothing was stored"):
        ingest_lastfm(plays, profiles=profiles)
    _nothing_stored()


def test_a_file_duckdb_reads_grown_is_refused_as_changed_not_as_a_musim_bug(tmp_path, monkeypatch, engine):
    """The pre-scan read the file, then DuckDB read it grown: "DuckDB read 10 rows where 9 were expected ... This
    is a musim bug: please report it with the file" was the message."""
    import threading

    import musim.ingest.staging as staging

    if engine == "c":
        pytest.skip("the C scanner reads the file once")
    path = tiny_dump(tmp_path / "usersha1-artmbid-artname-plays.tsv")
    scanned = threading.Event()
    prescan, stage = staging.prescan, staging._stage_in_background

    def prescan_first(*args, **kwargs):
        try:
            return prescan(*args, **kwargs)
        finally:
            scanned.set()

    def grown_then_staged(*args, **kwargs):  # DuckDB reads the file after the pre-scan, one line longer
        scanned.wait(30)
        with open(path, "ab") as fh:
            fh.write(f"{U2}\t{MB_A}\tArtist A\t4\n".encode())
        return stage(*args, **kwargs)

    monkeypatch.setattr(staging, "prescan", prescan_first)
    monkeypatch.setattr(staging, "_stage_in_background", grown_then_staged)
    with pytest.raises(IngestError, match=r"plays.tsv: the file changed while it was read"):
        ingest_lastfm(path)
    _nothing_stored()
