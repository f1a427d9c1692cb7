"""A profiles file of another dump is loaded, but not silently: few of its users have plays in the dump."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

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


def test_a_dumps_profiles_are_replaced_with_replace_profiles_rejects_too(tmp_path, capsys):
    """A dump ingested with another dump's profiles could never get its own: no command replaced them."""
    from musim import warehouse
    from musim.errors import IngestError

    plays = tiny_dump(tmp_path / PLAYS)
    wrong = write_lines(tmp_path / "other" / PROFILES, [*[f"{u}\tm\t22\tSweden\t" for u in STRANGERS], "broken line"])
    first = ingest_lastfm(plays, profiles=wrong)
    assert (first.profile_loaded, first.profile_rejected) == (3, 1) and first.profiles_warning
    right = write_lines(tmp_path / PROFILES, [f"{U1}\tm\t22\tSweden\t", f"{U2}\tf\t\t\t"])
    with pytest.raises(IngestError, match=r"was ingested with another profiles file \(usersha1-profile.tsv\); nothing "
                                          r"was changed. To load this one in their place: .* --replace-profiles$"):
        ingest_lastfm(plays, profiles=right)
    assert main(["ingest", "lastfm", str(plays), "--profiles", str(right), "--replace-profiles"]) == 0
    out = capsys.readouterr().out
    assert "its profiles file usersha1-profile.tsv is replaced by" in out and "warning" not in out
    assert "profiles: 2 lines = 2 loaded + 0 rejected" in out
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_profile").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM ingest_rejects WHERE file_kind = 'profiles'").fetchone()[0] == 0
        assert con.execute("SELECT profile_lines, profile_loaded, profile_rejected FROM lastfm_dump").fetchall() == [
            (2, 2, 0)]

    refused = write_lines(tmp_path / "bad" / PROFILES, ["broken", "also broken"])  # all rejected: old ones kept
    with pytest.raises(IngestError):
        ingest_lastfm(plays, profiles=refused, replace_profiles=True)
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM lastfm_profile").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM ingest_rejects WHERE file_kind = 'profiles'").fetchone()[0] == 0


def test_replace_profiles_needs_profiles(tmp_path, capsys):
    plays = tiny_dump(tmp_path / PLAYS)
    assert main(["ingest", "lastfm", str(plays), "--replace-profiles"]) != 0
    assert "--replace-profiles needs --profiles PROFILES" in capsys.readouterr().err


def _gzip_k(path):
    with open(path, "rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)


@pytest.mark.parametrize("copied", ["plays", "plays and profiles"])
def test_a_folder_with_gzip_k_copies_is_one_dump_with_its_profiles(tmp_path, capsys, copied):
    """`gzip -k d1/usersha1-artmbid-artname-plays.tsv; musim ingest lastfm d1` was refused ("is a directory holding
    ...plays.tsv, ...plays.tsv.gz: pass the dump file itself"), and doing that loaded no profiles, silently; a
    profiles file beside its copy was refused as two profiles files."""
    d1 = tmp_path / "d1"
    plays = tiny_dump(d1 / PLAYS)
    profiles = write_lines(d1 / PROFILES, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007", f"{U2}\tf\t\t\t"])
    _gzip_k(plays)
    if copied == "plays and profiles":
        _gzip_k(profiles)
    assert main(["ingest", "lastfm", str(d1), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["loaded"], result["profile_lines"], result["profile_loaded"]) == (9, 2, 2)


def test_a_folder_with_twins_of_other_content_is_refused_naming_both(tmp_path, capsys):
    """`musim ingest lastfm d1` read X.tsv and left X.tsv.gz (other plays, or other profiles) unread, silently."""
    d1 = tmp_path / "d1"
    write_lines(d1 / PLAYS, [f"{U1}\t\tArtistA\t3", f"{U1}\t\tArtistB\t2"])
    write_lines(d1 / f"{PLAYS}.gz", [f"{U2}\t\tArtistC\t5", f"{U2}\t\tArtistD\t1"], gz=True)
    assert main(["ingest", "lastfm", str(d1)]) != 0
    err = capsys.readouterr().err
    assert (f"{d1} is a directory holding {PLAYS}, {PLAYS}.gz ({PLAYS} and {PLAYS}.gz have different content "
            "(not a gzip -k copy)): pass the dump file itself") in err
    (d1 / f"{PLAYS}.gz").unlink()
    write_lines(d1 / PROFILES, [f"{U1}\tm\t22\tSweden\tFeb 1, 2007"])
    write_lines(d1 / f"{PROFILES}.gz", [f"{U2}\tf\t\t\t"], gz=True)
    assert main(["ingest", "lastfm", str(d1)]) != 0
    assert (f"holds 2 profiles files ({PROFILES}, {PROFILES}.gz; {PROFILES} and {PROFILES}.gz have different content "
            "(not a gzip -k copy)): nothing was stored") in capsys.readouterr().err
