"""The one name rule: a music library's artist key, and what `musim similar` finds a typed name by."""

from __future__ import annotations

import pytest

from musim.names import name_key, name_norm, plain_text


@pytest.mark.parametrize(("a", "b"), [
    ("elysis", "www.elysis.de"), ("Elysis", "http://www.elysis.de/"), ("Maxstack", "Maxstack (Max McCracken)"),
    ("AC/DC", "ac dc"), ("Björk", "bjork"), ("The  Band", "the band."), ("Maxstack", "maxstack.co.uk"),
    ("Oaktam Soljun", "OaktamSoljun"), ("Oaktam Soljun", "oaktam-soljun"),
])
def test_spellings_of_one_artist_share_a_key(a, b):
    assert name_key(a) == name_key(b) != ""


def test_different_artists_keep_different_keys():
    assert len({name_key(n) for n in ("Elysis", "Elysium", "Max", "Maxstack", "Muse", "Mouse")}) == 6


def test_a_name_typed_with_full_width_letters_or_invisible_characters_has_the_plain_names_key():
    assert name_key("Ｏａｋｔａｍ Ｓｏｌｊｕｎ") == name_key("Oaktam\u200bSoljun") == name_key("Oaktam Soljun")
    assert plain_text(" Ｍａｘ\u200e\x00 ") == "Max"


def test_the_normal_form_keeps_spaces_and_punctuation():
    assert name_norm("  Oaktam   SOLJUN ") == "oaktam soljun" != name_norm("OaktamSoljun")
    assert name_norm("AC/DC") == "ac/dc"
