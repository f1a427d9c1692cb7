"""Artist-name matching: normalisation, exact, fuzzy and non-matches."""

from __future__ import annotations

import pytest

from musim.acquire import ArtistCandidate, match_artist, normalize_name, similarity
from musim.errors import ParameterError


def cand(name: str, popularity: float | None = None, pid: str | None = None) -> ArtistCandidate:
    return ArtistCandidate("test", pid or name, name, popularity)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  The Beatles ", "beatles"),
        ("Beyoncé", "beyonce"),
        ("Simon & Garfunkel", "simon and garfunkel"),
        ("AC/DC", "ac dc"),
        ("Guns N' Roses", "guns n roses"),
        ("Sigur Rós", "sigur ros"),
        ("The The", "the"),
        ("MØ", "mø"),  # Ø has no decomposition: kept, casefolded
        ("", ""),
    ],
)
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


def test_exact_match_ignores_case_accents_article_and_punctuation():
    m = match_artist("the beyonce", [cand("Muse"), cand("Beyoncé", 10)])
    assert m is not None and m.method == "exact" and m.score == 1.0
    assert m.candidate.name == "Beyoncé"


def test_exact_match_prefers_the_most_popular_namesake():
    m = match_artist("Nirvana", [cand("Nirvana", 5, "uk"), cand("Nirvana", 900, "us"), cand("Nirvana 2")])
    assert m is not None and m.candidate.provider_artist_id == "us"


def test_misspelled_artist_matches_fuzzily_with_its_score():
    m = match_artist("Radiohead", [cand("Radiohed"), cand("Muse")], threshold=0.85)
    assert m is not None and m.method == "fuzzy"
    assert m.candidate.name == "Radiohed"
    assert m.score == pytest.approx(similarity("Radiohead", "Radiohed"), abs=1e-4)
    assert 0.85 <= m.score < 1.0


@pytest.mark.parametrize("other", ["Muse", "Mute", "Radio Moscow", "Portishead"])
def test_a_different_artist_does_not_match(other):
    assert match_artist("Radiohead" if other != "Mute" else "Muse", [cand(other)]) is None


def test_threshold_is_configurable():
    assert match_artist("Radiohead", [cand("Radiohed")], threshold=0.99) is None
    assert match_artist("Muse", [cand("Mute")], threshold=0.7) is not None


def test_no_candidates_or_empty_query_is_no_match():
    assert match_artist("Radiohead", []) is None
    assert match_artist("  ", [cand("Radiohead")]) is None
    with pytest.raises(ParameterError):
        match_artist("x", [cand("x")], threshold=1.5)


def test_a_name_of_punctuation_alone_is_a_name(provider_server):
    """"!!!" (the band) normalised to nothing: it never matched, not even the provider's own "!!!", and in a local
    folder "!!!" and "+/-" were one artist."""
    from musim.acquire.providers import DeezerProvider
    from tests.fakes.provider_server import FakeArtist, FakeProviderServer, FakeTrack

    assert normalize_name("!!!") == "!!!" and normalize_name(" + / - ") == "+ / -" and normalize_name("   ") == ""
    assert normalize_name("!!!") != normalize_name("+/-")
    match = match_artist("!!!", [cand("+/-", 90), cand("!!!", 10)])
    assert match is not None and match.method == "exact" and match.candidate.name == "!!!"
    with FakeProviderServer([FakeArtist("+/-", [FakeTrack("A")]), FakeArtist("!!!", [FakeTrack("B")])]) as server:
        with DeezerProvider(server.settings(), fetch_album_genre=False) as deezer:
            found = deezer.match_artist("!!!")
    assert found is not None and found.candidate.name == "!!!"
