"""The synthetic Last.FM 1K dump: shaped like the real one, deterministic, and ingested line for line as it says."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter

import pytest

from musim import warehouse
from musim.errors import ParameterError
from musim.ingest.lastfm import ingest_lastfm
from musim.synth.lastfm import PROFILE_1K_HEADER, QUIRKS_1K, write_lastfm_1k_dump

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
#: The reason the ingest gives each rejected quirk (blank_line rejects the empty line it adds).
REASON = {"not_iso_timestamp": "timestamp is not an ISO-8601 time", "impossible_date": "timestamp is not an ISO-8601 time",
          "too_few_fields": "too few fields", "too_many_fields": "too many fields", "invalid_utf8": "invalid UTF-8",
          "blank_line": "blank line", "empty_artist": "empty artist name and no valid MBID",
          "bad_user_id": "user id is not like user_000001"}


def test_a_quirky_1k_dump_ingests_with_exactly_the_loaded_and_rejected_lines_it_promises(tmp_path):
    s = write_lastfm_1k_dump(tmp_path / "dump", users=12, events=3000, quirks=0.05, seed=3)
    assert set(s.quirk_counts) == set(QUIRKS_1K)  # every quirk, at this rate and seed
    r = ingest_lastfm(s.events_path, profiles=s.profiles_path)
    data = (tmp_path / "dump" / "userid-timestamp-artid-artname-traid-traname.tsv").read_bytes()
    assert (r.format, r.lines, r.loaded, r.rejected, r.users) == (
        "1k", s.lines, s.expected_loaded, s.expected_rejected, 12)
    assert s.lines == data.count(b"\n") == 3000 + s.quirk_counts["blank_line"] + s.quirk_counts["duplicate_line"]
    assert (r.profile_lines, r.profile_loaded, r.profile_rejected) == (13, 12, 1)  # the header line
    with warehouse.writer() as con:
        reasons = con.execute("SELECT reason FROM ingest_rejects WHERE file_kind = 'events'").fetchall()
        assert con.execute("SELECT sum(lines) FROM lastfm_plays").fetchone()[0] == s.expected_loaded
    got = Counter(next(v for v in set(REASON.values()) if reason.startswith(v)) for (reason,) in reasons)
    want = Counter()
    for quirk, n in s.quirk_counts.items():
        if quirk in REASON:
            want[REASON[quirk]] += n
    assert got == want


def test_its_lines_are_shaped_like_the_real_1k_dump(tmp_path):
    s = write_lastfm_1k_dump(tmp_path, users=7, events=5000, seed=1)
    lines = (tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv").read_text(encoding="utf-8").split("\n")
    assert lines.pop() == "" and len(lines) == s.lines == s.expected_loaded == 5000 and s.expected_rejected == 0
    fields = [line.split("\t") for line in lines]
    assert {len(f) for f in fields} == {6} and not any("\r" in line for line in lines)
    users = [f[0] for f in fields]
    assert list(dict.fromkeys(users)) == [f"user_{i:06d}" for i in range(1, 8)]  # each user's lines together
    assert all(ISO.fullmatch(f[1]) for f in fields)
    for user in set(users):  # newest first, within the real dump's years
        times = [f[1] for f in fields if f[0] == user]
        assert times == sorted(times, reverse=True)
        assert "2005-02-14" <= times[-1] and times[0] < "2009-06-20"
    for column in (2, 4):  # artist and track MBIDs: valid UUIDs, some empty
        values = [f[column] for f in fields]
        assert 0 < values.count("") < len(values) / 2
        assert all(str(uuid.UUID(v)) == v for v in values if v)
    names = {f[3] for f in fields} | {f[5] for f in fields}
    assert all(n and n == n.strip() for n in names) and any(not n.isascii() for n in names)
    profiles = (tmp_path / "userid-profile.tsv").read_text(encoding="utf-8").splitlines()
    assert profiles[0] == PROFILE_1K_HEADER and [p.split("\t")[0] for p in profiles[1:]] == list(dict.fromkeys(users))
    sessions = sum(1 for a, b in zip(fields, fields[1:], strict=False) if a[0] == b[0] and _gap(b[1], a[1]) > 3600)
    assert 5000 / 40 < sessions < 5000 / 4  # listening sessions of about a dozen tracks


def _gap(earlier: str, later: str) -> float:
    return (dt.datetime.fromisoformat(later) - dt.datetime.fromisoformat(earlier)).total_seconds()


def test_the_same_seed_writes_the_same_dump_and_another_seed_another(tmp_path):
    def dump(name, seed):
        write_lastfm_1k_dump(tmp_path / name, users=5, events=2000, quirks=0.01, seed=seed)
        return [(tmp_path / name / f).read_bytes()
                for f in ("userid-timestamp-artid-artname-traid-traname.tsv", "userid-profile.tsv")]

    assert dump("a", 4) == dump("b", 4)
    assert dump("c", 5)[0] != dump("a", 4)[0]


def test_a_1k_dump_needs_an_event_per_user(tmp_path):
    with pytest.raises(ParameterError, match="at least one event per user"):
        write_lastfm_1k_dump(tmp_path, users=10, events=5)


def test_an_empty_output_folder_is_refused_not_the_working_folder(tmp_path, monkeypatch):
    """`musim synth lastfm "$OUT"` with OUT unset wrote the dump into the working folder."""
    from musim.synth.lastfm import write_lastfm_dump

    monkeypatch.chdir(tmp_path)
    for empty in ("", " "):
        with pytest.raises(ParameterError, match=r"an empty path was given \(an unset variable\?\)"):
            write_lastfm_dump(empty, users=5, artists=4)
    assert list(tmp_path.iterdir()) == []


def test_a_real_dumps_files_in_the_output_folder_are_refused_not_overwritten(tmp_path):
    """The dump's files carry the real dumps' names: a folder holding a real dump lost it, without a word."""
    from musim.synth.lastfm import PLAYS_FILE, write_lastfm_dump

    real = tmp_path / "lastfm-dataset-360K"
    real.mkdir()
    (real / PLAYS_FILE).write_bytes(b"the user's real plays\n")
    (real / "README.txt").write_text("theirs")
    with pytest.raises(ParameterError, match=f"{PLAYS_FILE} exists and is no synthetic dump's file"):
        write_lastfm_dump(real, users=20, artists=10)
    assert (real / PLAYS_FILE).read_bytes() == b"the user's real plays\n"
    assert sorted(p.name for p in real.iterdir()) == sorted([PLAYS_FILE, "README.txt"])

    only_1k = tmp_path / "lastfm-dataset-1K"
    only_1k.mkdir()
    (only_1k / "userid-profile.tsv").write_text("#id\tgender\n")
    with pytest.raises(ParameterError, match="userid-profile.tsv exists"):
        write_lastfm_1k_dump(only_1k, users=5, events=50)
    assert (only_1k / "userid-profile.tsv").read_text() == "#id\tgender\n"


def test_an_earlier_synthetic_dump_is_written_again_byte_for_byte_beside_other_files(tmp_path):
    from musim.synth.lastfm import PLAYS_FILE, PROFILE_FILE, TRUTH_FILE, write_lastfm_dump

    out = tmp_path / "dump"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    write_lastfm_dump(out, users=30, artists=12, seed=4, quirks=0.05)
    first = {n: (out / n).read_bytes() for n in (PLAYS_FILE, PROFILE_FILE, TRUTH_FILE)}
    write_lastfm_dump(out, users=30, artists=12, seed=4, quirks=0.05)
    assert {n: (out / n).read_bytes() for n in first} == first
    assert sorted(p.name for p in out.iterdir()) == sorted([*first, "notes.txt"])  # no temporary file left
    assert (out / "notes.txt").read_text() == "mine"


def test_a_360k_dump_too_large_for_the_memory_is_refused_naming_the_option_before_any_file(tmp_path, monkeypatch):
    from musim.synth import lastfm

    monkeypatch.setattr(lastfm, "available_memory", lambda: 64 << 20)
    for kwargs, says in [({"users": 2000, "artists": 400, "max_artists_per_user": 1000},
                          "--users 2,000 with up to 1,000 artists each needs about "),
                         ({"users": 5, "artists": 200_000}, "--artists 200,000 needs about ")]:
        with pytest.raises(ParameterError) as refused:
            lastfm.write_lastfm_dump(tmp_path / "dump", **kwargs)
        assert str(refused.value).startswith(says) and str(refused.value).endswith(
            "GiB of memory to generate, more than the 0.1 GiB available here: lower "
            + ("--users or --max-artists-per-user" if "users" in says else "--artists")), refused.value
    assert not (tmp_path / "dump").exists()
    assert lastfm.write_lastfm_dump(tmp_path / "dump", users=200, artists=40).lines > 0  # 8 MB: it fits


def test_the_memory_a_360k_dump_is_said_to_need_is_more_than_it_takes(tmp_path):
    """The refusal above is only as good as its estimate: a dump of 20,000 users (a million lines) takes less than
    :func:`memory_needed` says, measured as the growth of the peak memory of a process that writes it."""
    import json
    import subprocess
    import sys

    # the peak of this process's own memory (VmHWM): getrusage's ru_maxrss survives exec, so in a child of a large
    # process (a pytest-xdist worker late in the run) it read the parent's peak before and after (growth 0)
    script = ("import json, sys; from musim.synth.lastfm import write_lastfm_dump, memory_needed\n"
              "def peak():\n"
              "    with open('/proc/self/status') as fh:\n"
              "        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith('VmHWM:'))\n"
              "before = peak()\n"
              "write_lastfm_dump(sys.argv[1], users=20_000, artists=3_000, quirks=0.01)\n"
              "after = peak()\n"
              "print(json.dumps([after - before, memory_needed(users=20_000, artists=3_000)[0]]))")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "dump")], capture_output=True, text=True,
                          check=True, timeout=300)
    took, said = json.loads(done.stdout)
    assert 0 < took < said, (took, said)
