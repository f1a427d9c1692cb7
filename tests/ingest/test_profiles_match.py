"""A profiles file of another dump is loaded, but not silently: few of its users have plays in the dump."""

from __future__ import annotations

import json

from musim.cli import main
from musim.ingest.lastfm import ingest_lastfm
from tests.lastfm_files import U1, U2, tiny_dump, write_lines

PLAYS = "usersha1-artmbid-artname-plays.tsv"
PROFILES = "usersha1-profile.tsv"
STRANGERS = ["e" * 40, "f" * 40, "0" * 40]


def _other_dumps_profiles(path):
    return write_lines(path, [f"{u}\tm\t22\tSweden\tFeb 1, 2007" for u in STRANGERS])


def test_profiles_of_other_users_are_warned_about_in_the_summary_and_json(tmp_path, capsys):
    plays = tiny_dump(tmp_path / PLAYS)
    other = _other_dumps_profiles(tmp_path / "other" / PROFILES)
    assert main(["ingest", "lastfm", str(plays), "--profiles", str(other), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["profile_loaded"] == 3
    assert summary["profiles_warning"] == (f"{PROFILES}: only 0 of its 3 profiles (0%) are of users with plays in dump "
                                           f"{summary['dump_id'][:12]}: is it this dump's profiles file?")


def test_profiles_given_later_that_match_few_users_are_warned_about(tmp_path, capsys):
    plays = tiny_dump(tmp_path / PLAYS)
    assert ingest_lastfm(plays).profile_lines == 0
    other = write_lines(tmp_path / "other" / PROFILES, [f"{U1}\tm\t22\tSweden\t", *[f"{u}\tf\t\t\t" for u in STRANGERS]])
    assert main(["ingest", "lastfm", str(plays), "--profiles", str(other)]) == 0
    out = capsys.readouterr().out
    assert "without profiles: its profiles file" in out
    assert f"warning: {PROFILES}: only 1 of its 4 profiles (25%) are of users with plays in dump" in out


def test_the_dumps_own_profiles_bring_no_warning(tmp_path, capsys):
    plays = tiny_dump(tmp_path / PLAYS)
    own = write_lines(tmp_path / PROFILES, [f"{U1}\tm\t22\tSweden\t", f"{U2}\tf\t\t\t", f"{STRANGERS[0]}\tf\t\t\t"])
    result = ingest_lastfm(plays, profiles=own)  # a profile or two without plays is the real dump's way
    assert result.profile_loaded == 3 and result.profiles_warning is None
    assert main(["ingest", "lastfm", str(plays)]) == 0
    assert "warning" not in capsys.readouterr().out
