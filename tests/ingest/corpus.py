"""The fuzz corpus of the Last.FM parsers: the quirk files and hypothesis strategies of 360K and 1K lines and files.

Imports nothing of musim: the sanitizer run (tests/ingest/sanitized_scan.py) loads only the C scanner.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.lastfm_files import MB_A, MB_B, MB_C, U1, U2, U3

_ISO = "2009-05-04T23:08:57Z"

#: Every quirk of tests/ingest/test_lastfm_quirks.py, and more, in one file: each line as bytes.
QUIRK_LINES: list[bytes] = [x.encode() if isinstance(x, str) else x for x in [
    f"{U1}\t{MB_A}\tFoo\t3", f'{U1}\t\t"weird al" yankovic\t12', f"{U1}\t{MB_A}\tFoo\rBar\t5",
    f"{U1}\t{MB_B}\tBaz\t1\r", f"{U1}\tFoo\t5", f"{U1}\t{MB_A}\tFoo\t5\textra\tmore", f"{U1}\t{MB_A}\tFoo\t5x",
    f"{U1}\t{MB_A}\tFoo\t2.5", f"{U1}\t{MB_A}\tFoo\t-3", f"{U1}\t\t\t4", f"\t{MB_A}\tFoo\t4",
    f"nothex{'0' * 34}\t{MB_A}\tFoo\t4", "   ", "", "\t\t\t", " \t \r ", f"{U2}\t{MB_A}\tBj".encode() + b"\xf6rk\t3",
    f"{U2}\t{MB_A}\tFoo\t0", f"{U2}\t{MB_A}\t\t4", f"{U2}\t\tfoo\t4", f"{U2}\tnot-a-uuid\tQux Band\t1",
    f"{U3}\t\t qux   band \t2", f"{U3}\t\t[unknown]\t3", f"{U3}\t\tVarious Artists\t3",
    f"  {U3} \t {MB_C} \t  Foo Fighters  \t 7 ", f"{U3}\t{MB_A}\tFOO\t4", f"{U3}\t{MB_A}\tFoo\t+5",
    f"{U3}\t{MB_B}\tBar\t007", f"{U3}\t{MB_B}\tBar\t-0", f"{U3}\t{MB_B}\tBar\t1234567890123456789",
    f"{U3}\t{MB_B}\tBar\t123456789012345678", f"{U3}\t{MB_B}\tBar\t1_000", f"{U3}\t{MB_B}\tBar\t0x10",
    f"{U3}\t{MB_B}\tNul\x00Name\t2", "\ufeff" + f"{U3}\t{MB_B}\tBom\t2", f"{U1}\t{MB_C}\tBack to U1\t9",
    f"{U1.upper()}\t{MB_C}\tUpper\t1", f"{U2}\t{MB_C}\t{'x' * 5000}\t1", f"{U3}\t{MB_B}\tGuns N\x92 Roses\t6",
    f"{U3}\t\tDel\x7f\t-6", f"{U3}\t\t\x9b31mRed\tx", b"\xed\xa0\x80\t\t\t1", b"\xc3",
    f"{U2}\t{MB_C}\tend without newline\t8",
]]

USERS = st.sampled_from([U1, U2, U3, "", " ", f" {U1} ", U1.upper(), "nothex" + "0" * 34, U2[:39]])
MBIDS = st.sampled_from([MB_A, MB_B, "", "not-a-uuid", f" {MB_A} ", MB_A.upper()])
NAMES = st.one_of(st.sampled_from(["Foo", "foo", " Foo  Fighters ", "[unknown]", "", "Björk", "\"quoted\"", "x" * 3000,
                                  "Guns N\x92 Roses", "Del\x7f", "\x85"]),
                  st.text(st.characters(codec="utf-8", exclude_characters="\t\n"), max_size=12))
PLAYS = st.one_of(st.integers(-5, 10**6).map(str),
                  st.sampled_from(["", "007", "+5", "-0", " 7 ", "2.5", "1e3", "0x10", "1_000", "5x",
                                   "123456789012345678", "1234567890123456789", "99999999999999999999"]))
#: Bytes that make lines irregular: invalid UTF-8 (lone continuation, cut sequences, surrogates, overlong
#: forms), NUL, CR, a BOM, tabs, a newline (a split line).
NASTY = st.sampled_from([b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80",
                         b"\x00", b"\r", b"\r\r", b"\xef\xbb\xbf", b"\t", b" ", b"\n", b"\r\n", b"\xc3\xa9"])


@st.composite
def plays_line(draw) -> bytes:
    fields = [draw(USERS), draw(MBIDS), draw(NAMES), draw(PLAYS)]
    if draw(st.booleans()):  # a field too few or too many
        fields = fields[:-1] if draw(st.booleans()) else [*fields, draw(PLAYS)]
    line = "\t".join(fields).encode()
    for _ in range(draw(st.integers(0, 2))):  # nasty bytes anywhere
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(NASTY) + line[at:]
    return line


@st.composite
def plays_file(draw) -> bytes:
    lines = draw(st.lists(st.one_of(plays_line(), st.binary(max_size=20)), max_size=25))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = ending.join(lines)
    if lines and draw(st.booleans()):
        data += ending  # else: no newline at the end of the file
    return b"#" + data if data.startswith(b"\x1f\x8b") else data  # (those two bytes make it a gzip file)


#: Every 1K quirk of tests/ingest/test_lastfm_quirks.py, test_staging.py, test_broken_input.py and test_archive.py,
#: and more, in one file: each line as bytes.
QUIRK_EVENTS: list[bytes] = [x.encode() if isinstance(x, str) else x for x in [
    f"user_000001\t{_ISO}\t{MB_A}\tDeep Dish\t\tFuck Me Im Famous", f"user_000001\t2009-05-04T13:54:10Z\t{MB_A}\tDeep Dish\t\tB",
    "user_000002\t2009-05-04T13:54:10Z\t\tSaxon\t\tWheels", "user_000002\tyesterday\t\tSaxon\t\tWheels",
    "user_000002\t2009-05-04T13:54:10Z\t\tSaxon", f"USER X\t2009-05-04T13:54:10Z\t{MB_A}\tDeep Dish\t\tC",
    f"user_000001\t{_ISO}\t\tB\t\tT\tx\ty\tz", "user_000001\tyesterday\t\tB\t\tT\t", "",
    f"user_000001\t{_ISO}\t\tDeep\rDish\t\tSong", b"user_000002\t2009\xff\t\tX\t\tY",
    f"{U1}\t{_ISO}\t{MB_A}\tFoo", f"{U1}\tnot a time\t{MB_A}\tFoo\t\tTrack",
    *(f"user_000001\t{t}\t{MB_A}\tDeep Dish\t\tA" for t in [
        "2009-05-04 23:08:57.250+02:00", "2009-05-04T23:08", "20090504T230857Z", "20090504T230857+0200",
        "2009/05/04 23:08", "2009-5-4 1:2:3", "2009-05-04 23:08:57 Europe/Berlin", "0001-01-01", "-2009-05-04",
        "2009-02-30T10:00:00Z", "20090230T100000Z", "2009-05-04T23:08:57z", "2009-05-04T23:08:57+99:00",
        "2009-05-04T23:08:57+05:60", "2009-05-04T23:08:57-12:30", "20090504T230857+1400", "2009-05-04T23:08-12"]),
    f" user_000003 \t {_ISO} \t {MB_B} \t  Deep Dish  \t\t A ", f"user_000003\t{_ISO}\tnot-a-uuid\tQux\t\tA",
    f"user_000003\t{_ISO}\tnot-a-uuid\t  \t\tA", f"user_000003\t{_ISO}\t\t\t\tA", f"user_000003\t{_ISO}\t{MB_C}\t\t\tA",
    f"user_000003\t{_ISO}\t\t[unknown]\t\tA", f'user_000003\t{_ISO}\t\t"weird al" yankovic\t\tA',
    f"user_000003\t{_ISO}\t\tNul\x00Name\t\tA", "\ufeff" + f"user_000003\t{_ISO}\t\tBom\t\tA", "   ", "\t\t\t\t\t",
    f"user_000004\t{_ISO}\t\tBj".encode() + b"\xf6rk\t\tA", f"user_000004\t{_ISO}\t\t{'x' * 5000}\t\tA",
    f"user_000004\t{_ISO}\t\tend without newline\t\tA",
]]

#: User ids, timestamps and artist names of 1K lines: the dump's own and the edges of the line checks.
USERS_1K = st.sampled_from(["user_000001", "user_000002", " user_000001 ", "USER_000001", "user_00001", "user_0000001",
                            "user_00000a", "user_00000\u0661", "\u00a0user_000001", "", " ", "USER X", U1])
TIMES_1K = st.one_of(st.sampled_from([_ISO, "2009-06-19T00:00:00Z", "2009-02-29T10:00:00Z", "2008-02-29T10:00:00Z",
                                      "2009-05-04T24:00:00Z", "2009-05-04T23:59:60Z", "0000-01-01T00:00:00Z",
                                      f" {_ISO}", f"{_ISO}\u00a0", "2009-05-04 23:08:57Z", "2009-05-04T23:08:57z",
                                      "20090504T230857Z", "2009-05-04T23:08:57.5+02:00", "2009/05/04 23:08:57",
                                      "\uff12009-05-04T23:08:57Z", "", "yesterday", "2009-05-04",
                                      "2009-05-04T23:08:57+14:00", "2009-05-04T23:08:57+14:01", "2009-05-04T23:08:57+99:00",
                                      "2009-05-04T23:08:57-12:00", "20090504T230857-1201", "2009-05-04T23:08:57+05:99"]),
                     st.text(st.sampled_from("0123456789-:T Z+./"), max_size=24))
NAMES_1K = st.one_of(NAMES, st.sampled_from([" Foo", "\u00a0Foo", "\u00a0", "\x01Foo", "\x0b", "\x1c\x1f", "\x7fFoo", "\x85", "Foo\x92s", "\x9b1m",
                                            "\u2028", "\u3000", "\u200b", "!", "~", MB_A, f" {MB_A}"]))


@st.composite
def events_file(draw, users=USERS, times=None, names=NAMES) -> bytes:
    """A 1K events file: lines of four to eight fields (default: 360K user ids, a few times), nasty bytes in some."""
    times = times if times is not None else st.sampled_from([_ISO, "", "yesterday", "2009-05-04"])

    def line() -> bytes:
        fields = [draw(users), draw(times), draw(MBIDS), draw(names), draw(MBIDS), draw(names)]
        cut = draw(st.integers(4, 8))
        raw = "\t".join((fields + ["x", "y"])[:cut]).encode()
        if draw(st.booleans()):
            at = draw(st.integers(0, len(raw)))
            raw = raw[:at] + draw(NASTY) + raw[at:]
        return raw

    lines = [line() for _ in range(draw(st.integers(1, 20)))]
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))
