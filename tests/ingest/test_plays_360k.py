"""The C scanner of 360K plays files and the C merge of their duplicate rows, on crafted lines."""

from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest

from musim import warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.ingest.prescan import IrregularLine

_scan360k = pytest.importorskip("musim.ingest._scan360k", reason="the C scanner is not built here")

from musim.ingest.plays_360k import scan_360k  # noqa: E402 (needs the C scanner)
from tests.lastfm_files import MB_A, MB_B, U1, U2, U3, write_lines  # noqa: E402


def _scan(tmp_path, lines, **kw):
    return scan_360k(write_lines(tmp_path / "d.tsv", lines, **kw))


def _rows(rows):
    """(line, user, mbid, name, plays) per row, from the scan's integer rows."""
    users, mbids, names = rows.users.to_pylist(), rows.mbids.to_pylist(), rows.names.to_pylist()
    return [(int(ln), users[u], mbids[s], names[s], int(p))
            for ln, u, s, p in zip(rows.row_line, rows.row_user, rows.row_spelling, rows.row_plays, strict=True)]


def test_good_lines_become_rows_of_indices_into_distinct_values(tmp_path):
    scan, rows = _scan(tmp_path, [f"{U1}\t{MB_A}\tFoo\t3", f"{U1}\t\tBar\t0", f"{U2}\t{MB_A}\tFoo\t12",
                                  f"{U1}\t{MB_A}\tFoo\t1"])
    assert scan.lines == 4 and not scan.rejected
    assert _rows(rows) == [(1, U1, MB_A, "Foo", 3), (2, U1, "", "Bar", 0), (3, U2, MB_A, "Foo", 12),
                           (4, U1, MB_A, "Foo", 1)]
    assert rows.users.to_pylist() == [U1, U2] and len(rows.names) == 2  # each distinct value once
    assert rows.user_first_line.tolist() == [1, 3]
    assert not rows.line_events and not rows.kept_raw


def test_fields_as_in_the_file_and_plays_not_written_plainly_keep_their_raw_text(tmp_path):
    lines = [f" {U1} \t {MB_A}\t  Foo \t 7 ", f"{U2}\t{MB_A}\tFoo\t+5", f"{U2}\t{MB_B}\tBar\t007", f"{U3}\t\tX\t0"]
    _, rows = _scan(tmp_path, lines)
    assert _rows(rows) == [(1, f" {U1} ", f" {MB_A}", "  Foo ", 7), (2, U2, MB_A, "Foo", 5), (3, U2, MB_B, "Bar", 7),
                           (4, U3, "", "X", 0)]
    assert list(rows.kept_raw) == [(1, lines[0]), (2, lines[1]), (3, lines[2])]


@pytest.mark.parametrize("plays, event", [("5x", "plays is not an integer of at most 18 digits"), ("2.5", "plays is not an integer of at most 18 digits"),
                                          ("", "plays is not an integer of at most 18 digits"), ("1" * 19, "plays is not an integer of at most 18 digits"),
                                          ("-3", "negative plays"), (" -1 ", "negative plays")])
def test_bad_plays_are_events(tmp_path, plays, event):
    line = f"{U1}\t{MB_A}\tFoo\t{plays}"
    _, rows = _scan(tmp_path, [f"{U2}\t{MB_B}\tBar\t1", line])
    assert list(rows.line_events) == [(2, event, line)] and len(rows.row_line) == 1


def test_field_counts_blank_lines_and_line_endings(tmp_path):
    _, rows = _scan(tmp_path, [f"{U1}\tFoo\t5", f"{U1}\t{MB_A}\tFoo\t5\tx", "", " \t ", f"{U2}\t{MB_B}\tBar\t4\r"])
    assert list(rows.line_events) == [(1, "too few fields", f"{U1}\tFoo\t5"), (2, "too many fields", f"{U1}\t{MB_A}\tFoo\t5\tx")]
    assert _rows(rows) == [(5, U2, MB_B, "Bar", 4)]  # a CR before the newline ends the line


def test_blank_and_invalid_utf8_lines_are_rejected_by_the_prescan_rules(tmp_path):
    scan, rows = _scan(tmp_path, [b"", b" \r\t", f"{U1}\t{MB_A}\tBj".encode() + b"\xf6rk\t3", f"{U2}\t\tOk\t1".encode()])
    assert [(r.line_no, r.reason.split(" (")[0]) for r in scan.rejected] == [
        (1, "blank line"), (2, "blank line"), (3, "invalid UTF-8")]
    assert _rows(rows) == [(4, U2, "", "Ok", 1)]


def test_a_lone_carriage_return_is_a_space_and_the_line_keeps_its_place(tmp_path):
    _, rows = _scan(tmp_path, [f"{U1}\t{MB_A}\tFoo\rBar\t5", f"{U1}\t{MB_B}\tBaz\t2\r\r", f"{U2}\tx\ty\t1\rz"])
    assert _rows(rows) == [(1, U1, MB_A, "Foo Bar", 5), (2, U1, MB_B, "Baz", 2)]
    assert list(rows.line_events) == [(3, "plays is not an integer of at most 18 digits", f"{U2}\tx\ty\t1 z")]  # raw: the fixed text


def test_the_last_line_without_a_newline_and_an_empty_file(tmp_path):
    scan, rows = _scan(tmp_path, [f"{U1}\t{MB_A}\tFoo\t5", f"{U2}\t{MB_A}\tFoo\t6"], newline_at_end=False)
    assert scan.lines == 2 and [r[4] for r in _rows(rows)] == [5, 6]
    scan, rows = _scan(tmp_path, [])
    assert scan.lines == 0 and len(rows.row_line) == 0 and len(rows.users) == 0


def test_utf8_checks_agree_with_pythons_decoder(tmp_path):
    rng = random.Random(5)
    tails = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6))) for _ in range(3000)]
    tails += [b"\xe2\x82\xac", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xf0\x9f\x8e\xb5", b"\xe0\x80\xaf"]
    tails = [t.replace(b"\n", b"").replace(b"\r", b"").replace(b"\t", b"") for t in tails]
    lines = [f"{U1}\t\tName ".encode() + t + b"\t1" for t in tails]
    scan, rows = _scan(tmp_path, lines)
    bad = {r.line_no for r in scan.rejected}
    for n, line in enumerate(lines, 1):
        try:
            line.decode("utf-8")
            assert n not in bad, line
        except UnicodeDecodeError:
            assert n in bad, line
    assert len(rows.row_line) == len(lines) - len(bad)


def test_many_distinct_values_over_several_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr("musim.ingest.prescan.CHUNK_BYTES", 64 * 1024)  # many blocks: lines cut across them
    users = [f"{i:040x}" for i in range(3000)]
    lines = [f"{users[i // 30]}\t\tArtist {i % 70_001}\t{i}" for i in range(90_000)]
    scan, rows = _scan(tmp_path, lines)
    assert scan.lines == 90_000
    assert rows.users.to_pylist() == users and len(rows.names) == 70_001  # the tables grew past 65,536 keys
    got = _rows(rows)
    assert all(g == (i + 1, users[i // 30], "", f"Artist {i % 70_001}", i) for i, g in enumerate(got))


def _merge(users, artists, plays):
    out = _scan360k.merge_runs(np.array(users, dtype=np.int32), np.array(artists, dtype=np.int32),
                               np.array(plays, dtype=np.int64))
    if out is None:
        return None
    cols = [np.frombuffer(out[c], dtype=d).tolist() for c, d in
            (("user_id", np.int32), ("artist_id", np.int32), ("plays", np.int64), ("lines", np.int32))]
    return list(zip(*cols, strict=True))


def test_merge_sums_duplicates_per_user_in_artist_order():
    assert _merge([1, 1, 1, 1, 2, 2, 3], [9, 4, 9, 9, 4, 1, 7], [1, 2, 3, 4, 5, 6, 7]) == [
        (1, 4, 2, 1), (1, 9, 8, 3), (2, 1, 6, 1), (2, 4, 5, 1), (3, 7, 7, 1)]


def test_merge_drops_rejected_rows_without_ending_a_run():
    # -1: a rejected user or spelling; user 1's rows around a rejected user's row are still one run
    assert _merge([1, -1, 1, 2, 2], [5, 5, 5, -1, 6], [1, 9, 2, 3, 4]) == [(1, 5, 3, 2), (2, 6, 4, 1)]


def test_merge_many_artists_per_user():
    artists = list(range(500, 0, -1)) * 2
    assert _merge([1] * 1000, artists, [1] * 1000) == [(1, a, 2, 2) for a in range(1, 501)]


@pytest.mark.parametrize("users", [[1, 2, 1], [2, 1]], ids=["split run", "not in order of appearance"])
def test_merge_declines_users_whose_lines_are_not_together(users):
    assert _merge(users, [1] * len(users), [1] * len(users)) is None


def test_merge_declines_a_sum_beyond_64_bits():
    assert _merge([1, 1], [1, 1], [2**62, 2**62]) is None


def test_a_dump_whose_users_are_not_together_is_merged_all_the_same(tmp_path, monkeypatch):
    """The general merge (SQL) gives what the C merge gives for the same plays."""
    lines = [f"{U1}\t{MB_A}\tFoo\t3", f"{U2}\t{MB_A}\tFoo\t1", f"{U1}\t{MB_A}\tFOO\t4", f"{U1}\t{MB_B}\tBar\t2",
             f"{U3}\t{MB_B}\tBar\t-1"]
    used = []
    monkeypatch.setattr(_scan360k, "merge_runs", lambda *a: used.append(a) or None)  # as if declined
    ingest_lastfm(write_lines(tmp_path / "split.tsv", lines))
    assert used
    with warehouse.writer() as con:
        plays = con.execute("""SELECT u.user_key, a.name, p.plays, p.lines FROM lastfm_plays p
                               JOIN lastfm_user u USING (user_id) JOIN artist a USING (artist_id) ORDER BY 1, 2""").fetchall()
        ids = con.execute("SELECT user_key FROM lastfm_user ORDER BY user_id").fetchall()
    assert plays == [(U1, "Bar", 2, 1), (U1, "Foo", 7, 2), (U2, "Foo", 1, 1)]
    assert ids == [(U1,), (U2,)]  # numbered in the order they first appear


def test_a_dump_as_last_fm_writes_them_is_merged_in_c(tmp_path, monkeypatch):
    merged = []
    real = _scan360k.merge_runs
    monkeypatch.setattr(_scan360k, "merge_runs", lambda *a: merged.append(real(*a)) or merged[-1])
    lines = [f"{U2}\t{MB_A}\tFoo\t3", f"{U2}\t{MB_A}\tFOO\t4", f"  {U2}\t{MB_B}\tBar\t1", f"{U1}\t{MB_B}\tBar\t2"]
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines))
    assert merged and merged[0] is not None and (r.loaded, r.plays_rows) == (4, 3)
    with warehouse.writer() as con:
        stored = con.execute("SELECT user_id, artist_id, plays, lines FROM lastfm_plays").fetchall()
    assert stored == sorted(stored) and [s[2:] for s in stored] == [(7, 2), (1, 1), (2, 1)]  # (user, artist) order


def _traced_scan(path):
    """:func:`scan_360k` of ``path`` and the Python memory (tracemalloc's current and peak bytes) at its end."""
    tracemalloc.start()
    try:
        return scan_360k(path), tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()


def test_lines_rejected_by_the_thousand_are_kept_in_flat_buffers_not_python_tuples(tmp_path):
    """A file of 2M lines none of which was a dump line (90 MB) peaked at 2.6 GB: each rejected line was kept as a
    tuple of Python ints and strings (about 200 bytes beside its text, twice over). What the scan keeps of 300,000
    such lines is now their text and 17 bytes each; the lines are the same."""
    lines = [f"this is not a dump line number {i} at all" for i in range(300_000)]
    path = write_lines(tmp_path / "d.tsv", lines)
    (_, rows), (kept, _) = _traced_scan(path)
    text = sum(len(line) for line in lines)
    assert kept < text + 40 * len(lines)  # 13.5 MB of text: 25.5 MB at most (the tuples took 59 MB)
    events = list(rows.line_events)
    assert len(events) == len(lines) and events[0] == (1, "too few fields", lines[0])
    assert events[-1] == (300_000, "too few fields", lines[-1])


def _kept(kinds, line_nos, texts, *, irregular_kept: bool = True):
    """What a scan keeps of these events: through :func:`keep_events` over flat buffers, and the old way (a Python
    tuple per event, each classified in turn); without ``irregular_kept``, as :func:`scan_360k` keeps them (no
    irregular lines for a staging's line map)."""
    from musim.ingest.lines import LineTexts
    from musim.ingest.plays_360k import LINE_EVENTS, keep_events
    from musim.ingest.prescan import Prescan, classify_line

    def fresh():
        scan = Prescan(path=None, sha256="", bytes=0, lines=0)
        if not irregular_kept:
            scan.irregular = None
        return scan, LineTexts(tuple(LINE_EVENTS.values())), LineTexts()

    flat = fresh()
    ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
    keep_events(np.asarray(kinds, np.int32), np.asarray(line_nos, np.int64), ends, b"".join(texts),
                scan=flat[0], rows_events=flat[1], kept_raw=flat[2])
    one_by_one = fresh()
    scan, rows_events, kept_raw = one_by_one
    for kind, line_no, raw in zip(kinds, line_nos, texts, strict=True):
        if kind == _scan360k.NOT_CANONICAL:
            kept_raw.append(line_no, raw)
        elif kind == _scan360k.IRREGULAR:
            classify_line(raw, line_no, scan)
        else:
            rows_events.append(line_no, raw, LINE_EVENTS[kind])
    return [[list(s.rejected), None if s.irregular is None else list(s.irregular), list(s.fixed), list(e), list(k)]
            for s, e, k in (flat, one_by_one)]


def test_events_kept_from_flat_buffers_are_those_kept_one_tuple_at_a_time():
    from musim.ingest.plays_360k import LINE_EVENTS

    rng = random.Random(18)
    irregular = [b"", b"", b" \t ", b"Bj\xf6rk", b"a\rb"]  # runs of empty lines; blank; invalid UTF-8; a lone CR
    for _ in range(300):
        kinds, line_nos, texts = [], [], []
        for line_no in sorted(rng.sample(range(1, 100), rng.randrange(0, 40))):
            kind = rng.choice([_scan360k.IRREGULAR] * 4 + [_scan360k.NOT_CANONICAL, *LINE_EVENTS])
            kinds.append(kind)
            line_nos.append(line_no)
            texts.append(rng.choice(irregular) if kind == _scan360k.IRREGULAR else f"{U1}\tFoo\t0{line_no}".encode())
        for irregular_kept in (True, False):
            flat, one_by_one = _kept(kinds, line_nos, texts, irregular_kept=irregular_kept)
            assert flat == one_by_one
            assert (flat[1] is None) == (not irregular_kept)


def test_a_file_of_blank_lines_is_rejected_run_by_run_not_line_by_line(tmp_path):
    """A 360K file of 1M newlines and 500,000 CRLF line endings around one dump line took 16 s in the scan and
    peaked at 164 bytes a line: the scanner handed back each empty line as a Python tuple, classified in turn. Now
    its events come back as flat buffers and a run of empty lines is rejected in one go (0.2 s, 86 bytes a line).
    Each rejected line was also kept a second time as an irregular line for a line map nothing reads on this path
    (37 bytes a line kept, 86 at the peak; now 21 and 69)."""
    path = tmp_path / "d.tsv"
    path.write_bytes(b"\n" * 1_000_000 + f"{U1}\t{MB_A}\tFoo\t1\n".encode() + b"\r\n" * 500_000)
    (scan, rows), (kept, peak) = _traced_scan(path)
    assert peak < 78 * 1_500_001 and kept < 28 * 1_500_001
    assert len(scan.rejected) == 1_500_000 and scan.rejected[0] == IrregularLine(1, "", "blank line")
    assert scan.rejected[-1] == IrregularLine(1_500_001, "", "blank line")
    assert scan.irregular is None  # nothing stages the file: no line map, no copy of each irregular line for one
    assert scan.rejected.line_nos()[999_998:1_000_001].tolist() == [999_999, 1_000_000, 1_000_002]
    assert _rows(rows) == [(1_000_001, U1, MB_A, "Foo", 1)]
