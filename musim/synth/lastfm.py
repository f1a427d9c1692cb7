"""Realistic synthetic Last.FM dumps whose similarity has known structure.

Users belong to *taste communities*; each artist has a home community; a user draws most of their artists
from their own community (weighted by artist popularity, which is heavy-tailed) and the rest from
everywhere, at most ``max_artists_per_user`` artists each, as in the real 360K dump. So artists of the same
community are co-listened far more often than chance, and the similarity tables must show it.

Files written (the 360K format, see :mod:`musim.ingest.formats`):

- ``usersha1-artmbid-artname-plays.tsv``: ``user-sha1 \\t artist-mbid \\t artist-name \\t plays``
- ``usersha1-profile.tsv``: ``user-sha1 \\t gender \\t age \\t country \\t signup``
- ``synth-truth.json``: the generating parameters, every artist's community, and the quirk counts.

With ``quirks > 0`` every quirk the real dump has is injected at that rate per line (quote characters in
names, carriage returns, wrong field counts, bad plays, empty names, malformed MBIDs, ``[unknown]``,
invalid UTF-8, surrounding whitespace, duplicates, blank lines).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from musim.errors import ParameterError

PLAYS_FILE = "usersha1-artmbid-artname-plays.tsv"
PROFILE_FILE = "usersha1-profile.tsv"
TRUTH_FILE = "synth-truth.json"

GENRES = ["rock", "electronic", "hip-hop", "jazz", "metal", "folk", "classical", "pop", "reggae", "soul",
          "punk", "ambient"]
_SYLLABLES = ["ka", "lo", "mi", "ra", "ven", "tor", "sha", "del", "ori", "neo", "zan", "bel", "cro", "dia",
              "fen", "gul", "hex", "ira", "jun", "kes", "lum", "mor", "nyx", "oak", "pal", "qui", "rho", "sol",
              "tam", "ul", "vex", "wyn", "xo", "yar", "zel", "ash", "bro", "cad", "dor", "ek"]
_COUNTRIES = ["United States", "United Kingdom", "Germany", "Brazil", "Poland", "Sweden", "Japan", "Spain",
              "France", "Finland", "Canada", "Russian Federation", "Netherlands", "Italy", "Australia"]
QUIRKS = ("quote_in_name", "carriage_return", "too_few_fields", "too_many_fields", "plays_not_integer",
          "negative_plays", "zero_plays", "empty_name", "malformed_mbid", "missing_mbid", "unknown_artist",
          "invalid_utf8", "whitespace", "duplicate_row", "blank_line")


@dataclass
class SynthSummary:
    """What :func:`write_lastfm_dump` wrote."""

    plays_path: str
    profiles_path: str
    truth_path: str
    users: int
    artists: int
    communities: int
    lines: int
    quirk_counts: dict[str, int] = field(default_factory=dict)


def _artist_names(n: int, rng: np.random.Generator) -> list[str]:
    syl = np.array(_SYLLABLES)
    names: list[str] = []
    seen: set[str] = set()
    parts = rng.integers(0, len(syl), size=(n * 2, 3))
    words = rng.integers(2, 4, size=n * 2)
    the = rng.random(n * 2) < 0.15
    i = 0
    while len(names) < n:
        if i < len(parts):
            w = "".join(syl[parts[i, : words[i]]]).capitalize()
            second = "".join(syl[parts[(i + 7) % len(parts), :2]]).capitalize() if words[i] == 2 else ""
            name = ("The " if the[i] else "") + (f"{w} {second}" if second else w)
        else:
            name = f"Artist {len(names)}"
        i += 1
        if name.lower() in seen:
            name = f"{name} {len(names)}"
        seen.add(name.lower())
        names.append(name)
    return names


def _mbids(n: int, rng: np.random.Generator) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = [r.tobytes().hex() for r in raw]
    return np.array([f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hexes], dtype=object)


def generate_structure(*, users: int, artists: int, communities: int, seed: int,
                       max_artists_per_user: int = 50, home_share: float = 0.85) -> dict[str, np.ndarray]:
    """Draw the user–artist play structure (arrays only, no text).

    Returns a dict with ``artist_community`` (M,), ``user_community`` (N,), and the play rows
    ``row_user`` (R,), ``row_artist`` (R,), ``row_plays`` (R,), sorted by user.
    """
    rng = np.random.default_rng(seed)
    artist_comm = rng.integers(0, communities, size=artists)
    popularity = 1.0 / np.power(rng.permutation(artists) + 1.0, 0.9)  # Zipf-like, heavy-tailed
    user_comm = rng.integers(0, communities, size=users)
    # artists per user: log-normal around the cap, capped (the real dump lists each user's top 50; ~48 on average)
    k = np.clip(np.round(rng.lognormal(mean=np.log(max_artists_per_user * 1.3), sigma=0.45, size=users)), 1,
                max_artists_per_user).astype(np.int64)
    # draw 30% extra candidates: repeats of popular artists are dropped below, then each list is cut to k
    rows_user = np.repeat(np.arange(users, dtype=np.int64), np.ceil(k * 1.3).astype(np.int64))
    total = rows_user.size
    from_home = rng.random(total) < home_share
    # sampling tables: global, and one per community
    order = np.argsort(artist_comm, kind="stable")
    comm_sorted = artist_comm[order]
    starts = np.searchsorted(comm_sorted, np.arange(communities))
    ends = np.searchsorted(comm_sorted, np.arange(communities), side="right")
    row_artist = np.empty(total, dtype=np.int64)
    u = rng.random(total)
    glob_cdf = np.cumsum(popularity)
    glob_cdf /= glob_cdf[-1]
    mask = ~from_home
    row_artist[mask] = np.minimum(np.searchsorted(glob_cdf, u[mask]), artists - 1)
    row_comm = user_comm[rows_user]
    for c in range(communities):
        members = order[starts[c]:ends[c]]
        sel = from_home & (row_comm == c)
        if members.size == 0:
            row_artist[sel] = np.minimum(np.searchsorted(glob_cdf, u[sel]), artists - 1)
            continue
        cdf = np.cumsum(popularity[members])
        cdf /= cdf[-1]
        row_artist[sel] = members[np.minimum(np.searchsorted(cdf, u[sel]), members.size - 1)]
    # one row per user-artist pair
    key = np.unique(rows_user * artists + row_artist)
    row_user = key // artists
    first = np.searchsorted(row_user, np.arange(users))
    keep = (np.arange(key.size) - first[row_user]) < k[row_user]  # artist ids are random: an unbiased cut
    row_user, row_artist, key = row_user[keep], (key % artists)[keep], key[keep]
    plays = np.maximum(1, np.round(rng.lognormal(mean=4.0, sigma=1.3, size=key.size))).astype(np.int64)
    return {"artist_community": artist_comm, "user_community": user_comm, "row_user": row_user,
            "row_artist": row_artist, "row_plays": plays}


def _signup(rng: np.random.Generator, n: int) -> list[str]:
    base = dt.date(2002, 10, 29).toordinal()
    days = rng.integers(0, 2400, size=n)
    return [dt.date.fromordinal(base + int(d)).strftime("%b %d, %Y") for d in days]


def write_lastfm_dump(out_dir: str | Path, *, users: int, artists: int, communities: int | None = None,
                      quirks: float = 0.0, seed: int = 0, max_artists_per_user: int = 50,
                      mbid_share: float = 0.9, home_share: float = 0.85,
                      chunk_rows: int = 1_000_000) -> SynthSummary:
    """Write a Last.FM 360K-format dump (plays + profiles + truth) into ``out_dir``."""
    if users < 1 or artists < 2:
        raise ParameterError(f"need at least 1 user and 2 artists, got {users} and {artists}")
    communities = communities or max(2, min(12, artists // 20 or 2))
    if communities > artists:
        raise ParameterError(f"{communities} communities need at least as many artists (got {artists}): "
                             "lower the communities or raise the artists")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out} is a file: give a folder to write the dump into")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    s = generate_structure(users=users, artists=artists, communities=communities, seed=seed,
                           max_artists_per_user=max_artists_per_user, home_share=home_share)
    names = np.array(_artist_names(artists, rng), dtype=object)
    mbids = _mbids(artists, rng)
    mbids[rng.random(artists) >= mbid_share] = ""
    raw_ids = np.frombuffer(rng.bytes(20 * users), dtype=np.uint8).reshape(users, 20)
    user_sha = np.array([r.tobytes().hex() for r in raw_ids], dtype=object)
    ru, ra, rp = s["row_user"], s["row_artist"], s["row_plays"]
    n_rows = ru.size
    quirk_of_row = np.full(n_rows, -1, dtype=np.int64)
    if quirks > 0:
        hit = np.flatnonzero(rng.random(n_rows) < quirks)
        quirk_of_row[hit] = rng.integers(0, len(QUIRKS), size=hit.size)
    counts: Counter[str] = Counter()
    lines_written = 0
    plays_path = out / PLAYS_FILE
    with open(plays_path, "wb") as fh:
        for start in range(0, n_rows, chunk_rows):
            stop = min(n_rows, start + chunk_rows)
            u_txt = user_sha[ru[start:stop]]
            m_txt = mbids[ra[start:stop]]
            n_txt = names[ra[start:stop]]
            p_txt = rp[start:stop].astype(str)
            lines = ["\t".join(t) for t in zip(u_txt, m_txt, n_txt, p_txt, strict=True)]
            for j in np.flatnonzero(quirk_of_row[start:stop] >= 0):
                q = QUIRKS[quirk_of_row[start + j]]
                counts[q] += 1
                lines[j] = _quirk_line(q, u_txt[j], m_txt[j], n_txt[j], p_txt[j], rng)
            text = "\n".join(lines) + "\n"
            lines_written += text.count("\n")
            fh.write(text.encode("utf-8", "surrogateescape"))
    profiles_path = out / PROFILE_FILE
    gender = rng.choice(np.array(["m", "f", ""], dtype=object), size=users, p=[0.6, 0.3, 0.1])
    age = rng.integers(15, 60, size=users).astype(str).astype(object)
    age[rng.random(users) < 0.2] = ""
    country = rng.choice(np.array(_COUNTRIES, dtype=object), size=users)
    signup = _signup(rng, users)
    with open(profiles_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("".join(f"{a}\t{b}\t{c}\t{d}\t{e}\n"
                         for a, b, c, d, e in zip(user_sha, gender, age, country, signup, strict=True)))
    summary = SynthSummary(plays_path=str(plays_path), profiles_path=str(profiles_path),
                           truth_path=str(out / TRUTH_FILE), users=users, artists=artists,
                           communities=communities, lines=lines_written, quirk_counts=dict(counts))
    truth = {"seed": seed, "communities": communities, "genres": GENRES[:communities] if communities <= len(GENRES)
             else [f"style-{c}" for c in range(communities)],
             "artists": [{"name": str(names[i]), "mbid": str(mbids[i]), "community": int(s["artist_community"][i])}
                         for i in range(artists)],
             "summary": asdict(summary)}
    (out / TRUTH_FILE).write_text(json.dumps(truth))
    return summary


def _quirk_line(q: str, u: str, m: str, n: str, p: str, rng: np.random.Generator) -> str:
    """One raw line carrying quirk ``q`` (may contain a lone surrogate that encodes to an invalid byte)."""
    if q == "quote_in_name":
        return f'{u}\t{m}\t"{n}" and friends\t{p}'
    if q == "carriage_return":
        return f"{u}\t{m}\t{n}\r(live)\t{p}"
    if q == "too_few_fields":
        return f"{u}\t{n}\t{p}"
    if q == "too_many_fields":
        return f"{u}\t{m}\t{n}\t{p}\textra"
    if q == "plays_not_integer":
        return f"{u}\t{m}\t{n}\t{p}x"
    if q == "negative_plays":
        return f"{u}\t{m}\t{n}\t-{p}"
    if q == "zero_plays":
        return f"{u}\t{m}\t{n}\t0"
    if q == "empty_name":
        return f"{u}\t\t\t{p}"
    if q == "malformed_mbid":
        return f"{u}\t{m[:-3] or 'not-a-uuid'}zz\t{n}\t{p}"
    if q == "missing_mbid":
        return f"{u}\t\t{n}\t{p}"
    if q == "unknown_artist":
        return f"{u}\t\t[unknown]\t{p}"
    if q == "invalid_utf8":
        return f"{u}\t{m}\t{n}\udcff\udcfe\t{p}"
    if q == "whitespace":
        return f"  {u}\t {m} \t  {n}  \t {p} "
    if q == "duplicate_row":
        return f"{u}\t{m}\t{n}\t{p}\n{u}\t{m}\t{n.upper()}\t1"
    if q == "blank_line":
        return f"{u}\t{m}\t{n}\t{p}\n"
    raise ValueError(q)
