"""Artist-name matching: normalised equality first, then rapidfuzz similarity above a threshold."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz

from musim.acquire.models import ArtistCandidate, ArtistMatch
from musim.errors import ParameterError

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_name(name: str) -> str:
    """Comparable form of an artist name.

    Casefold, strip accents (NFKD, combining marks dropped), ``&`` → ``and``, punctuation and runs of
    whitespace → one space, a leading ``"the "`` dropped (unless nothing would remain); a name of punctuation
    alone is kept as it is written (casefolded, spaces collapsed), so that ``"!!!"`` is a name, not nothing.

    Examples
    --------
    >>> normalize_name("  The Beatles ")
    'beatles'
    >>> normalize_name("Beyoncé & Jay-Z")
    'beyonce and jay z'
    """
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("&", " and ")
    text = _NON_WORD.sub(" ", text).strip()
    if not text:  # a name of punctuation alone ("!!!", "+/-"): itself, casefolded, not nothing (no name at all)
        return " ".join(name.casefold().split())
    if text.startswith("the ") and len(text) > 4:
        text = text[4:]
    return text


def similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two names after :func:`normalize_name` (rapidfuzz token-sort ratio)."""
    return fuzz.token_sort_ratio(normalize_name(a), normalize_name(b)) / 100.0


def match_artist(
    query: str, candidates: Iterable[ArtistCandidate], *, threshold: float = 0.85
) -> ArtistMatch | None:
    """Choose the candidate that is ``query``.

    Parameters
    ----------
    query : str
        The wanted artist's name (e.g. from Last.FM).
    candidates : iterable of ArtistCandidate
        What a provider's search returned, in its order.
    threshold : float
        Minimum :func:`similarity` in [0, 1] for a fuzzy match.

    Returns
    -------
    ArtistMatch or None
        ``method="exact"`` (score 1.0) when a normalised name is equal (the most popular such candidate),
        else ``"fuzzy"`` with the best score if it reaches ``threshold``; ``None`` otherwise.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ParameterError(f"threshold must be in [0, 1], got {threshold}")
    wanted = normalize_name(query)
    pool = list(candidates)
    if not wanted or not pool:
        return None

    def popularity(c: ArtistCandidate) -> float:
        return c.popularity if c.popularity is not None else float("-inf")

    exact = [c for c in pool if normalize_name(c.name) == wanted]
    if exact:
        return ArtistMatch(max(exact, key=popularity), 1.0, "exact", query)
    scored = [(fuzz.token_sort_ratio(wanted, normalize_name(c.name)) / 100.0, c) for c in pool]
    score, best = max(scored, key=lambda sc: (sc[0], popularity(sc[1])))
    if score >= threshold:
        return ArtistMatch(best, round(score, 4), "fuzzy", query)
    return None
