"""The one name rule: a music library's artist key, and what `musim similar` finds a typed name by."""

from __future__ import annotations

import re

import pytest

from musim.names import name_key, name_norm, paren_split, plain_text


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


#: The regular expression name_key stripped a gloss with before it was quadratic: the reference of paren_split.
_OLD_PAREN = re.compile(r"^(.*?\S)\s*[(\[]([^)\]]*)[)\]]\s*$")


def _plain_name_key(name: str) -> str:
    """name_key by its plain steps only (the Unicode fold, every regular expression): the reference of the
    short cuts it takes for speed."""
    import re

    from musim.names import _URL, _fold_unicode

    text = _fold_unicode(name)
    paren = _OLD_PAREN.match(text)
    if paren and len(paren.group(2).split()) >= 2:
        text = paren.group(1)
    if " " not in text:
        url = _URL.match(text)
        if url and ("." in text or "://" in text):
            text = url.group(1)
    return re.sub(r"[\W_]+", "", text) or re.sub(r"\s+", "", text)


def test_the_short_cuts_give_the_plain_rules_keys():
    import random

    rng = random.Random(7)
    alphabet = "abcXYZ019 ._-/()[]!&'\x00\t:wWé\u200bＡΣς"
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(20000)]
    names += ["www.elysis.de", "Maxstack (Max McCracken)", "Nirvana (UK)", "!!!", "http://x.com/", " A  B "]
    for n in names:
        assert name_key(n) == _plain_name_key(n), repr(n)


def test_paren_split_gives_what_the_old_regular_expression_matched():
    import random

    rng = random.Random(11)
    alphabet = "ab Z9()[]  \t\n\x1c\u3000\u00a0é"
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(50000)]
    names += ["Maxstack (Max McCracken)", "Nirvana (UK)", "(a (b c)", " (x) (y z) ", "a\nb (c d)", "a (b\nc)",
              "[x]", "a [b) ", "a ((b)", "((", "a (b)c)", "()" * 5 + ")"]
    for n in names:
        old = _OLD_PAREN.match(n)
        assert paren_split(n) == (old.groups() if old else None), repr(n)


def test_name_key_of_pathological_brackets_is_the_same_and_a_long_one_completes():
    for n in range(1, 40):
        name = "x " + "(" * n + "a b" + ")" * n
        assert name_key(name) == _plain_name_key(name), n
    assert name_key("(" * 50000 + ")" * 50000) == "(" * 50000 + ")" * 50000  # symbols alone: its symbols
    assert name_key("a (" + "b " * 50000 + ")") == "a"  # a long gloss still goes


def test_a_lookup_refuses_exactly_the_c1_control_characters_that_ingest_rejects():
    """A looked-up name holding U+0080-U+009F is refused (ingest rejects such names); the characters next to them
    (DEL, the no-break space, ordinary accents) are not, and the Windows-1252 reading is offered where it exists."""
    from musim.names import lookup_problem

    for c in map(chr, range(0x80, 0xA0)):
        problem = lookup_problem(f"Guns N{c} Roses")
        assert problem is not None and problem.startswith(f"holds U+{ord(c):04X}, a C1 control character"), c
    assert "(in Windows-1252: 'Guns N’ Roses')" in lookup_problem("Guns N\x92 Roses")
    assert "Windows-1252:" not in lookup_problem("Guns N\x81 Roses")  # no character of Windows-1252
    assert all(lookup_problem(n) is None for n in ("Sigur\u00a0Rós", "Björk", "a\x7fb", "ＡＢＣ", "\u202eEvil", "x" * 300))
    assert name_norm("Sigur\x85Rós") == "sigur rós"  # ingest's rule (sql/ingest/load_dump.sql), kept: keys unchanged
