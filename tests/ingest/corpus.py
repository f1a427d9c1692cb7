"""The fuzz corpus of the Last.FM parsers: the quirk file and hypothesis strategies of 360K lines and files.

Imports nothing of musim: the sanitizer run (tests/ingest/sanitized_scan.py) loads only the C scanner.
"""

from __future__ import annotations

from hypothesis import strategies as st

from tests.lastfm_files import MB_A, MB_B, MB_C, U1, U2, U3

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
    f"{U1.upper()}\t{MB_C}\tUpper\t1", f"{U2}\t{MB_C}\t{'x' * 5000}\t1", b"\xed\xa0\x80\t\t\t1", b"\xc3",
    f"{U2}\t{MB_C}\tend without newline\t8",
]]

USERS = st.sampled_from([U1, U2, U3, "", " ", f" {U1} ", U1.upper(), "nothex" + "0" * 34, U2[:39]])
MBIDS = st.sampled_from([MB_A, MB_B, "", "not-a-uuid", f" {MB_A} ", MB_A.upper()])
NAMES = st.one_of(st.sampled_from(["Foo", "foo", " Foo  Fighters ", "[unknown]", "", "Björk", "\"quoted\"", "x" * 3000]),
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
