"""Every quirk of the real dump, one by one, on both 360K engines: each line is loaded or rejected with a reason."""

from __future__ import annotations

import pytest

from musim import warehouse
from musim.errors import IngestError
from musim.ingest.lastfm import ingest_lastfm
from tests.ingest.engine_tables import needs_c_scanner
from tests.lastfm_files import MB_A, MB_B, U1, U2, U3, U4, tiny_dump, write_lines


@pytest.fixture(autouse=True, params=[pytest.param("c", marks=needs_c_scanner), "duckdb"])
def engine(request, monkeypatch):
    """Every quirk on both 360K engines (tests/ingest/test_engines.py compares their tables)."""
    monkeypatch.setenv("MUSIM_INGEST_ENGINE", request.param)
    return request.param


def _names(con):
    return {r[0] for r in con.execute("SELECT name FROM artist").fetchall()}


def _rejects(con):
    return con.execute("SELECT line_no, reason, raw FROM ingest_rejects ORDER BY line_no").fetchall()


def _plays(con):
    return con.execute("""SELECT u.user_key, a.name, p.plays, p.lines FROM lastfm_plays p
                          JOIN lastfm_user u USING (user_id) JOIN artist a USING (artist_id)
                          ORDER BY 1, 2""").fetchall()


def test_quote_characters_are_data(tmp_path):
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", [f'{U1}\t\t"weird al" yankovic\t12']))
    assert (r.loaded, r.rejected) == (1, 0)
    with warehouse.writer() as con:
        assert _names(con) == {'"weird al" yankovic'}


def test_carriage_return_inside_a_line_does_not_split_it(tmp_path):
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", [f"{U1}\t{MB_A}\tFoo\rBar\t5", f"{U2}\t{MB_B}\tBaz\t1"]))
    assert (r.lines, r.loaded, r.rejected) == (2, 2, 0)
    with warehouse.writer() as con:
        assert _names(con) == {"Foo Bar", "Baz"}


def test_windows_line_endings_are_line_endings(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_bytes(f"{U1}\t{MB_A}\tFoo\t5\r\n{U2}\t{MB_B}\tBaz\t1\r\n".encode())
    r = ingest_lastfm(path)
    assert (r.lines, r.loaded) == (2, 2)
    with warehouse.writer() as con:
        assert [p[2] for p in _plays(con)] == [5, 1]


@pytest.mark.parametrize("line, reason", [
    (f"{U1}\tFoo\t5", "too few fields"),
    (f"{U1}\t{MB_A}\tFoo\t5\textra", "too many fields"),
    (f"{U1}\t{MB_A}\tFoo\t5x", "plays is not an integer of at most 18 digits"),
    (f"{U1}\t{MB_A}\tFoo\t2.5", "plays is not an integer of at most 18 digits"),
    (f"{U1}\t{MB_A}\tFoo\t-3", "negative plays"),
    (f"{U1}\t\t\t4", "empty artist name and no valid MBID"),
    (f"\t{MB_A}\tFoo\t4", "empty user id"),
    (f"nothex{'0' * 34}\t{MB_A}\tFoo\t4", "user id is not"),
    ("   ", "blank line"),
    ("", "blank line"),
])
def test_bad_lines_are_rejected_with_line_number_and_reason(tmp_path, line, reason):
    path = write_lines(tmp_path / "d.tsv", [f"{U2}\t{MB_B}\tGood\t1", line, f"{U3}\t{MB_B}\tGood\t2"])
    r = ingest_lastfm(path)
    assert (r.lines, r.loaded, r.rejected) == (3, 2, 1)
    with warehouse.writer() as con:
        [(line_no, why, raw)] = _rejects(con)
    assert line_no == 2 and why.startswith(reason) and raw == line


def test_invalid_utf8_is_rejected_and_shown_escaped(tmp_path):
    bad = f"{U1}\t{MB_A}\tBj".encode() + b"\xf6rk\t3"
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", [bad, f"{U2}\t{MB_B}\tGood\t1"]))
    assert (r.loaded, r.rejected) == (1, 1)
    with warehouse.writer() as con:
        [(line_no, why, raw)] = _rejects(con)
    assert line_no == 1 and why.startswith("invalid UTF-8") and raw.endswith("Bj\\xf6rk\t3")


def test_zero_plays_load_but_do_not_make_a_listener(tmp_path):
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", [f"{U1}\t{MB_A}\tFoo\t0"]))
    assert (r.loaded, r.rejected) == (1, 0)
    with warehouse.writer() as con:
        assert _plays(con) == [(U1, "Foo", 0, 1)]


def test_empty_name_with_valid_mbid_loads_under_that_artist(tmp_path):
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", [f"{U1}\t{MB_A}\tFoo\t3", f"{U2}\t{MB_A}\t\t4"]))
    assert (r.loaded, r.rejected, r.artists) == (2, 0, 1)


def test_missing_or_malformed_mbid_falls_back_to_the_name(tmp_path):
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", [
        f"{U1}\t{MB_A}\tFoo\t3",            # Foo has exactly one MBID in the dump ...
        f"{U2}\t\tfoo\t4",                  # ... so a Foo without one is that artist
        f"{U3}\tnot-a-uuid\tQux Band\t1",   # malformed MBID: identity by name
        f"{U1}\t\t qux   band \t2",
    ]))
    assert (r.loaded, r.artists) == (4, 2)
    with warehouse.writer() as con:
        keys = dict(con.execute("SELECT name, artist_key FROM artist").fetchall())
        variants = con.execute("SELECT count(*) FROM artist_name_variant").fetchone()[0]
    assert keys == {"Foo": f"mbid:{MB_A}", "Qux Band": "name:qux band"}
    assert variants == 4


def test_unknown_is_kept_as_placeholder(tmp_path):
    ingest_lastfm(write_lines(tmp_path / "d.tsv", [f"{U1}\t\t[unknown]\t3", f"{U2}\t\tVarious Artists\t3"]))
    with warehouse.writer() as con:
        assert con.execute("SELECT bool_and(is_placeholder) FROM artist").fetchone()[0] is True


def test_surrounding_whitespace_is_trimmed(tmp_path):
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", [f"  {U1} \t {MB_A} \t  Foo Fighters  \t 7 "]))
    assert r.loaded == 1
    with warehouse.writer() as con:
        assert _plays(con) == [(U1, "Foo Fighters", 7, 1)]


def test_duplicate_user_artist_rows_are_merged(tmp_path):
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", [
        f"{U1}\t{MB_A}\tFoo\t3", f"{U1}\t{MB_A}\tFOO\t4", f"{U1}\t{MB_A}\tFoo\t3"]))
    assert (r.lines, r.loaded, r.plays_rows) == (3, 3, 1)
    with warehouse.writer() as con:
        assert _plays(con) == [(U1, "Foo", 10, 3)]




def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        ingest_lastfm(tmp_path / "nope.tsv")


def test_same_content_is_ingested_once_even_gzipped(tmp_path):
    first = ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    packed = tmp_path / "d.tsv.gz"
    packed.write_bytes(__import__("gzip").compress((tmp_path / "d.tsv").read_bytes()))
    again = ingest_lastfm(packed)
    assert not first.already_ingested and again.already_ingested and again.dump_id == first.dump_id
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_dump").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM lastfm_plays").fetchone()[0] == 9


def test_a_new_dump_is_a_new_snapshot_and_ids_are_stable(tmp_path):
    first = ingest_lastfm(tiny_dump(tmp_path / "d1.tsv"))
    second = ingest_lastfm(write_lines(tmp_path / "d2.tsv", [f"{U1}\t{MB_A}\tArtist A\t99"]))
    with warehouse.writer() as con:
        ids = con.execute("SELECT DISTINCT artist_id FROM lastfm_plays WHERE dump_id = ?",
                          [second.dump_id]).fetchall()
        first_ids = con.execute("""SELECT artist_id FROM artist WHERE name = 'Artist A'""").fetchall()
        assert ids == first_ids
        assert con.execute("SELECT seq FROM lastfm_dump ORDER BY seq").fetchall() == [(1,), (2,)]
        assert con.execute("SELECT count(*) FROM lastfm_plays WHERE dump_id = ?", [first.dump_id]).fetchone()[0] == 9


def test_profiles(tmp_path):
    plays = tiny_dump(tmp_path / "d.tsv")
    profiles = write_lines(tmp_path / "p.tsv", [
        f"{U1}\tf\t22\tSweden\tFeb 1, 2007",
        f"{U2}\tm\t\tUnited States\tApr 28, 2008",
        f"{U3}\tm\tabc\tGermany\tApr 28, 2008",
        f"{U2}\tm\t30\tUnited States\tApr 28, 2008",
        "#id\tgender\tage\tcountry\tregistered",
    ])
    r = ingest_lastfm(plays, profiles=profiles)
    assert (r.profile_lines, r.profile_loaded, r.profile_rejected) == (5, 2, 3)
    with warehouse.writer() as con:
        rows = con.execute("SELECT gender, age, country, signup::VARCHAR FROM lastfm_profile ORDER BY signup").fetchall()
        reasons = [r[0] for r in con.execute(
            "SELECT reason FROM ingest_rejects WHERE file_kind = 'profiles' ORDER BY line_no").fetchall()]
    assert rows == [("f", 22, "Sweden", "2007-02-01"), ("m", None, "United States", "2008-04-28")]
    assert reasons[0] == "age is not an integer" and reasons[1].startswith("duplicate user") and reasons[2] == "header line"


def test_a_profile_whose_user_id_is_malformed_is_rejected_not_stored(tmp_path):
    """A profile line's user id is checked as a plays line's is: 'zzz' was stored as a user, listed in no reject,
    and then failed the lastfm_profiles suite, which quarantined the whole dump."""
    plays = tiny_dump(tmp_path / "d.tsv")
    profiles = write_lines(tmp_path / "p.tsv", [f"{U1}\tf\t22\tSweden\tFeb 1, 2007", "zzz\tm\t20\tUS\tNov 1, 2007",
                                                 f"{U2.upper()}\tm\t30\tChile\t"])
    r = ingest_lastfm(plays, profiles=profiles)
    assert (r.profile_lines, r.profile_loaded, r.profile_rejected) == (3, 1, 2)
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_user WHERE user_key IN ('zzz', ?)", [U2.upper()]).fetchone() == (0,)
        rejects = con.execute("SELECT line_no, reason FROM ingest_rejects WHERE file_kind = 'profiles' "
                              "ORDER BY line_no").fetchall()
    assert rejects == [(2, "user id is not a 40-character lower-case hex sha1"),
                       (3, "user id is not a 40-character lower-case hex sha1")]


def test_an_age_that_is_not_written_as_an_integer_is_rejected_not_rounded(tmp_path):
    """A cast alone stored 25.5 as 26, 1e1 as 10, 25_0 as 250 and 0x19 as 25, with nothing rejected."""
    plays = tiny_dump(tmp_path / "d.tsv")
    odd = ["25.5", "1e1", "25_0", "0x19"]
    users = [f"{i:040x}" for i in range(1, 6)]
    lines = [f"{u}\tm\t{age}\tChile\t" for u, age in zip(users, odd + [" 31 "], strict=True)]
    r = ingest_lastfm(plays, profiles=write_lines(tmp_path / "p.tsv", lines))
    assert (r.profile_loaded, r.profile_rejected) == (1, 4)
    with warehouse.writer() as con:
        assert con.execute("SELECT age FROM lastfm_profile").fetchall() == [(31,)]
        reasons = con.execute("SELECT DISTINCT reason FROM ingest_rejects WHERE file_kind = 'profiles'").fetchall()
    assert reasons == [("age is not an integer",)]


def test_a_control_character_in_a_gender_or_country_is_rejected_not_stored(tmp_path):
    """A gender of "m\\0" and a country holding NUL or an ESC sequence were stored as they were (an artist name's
    control characters were rejected, a profile's kept)."""
    plays = tiny_dump(tmp_path / "d.tsv")
    users = [f"{i:040x}" for i in range(1, 5)]
    fields = [("m\0", "Chile"), ("f", "Ch\0ile"), ("f", "\x1b[31mChile"), ("m", "Chile")]
    lines = [f"{u}\t{g}\t22\t{c}\tFeb 1, 2007" for u, (g, c) in zip(users, fields, strict=True)]
    r = ingest_lastfm(plays, profiles=write_lines(tmp_path / "p.tsv", lines))
    assert (r.profile_loaded, r.profile_rejected) == (1, 3)
    with warehouse.writer() as con:
        assert con.execute("SELECT gender, country FROM lastfm_profile").fetchall() == [("m", "Chile")]
        rejects = con.execute("SELECT line_no, reason, raw FROM ingest_rejects ORDER BY line_no").fetchall()
    assert rejects == [(1, "control character in gender", lines[0]), (2, "control character in country", lines[1]),
                       (3, "control character in country", lines[2])]


def test_1k_listening_events_aggregate_to_play_counts(tmp_path):
    path = write_lines(tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv", [
        f"user_000001\t2009-05-04T23:08:57Z\t{MB_A}\tDeep Dish\t\tFuck Me Im Famous",
        f"user_000001\t2009-05-04T13:54:10Z\t{MB_A}\tDeep Dish\t\tAnother",
        "user_000002\t2009-05-04T13:54:10Z\t\tSaxon\t\tWheels",
        "user_000002\tyesterday\t\tSaxon\t\tWheels",
        "user_000002\t2009-05-04T13:54:10Z\t\tSaxon",
    ])
    r = ingest_lastfm(path)
    assert (r.format, r.lines, r.loaded, r.rejected, r.users, r.artists) == ("1k", 5, 3, 2, 2, 2)
    with warehouse.writer() as con:
        assert _plays(con) == [("user_000001", "Deep Dish", 2, 2), ("user_000002", "Saxon", 1, 1)]
        assert {r[1].split(":")[0] for r in _rejects(con)} == {"timestamp is not an ISO-8601 time", "too few fields"}


def test_loaded_plus_rejected_is_lines_on_a_quirky_synthetic_dump(tmp_path):
    from musim.synth.lastfm import write_lastfm_dump

    s = write_lastfm_dump(tmp_path / "synth", users=300, artists=120, quirks=0.05, seed=5)
    r = ingest_lastfm(s.plays_path, profiles=s.profiles_path)
    n_lines = (tmp_path / "synth" / "usersha1-artmbid-artname-plays.tsv").read_bytes().count(b"\n")
    assert r.lines == n_lines == s.lines
    assert r.loaded + r.rejected == r.lines
    assert r.rejected >= sum(s.quirk_counts.get(q, 0) for q in (
        "too_few_fields", "too_many_fields", "plays_not_integer", "negative_plays", "empty_name", "invalid_utf8",
        "blank_line"))


def test_a_1k_user_id_unlike_the_dumps_is_rejected_as_the_quality_suite_would_fail_it(tmp_path):
    """`USER X` was loaded, and the lastfm_plays suite then failed the whole dump on it."""
    path = write_lines(tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv", [
        f"user_000001\t2009-05-04T23:08:57Z\t{MB_A}\tDeep Dish\t\tA",
        f"user_000002\t2009-05-04T13:54:10Z\t{MB_A}\tDeep Dish\t\tB",
        f"USER X\t2009-05-04T13:54:10Z\t{MB_A}\tDeep Dish\t\tC",
    ])
    result = ingest_lastfm(path)
    assert (result.loaded, result.rejected, result.users) == (2, 1, 2)
    with warehouse.writer() as con:
        assert con.execute("SELECT line_no, reason FROM ingest_rejects").fetchall() == [
            (3, "user id is not like user_000001 (the 1K dump's ids)")]


def test_a_rejected_1k_or_profile_line_keeps_its_exact_text_extra_fields_included(tmp_path):
    """raw was rebuilt from the read columns: a 9-field event line was stored with 7 fields, a 9-field profile
    line with 6."""
    events = [f"user_000001\t2009-05-04T23:08:57Z\t{MB_A}\tDeep Dish\t\tA",
              "user_000001\t2009-05-04T23:08:57Z\t\tB\t\tT\tx\ty\tz",
              "user_000001\tyesterday\t\tB\t\tT\t"]
    r = ingest_lastfm(write_lines(tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv", events))
    assert (r.loaded, r.rejected) == (1, 2)
    profiles = [f"{U1}\tf\t22\tSweden\tFeb 1, 2007", f"{U2}\tm\t30\tChile\tFeb 1, 2007\ta\tb\tc\t"]
    r = ingest_lastfm(tiny_dump(tmp_path / "d.tsv"), profiles=write_lines(tmp_path / "p.tsv", profiles))
    assert (r.profile_loaded, r.profile_rejected) == (1, 1)
    with warehouse.writer() as con:
        rows = con.execute("SELECT file_kind, line_no, raw FROM ingest_rejects WHERE file_kind <> 'plays' "
                           "ORDER BY file_kind, line_no").fetchall()
    assert rows == [("events", 2, events[1]), ("events", 3, events[2]), ("profiles", 2, profiles[1])]


def test_a_1k_timestamp_must_be_iso_8601_and_both_iso_forms_load(tmp_path):
    """try_cast alone read '2009/05/04 23:08', '2009-5-4 1:2:3', a zone name and a bare date as times, and
    refused the basic form '20090504T230857Z', all under the reason 'timestamp is not an ISO-8601 time'."""
    good = ["2009-05-04T23:08:57Z", "2009-05-04 23:08:57.250+02:00", "2009-05-04T23:08", "20090504T230857Z",
            "20090504T230857+0200"]
    bad = ["2009/05/04 23:08", "2009-5-4 1:2:3", "2009-05-04 23:08:57 Europe/Berlin", "0001-01-01", "-2009-05-04",
           "2009-02-30T10:00:00Z", "20090230T100000Z", "2009-05-04T23:08:57z"]
    lines = [f"user_000001\t{t}\t{MB_A}\tDeep Dish\t\tA" for t in good + bad]
    r = ingest_lastfm(write_lines(tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv", lines))
    assert (r.loaded, r.rejected) == (len(good), len(bad))
    with warehouse.writer() as con:
        assert _rejects(con) == [(len(good) + i + 1, "timestamp is not an ISO-8601 time", line)
                                 for i, line in enumerate(lines[len(good):])]



def test_a_1k_timestamp_with_a_zone_offset_no_place_has_is_rejected_with_its_reason(tmp_path):
    """DuckDB's cast takes any two digits of a zone offset's hours and minutes: '+99:00' (four days off), '+05:99'
    and '-12:30' loaded as times. An offset lies within -12:00..+14:00 and its minutes below 60, in both ISO forms;
    the plain and the shortened checks agree (tests/ingest/test_staging.py), and a time is checked, not stored."""
    good = ["2009-05-04T23:08:57+14:00", "2009-05-04T23:08:57-12:00", "2009-05-04T23:08:57+05:45", "2009-05-04T23:08-03",
            "20090504T230857-0930", "20090504T230857+14", "2009-05-04T23:08:57-00:00", " 2009-05-04T23:08:57+13:59 "]
    bad = ["2009-05-04T23:08:57+99:00", "2009-05-04T23:08:57+05:99", "2009-05-04T23:08:57+05:60",
           "2009-05-04T23:08:57+14:01", "2009-05-04T23:08:57-12:30", "2009-05-04T23:08:57+15", "20090504T230857+9900",
           "20090504T230857-1300", "2009-05-04 23:08:57.250+24:00", "2009-02-30T10:00:00+99:00"]
    lines = [f"user_000001\t{t}\t{MB_A}\tDeep Dish\t\tA" for t in good + bad]
    r = ingest_lastfm(write_lines(tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv", lines))
    assert (r.loaded, r.rejected) == (len(good), len(bad))
    reason = "time-zone offset of the timestamp out of range (-12:00 to +14:00, minutes 00 to 59)"
    with warehouse.writer() as con:
        assert _rejects(con) == [(len(good) + i + 1, reason, line) for i, line in enumerate(lines[len(good):])]
        assert con.execute("SELECT sum(plays) FROM lastfm_plays").fetchone()[0] == len(good)


def test_an_age_past_smallint_is_rejected_as_out_of_range_not_as_not_an_integer(tmp_path):
    plays = tiny_dump(tmp_path / "d.tsv")
    users = [f"{i:040x}" for i in range(1, 5)]
    lines = [f"{u}\tm\t{age}\tChile\t" for u, age in zip(users, ["32767", "-32768", "40000", "-99999999999999999999"],
                                                          strict=True)]
    r = ingest_lastfm(plays, profiles=write_lines(tmp_path / "p.tsv", lines))
    assert (r.profile_loaded, r.profile_rejected) == (2, 2)
    with warehouse.writer() as con:
        assert con.execute("SELECT age FROM lastfm_profile ORDER BY age").fetchall() == [(-32768,), (32767,)]
        assert con.execute("SELECT line_no, reason FROM ingest_rejects WHERE file_kind = 'profiles' "
                           "ORDER BY line_no").fetchall() == [(3, "age out of range: not from -32768 to 32767"),
                                                              (4, "age out of range: not from -32768 to 32767")]


@pytest.mark.parametrize("contiguous", [True, False], ids=["user-runs", "users-interleaved"])
def test_a_user_artist_whose_plays_sum_past_2_63_is_rejected_and_the_rest_loads(tmp_path, contiguous):
    """The exact sum was inserted into the BIGINT lastfm_plays.plays: a ConversionException, nothing stored.
    The pair is the user and the resolved artist: 'Foo' without an MBID is the artist of MB_A here."""
    big = "999999999999999999"
    pair = [f"{U1}\t{MB_A}\tFoo\t{big}", f"{U1}\t\tFoo\t{big}"] * 5  # 10 lines of one pair: 9.99...e18
    rest = [f"{U1}\t{MB_B}\tBar\t{big}", f"{U2}\t{MB_A}\tFoo\t{big}", f"{U2}\t\tFoo\t3"]
    lines = pair + rest if contiguous else [pair[0], *rest, *pair[1:]]
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines))
    assert (r.lines, r.loaded, r.rejected, r.users, r.artists) == (13, 3, 10, 2, 2)
    with warehouse.writer() as con:
        assert _plays(con) == [(U1, "Bar", int(big), 1), (U2, "Foo", int(big) + 3, 2)]
        rejects = _rejects(con)
    assert [(line, raw) for line, _, raw in rejects] == [(i + 1, t) for i, t in enumerate(lines) if t in pair]
    assert {reason for _, reason, _ in rejects} == {
        "plays of this user and artist sum past 2^63-1 (9223372036854775807): every line of the pair is rejected"}


def test_unicode_spaces_inside_a_name_collapse_as_ascii_ones_do(tmp_path):
    """RE2's \\s is ASCII only: 'Sigur\\u00a0Rós' was keyed 'name:sigur\\u00a0rós', an artist apart from 'Sigur
    Rós'. Every character str.isspace() takes now collapses, as musim.names.name_norm (the library's rule) has it;
    a zero-width space is no space (neither trimmed nor collapsed). (The C0 ones, \\x0b, \\x0c and \\x1c-\\x1f, and the
    C1 NEL, \\x85, Windows-1252's ellipsis read as Latin-1, are control characters, which reject a name inside it:
    tests/ingest/test_broken_input.py; a name of blanks alone is empty first.)"""
    from musim.names import name_norm

    spaces = [c for c in map(chr, range(0x3001)) if c.isspace() and c >= " " and c != "\x85"]
    lines = [f"{U1}\t\tSigur Rós\t5", f"{U4}\t\tSigur Rós\t5"] + [f"{U2}\t\tSigur{c}{c}Rós{c}\t1" for c in spaces]
    lines += [f"{U3}\t\tSigur\u200bRós\t2", f"{U3}\t\t\u3000\x0b\u2028\x85\t2", f"{U3}\t\tSigur\x85Rós\t2"]
    r = ingest_lastfm(write_lines(tmp_path / "d.tsv", lines))
    assert (r.loaded, r.rejected) == (len(lines) - 2, 2)
    with warehouse.writer() as con:
        artists = con.execute("SELECT artist_key, name_norm, name FROM artist ORDER BY artist_key").fetchall()
        assert [reason for _, reason, _ in _rejects(con)] == [
            "empty artist name and no valid MBID",
            "C1 control character in artist name (U+0080-U+009F: Windows-1252 text read as Latin-1?)"]
        spellings = con.execute("SELECT raw_name FROM artist_name_variant v JOIN artist a USING (artist_id) "
                                "WHERE a.artist_key = 'name:sigur rós'").fetchall()
    assert artists == [("name:sigur rós", "sigur rós", "Sigur Rós"), ("name:sigur\u200brós", "sigur\u200brós",
                                                                    "Sigur\u200bRós")]
    assert len(spellings) == len(spaces) + 1
    assert {name_norm(raw) for (raw,) in spellings} == {"sigur rós"}


def test_a_signup_cut_short_is_rejected_not_stored_as_year_20(tmp_path):
    """The last line of a profiles file cut mid-line ('Feb 27, 20'), or a two-digit year, was stored as a signup in
    the year 20 (or 2, or 8): strptime's %Y reads one to four digits. A signup's year has four digits."""
    plays = tiny_dump(tmp_path / "d.tsv")
    profiles = write_lines(tmp_path / "p.tsv", [
        f"{U1}\tf\t22\tSweden\tFeb 27, 20", f"{U2}\tm\t\tChile\t08-02-07", f"{U3}\tm\t\tChile\tFeb 7, 2",
        f"{U4}\tf\t30\tPeru\tFeb 7, 2008", f"{U1[:-1]}9\tm\t\t\t2008-2-7"], newline_at_end=False)
    r = ingest_lastfm(plays, profiles=profiles)
    assert (r.profile_lines, r.profile_loaded, r.profile_rejected) == (5, 2, 3)
    with warehouse.writer() as con:
        signups = con.execute("SELECT signup::VARCHAR FROM lastfm_profile ORDER BY 1").fetchall()
        rejects = con.execute("SELECT line_no, reason FROM ingest_rejects WHERE file_kind = 'profiles' "
                              "ORDER BY line_no").fetchall()
    assert signups == [("2008-02-07",), ("2008-02-07",)]
    assert rejects == [(n, 'signup is not a date like "Apr 28, 2008"') for n in (1, 2, 3)]
