"""Artist names: the one rule that says two spellings name the same artist, and the warehouse's normal form.

:func:`name_key` is the key a music library groups an artist's spellings by, and the key ``musim similar`` finds
an artist by when its name is not typed as stored: equal up to invisible characters and compatibility forms,
case, the accents of Latin letters, punctuation and spacing (``OaktamSoljun`` = ``Oaktam Soljun``), URL
decoration (``www.elysis.de`` = ``elysis``) and a parenthesised real name (``Maxstack (Max McCracken)`` =
``Maxstack``); a one-word qualifier keeps artists apart (``Nirvana (UK)`` is not ``Nirvana (US)``), the marks of
other scripts are letters (``ガガ`` is not ``カカ``) and a name of symbols alone (``!!!``) is its symbols.
"""

from __future__ import annotations

import re
import unicodedata

#: The version of :func:`name_key`'s rule: raise it with any change of the keys it gives, and the next publish
#: keys every artist again (keys are kept per artist in the warehouse, ``artist_name_key``).
NAME_KEY_RULE = 1

#: The longest name a lookup takes (``/api/suggest?q=``, ``/api/similar?artist=``, ``musim similar NAME``): above any
#: real artist name, and it bounds the work of a fuzzy match (whose cost grows with the query's length).
MAX_QUERY_CHARS = 300

#: The C1 control characters (U+0080-U+009F). No artist name holds one: Last.FM ingest rejects such a name as
#: Windows-1252 text decoded as Latin-1 (``Guns N\x92 Roses`` for ``Guns N’ Roses``), so a name looked up with one is
#: refused (:func:`lookup_problem`) rather than matched as the name without it (to :func:`name_norm` NEL, U+0085, is a
#: space, as to ingest's rule; :func:`name_key` drops every control character).
_C1 = re.compile("[\x80-\x9f]")

_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\d?\.)?([^/\s]+?)"
                  r"(?:\.(?:com|net|org|info|biz|de|fr|uk|co|io|eu|nl|it|es|ru|pl|be|ch|at|se|fm|us|ca))+/?(?:/.*)?$")


def paren_split(text: str) -> tuple[str, str] | None:
    """``text`` as (what stands before, what is inside) a closing bracketed part (``Maxstack (Max McCracken)`` ->
    ``("Maxstack", "Max McCracken")``), or None. In linear time, whatever the text (a regular expression took
    quadratic time on ``"(" * n + ")" * n``); it gives what ``^(.*?\S)\s*[(\[]([^)\]]*)[)\]]\s*$`` matches: the
    leftmost opening bracket after the last closing one but the final, with something before it on the first line."""
    t = text.rstrip()
    if not t.endswith((")", "]")):
        return None
    close = len(t) - 1
    start = max(t.rfind(")", 0, close), t.rfind("]", 0, close)) + 1
    for j in range(start, close):
        if t[j] not in "([":
            continue
        k = len(t[:j].rstrip())
        if k == 0:  # only spaces before this bracket: the next one has this one before it
            continue
        return None if "\n" in t[:k] else (t[:k], t[j + 1:close])
    return None


def plain_text(text: str) -> str:
    """NFKC (full-width and compatibility forms are their plain letters), NULs as spaces, no invisible format
    characters (zero-width spaces, direction marks), trimmed: a name as a user would type it."""
    text = unicodedata.normalize("NFKC", text.replace("\x00", " "))
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()


def fold(text: str) -> str:
    """:func:`plain_text`, case and the accents of Latin letters folded (``Beyoncé`` = ``beyonce``); the marks of
    other scripts are letters of their own (``ガガ`` is not ``カカ``, ``й`` not ``и``)."""
    if text.isascii():  # no compatibility form, format character or accent: the Unicode steps change nothing
        return text.replace("\x00", " ").strip().lower().strip()
    return _fold_unicode(text)


def _fold_unicode(text: str) -> str:
    """:func:`fold` by the Unicode steps alone (also the reference its ASCII path is tested against)."""
    out: list[str] = []
    for c in unicodedata.normalize("NFKD", plain_text(text)):
        if unicodedata.combining(c) and out and "LATIN" in unicodedata.name(out[-1], ""):
            continue
        out.append(c)
    return unicodedata.normalize("NFC", "".join(out)).casefold().strip()


#: What ``[\W_]`` matches in ASCII text: the characters that are not letters or digits.
_ASCII_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def name_key(name: str) -> str:
    """The key shared by the spellings of one artist (see the module docstring); ``""`` for no name. Publishing a
    snapshot keys every artist (290K at the full dump), so the common case is short-cut: ASCII text skips the
    Unicode steps and the regular expressions only run where their first character can match."""
    text = fold(name)
    if text.endswith((")", "]")):
        paren = paren_split(text)
        if paren and len(paren[1].split()) >= 2:  # a gloss ("Maxstack (Max McCracken)"), not a qualifier
            text = paren[0]                        # that tells artists apart ("Nirvana (UK)", "(Japan)")
    if " " not in text and ("." in text or "://" in text):
        url = _URL.match(text)
        if url:
            text = url.group(1)
    if text.isascii():  # most names: letters, digits and spaces
        joined = text.replace(" ", "")
        key = joined if joined.isalnum() else _ASCII_NOT_ALNUM.sub("", text)
    else:
        key = re.sub(r"[\W_]+", "", text)
    return key or re.sub(r"\s+", "", text)  # "!!!" is its symbols


def url_name(name: str) -> str | None:
    """The name inside a URL spelling (``www.elysis.de`` -> ``elysis``), ``None`` when it is not one."""
    url = _URL.match(name.strip()) if " " not in name.strip() else None
    return url.group(1) if url and url.group(1) else None


def lookup_problem(name: str) -> str | None:
    """Why ``name`` cannot be looked up as typed (``musim similar NAME``, the web page's artist), in words that
    follow "the artist name": it holds a C1 control character, which no artist name holds (see :data:`_C1`); with
    the name as Windows-1252 would read it, where it reads as one. ``None``: it can be looked up."""
    found = _C1.search(name)
    if found is None:
        return None
    char = found.group()
    meant = "".join(_cp1252(c) for c in name)
    reads = "" if _C1.search(meant) else f" (in Windows-1252: {meant!r})"
    return (f"holds U+{ord(char):04X}, a C1 control character (U+0080-U+009F), at character {found.start() + 1}, "
            f"which an artist name never holds (Last.FM ingest rejects it: Windows-1252 text read as Latin-1?); type the "
            f"name as it reads{reads}, or ask for the artist by `--id N` or `--mbid MBID`")


def _cp1252(c: str) -> str:
    """``c``, a C1 control character as the Windows-1252 character of its byte (``\x92`` -> ``’``); itself where
    Windows-1252 has none (``\x81``) and for any other character."""
    if not _C1.fullmatch(c):
        return c
    try:
        return bytes([ord(c)]).decode("cp1252")
    except UnicodeDecodeError:
        return c


def name_norm(name: str) -> str:
    """The warehouse's ``artist.name_norm`` (as the SQL macro ``name_norm()`` computes it, ``sql/warehouse/macros.sql``,
    which Last.FM ingest and the searches call): NFC, lower case, whitespace trimmed and collapsed. The two agree
    (tests/test_sql.py) but on U+0130 (``İ``: ``i`` + a combining dot here, ``i`` to DuckDB) and a Greek capital sigma
    ending a word (the final ``ς`` here, ``σ`` to DuckDB). NEL (U+0085) is whitespace to both, but ingest rejects a
    name holding it (a C1 control character) and a lookup refuses one (:func:`lookup_problem`)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", name)).strip().lower()
