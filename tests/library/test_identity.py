"""Library artists and Last.FM artists are one catalogue: the library's rule (musim.library.identity) decides who
meets whom, at `library add` and at every ingest, so an artist is one artist whichever came first."""

from __future__ import annotations

import pytest

from musim import warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.library import add, list_tracks
from tests.lastfm_files import MB_A, MB_B, MB_C, U1, U2, U3, write_lines
from tests.library.conftest import write_audio, write_tags

MB_D = "44444444-4444-4444-8444-444444444444"
MB_E = "55555555-5555-4555-8555-555555555555"

# (user, MBID, name, plays): Deliragul has an MBID in the dump only, Solo Act in the library only; Nirvana has
# another MBID in each (two bands); Tagged Band has one MBID in both.
PLAYS = [(U1, MB_B, "Deliragul", 5), (U2, MB_B, "Deliragul", 3), (U1, MB_A, "Tagged Band", 4),
         (U3, "", "Solo Act", 2), (U2, "", "Solo Act", 6), (U3, MB_D, "Nirvana", 7), (U1, MB_D, "Nirvana", 1)]


def _dump(path, fmt: str):
    if fmt == "1k":  # listening events: one line per play
        lines = [f"user_{ord(u[0]):06d}\t2009-05-04T23:08:{s:02d}Z\t{m}\t{n}\t\tSong {s}"
                 for u, m, n, p in PLAYS for s in range(p)]
    else:
        lines = [f"{u}\t{m}\t{n}\t{p}" for u, m, n, p in PLAYS]
    return write_lines(path, lines)


def _music(root):
    """Untagged Deliragul (its folder names it), Tagged Band, Solo Act and another Nirvana, tagged with MBIDs."""
    write_audio(root / "Deliragul" / "Some Album" / "01 - U 1.ogg", "ogg", seconds=6, freq=300)
    write_audio(root / "Deliragul" / "Some Album" / "02 - U 2.ogg", "ogg", seconds=6, freq=350)
    for i, (artist, mbid) in enumerate((("Tagged Band", MB_A), ("Solo Act", MB_E), ("Nirvana", MB_C))):
        write_tags(write_audio(root / f"{i}.flac", "flac", seconds=6, freq=400 + 60 * i), "flac", artist=artist,
                   mbid=mbid, title=f"Song {i}")
    return root


def _catalogue() -> list[tuple]:
    """Every catalogue artist, ids aside: key, MBID, name, its plays, library tracks, name, MBID and match."""
    with warehouse.writer() as con:
        return con.execute("""
            SELECT a.artist_key, CAST(a.mbid AS VARCHAR), a.name,
                   (SELECT sum(plays) FROM lastfm_plays p WHERE p.artist_id = a.artist_id),
                   (SELECT count(*) FROM library_track t WHERE t.artist_id = a.artist_id),
                   l.name, CAST(l.mbid AS VARCHAR), l.lastfm_match,
                   (SELECT list(raw_name ORDER BY raw_name) FROM artist_name_variant v
                    WHERE v.artist_id = a.artist_id AND v.dump_id <> 'library')
            FROM artist a LEFT JOIN library_artist l USING (artist_id)
            ORDER BY ALL""").fetchall()


@pytest.mark.parametrize("engine,fmt", [("c", "360k"), ("duckdb", "360k"), ("duckdb", "1k")])
def test_an_artist_is_one_artist_whether_the_library_or_the_dump_came_first(tmp_path, monkeypatch, engine, fmt):
    """Library first, then `musim ingest lastfm`: an untagged library artist and the same artist in the dump, with an
    MBID, were two artists (`musim similar Deliragul --audio` answered for the dump's, with no audio), and the
    library's `last.fm` column said `none` even of an artist the dump met by its MBID. The dump first, then the
    library: one artist each."""
    music, plays = _music(tmp_path / "music"), _dump(tmp_path / "plays.tsv", fmt)
    got = {}
    for first in ("library", "dump"):
        monkeypatch.setenv("MUSIM_HOME", str(tmp_path / first))
        steps = [lambda: add([music]), lambda: ingest_lastfm(plays, fmt=fmt, engine=engine)]
        for step in steps if first == "library" else steps[::-1]:
            step()
        got[first] = _catalogue()
        matched = {t["artist"]: t["lastfm_match"] for t in list_tracks()}
        assert matched == {"Deliragul": "name", "Tagged Band": "mbid", "Solo Act": "name", "Nirvana": "none"}, first
    assert got["library"] == got["dump"]
    assert [r[:5] for r in got["library"] if r[2] == "Deliragul"] == [(f"mbid:{MB_B}", MB_B, "Deliragul", 8, 2)]
    assert [r[:5] for r in got["library"] if r[2] == "Nirvana"] == [  # two bands: never joined across MBIDs
        (f"mbid:{MB_C}", MB_C, "Nirvana", None, 1), (f"mbid:{MB_D}", MB_D, "Nirvana", 8, 0)]


def test_an_artist_of_the_dump_two_library_artists_meet_stays_apart_and_the_ingest_checks_pass(tmp_path):
    """Two library artists meet one new artist of the dump (one by its name, one by a spelling's key): it joins
    neither (the library cannot be regrouped by an ingest); the dump loads whole and its tables keep their keys."""
    root = tmp_path / "music"
    for i, name in enumerate(("Sigur Rós", "Sigur Ros (Iceland)")):
        write_tags(write_audio(root / f"{i}.ogg", "ogg", seconds=6, freq=300 + 90 * i), "ogg", artist=name)
    assert add([root]).artists == 2
    result = ingest_lastfm(write_lines(tmp_path / "p.tsv", [f"{U1}\t{MB_A}\tSigur Rós\t3",
                                                            f"{U2}\t{MB_A}\tSigur Ros (Iceland)\t1",
                                                            f"{U3}\t{MB_A}\tSigur Rós\t2"]))
    assert result.loaded == result.lines == 3 and result.artists == 1
    rows = _catalogue()
    assert [(r[0], r[3], r[4], r[7]) for r in rows] == [
        (f"mbid:{MB_A}", 6, 0, None), ("name:sigur ros (iceland)", None, 1, "none"), ("name:sigur rós", None, 1, "none")]
