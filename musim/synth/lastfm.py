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
import functools
import json
import os
import resource
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from musim.errors import ParameterError
from musim.filenames import refuse_empty
from musim.synth.output import publish, refuse_foreign_files, temporary

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



def _communities_and_folder(communities: int | None, artists: int, out_dir: str | Path) -> tuple[int, Path]:
    """A dump's number of taste communities (default: about one per 20 artists, 2 to 12) and its folder, made;
    ParameterError for more communities than artists or a file where the folder goes."""
    communities = communities or max(2, min(12, artists // 20 or 2))
    if communities > artists:
        raise ParameterError(f"{communities} communities need at least as many artists (got {artists}): "
                             "lower the communities or raise the artists")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out} is a file: give a folder to write the dump into")
    out.mkdir(parents=True, exist_ok=True)
    refuse_foreign_files(out, [PLAYS_FILE, PROFILE_FILE, EVENTS_FILE, PROFILE_1K_FILE], TRUTH_FILE)
    return communities, out

#: Bytes :func:`write_lastfm_dump` holds per play line (the structure's candidate rows, the rows kept, their numbers),
#: per line of the text chunk it writes at a time (the line and its fields as Python strings), per user (id, profile)
#: and per artist (name, MBID, truth entry): measured, rounded up. Its peak over the interpreter's: ~540 MB for
#: 20,000 users (760,000 lines in one chunk), ~1 GB for 200,000 users, ~350 MB for 500,000 artists.
_BYTES_PER_LINE, _BYTES_PER_CHUNK_LINE, _BYTES_PER_USER, _BYTES_PER_ARTIST = 100, 700, 400, 800


def memory_needed(*, users: int, artists: int, max_artists_per_user: int = 50,
                  chunk_rows: int = 1_000_000) -> tuple[int, str]:
    """About the most memory :func:`write_lastfm_dump` takes for a dump of this size, in bytes, and the option that
    takes most of it (``--users`` or ``--artists``)."""
    lines = users * max_artists_per_user
    by_users = lines * _BYTES_PER_LINE + min(lines, chunk_rows) * _BYTES_PER_CHUNK_LINE + users * _BYTES_PER_USER
    by_artists = artists * _BYTES_PER_ARTIST
    return by_users + by_artists, "--users" if by_users >= by_artists else "--artists"


def available_memory() -> int:
    """Bytes this process can still take: the kernel's estimate of memory available without swapping (MemAvailable,
    free memory plus what it can reclaim), else the physical memory; less where a limit on the address space
    (``ulimit -v``) leaves less."""
    available = None
    try:
        with open("/proc/meminfo") as fh:
            available = next((int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:")), None)
    except OSError:  # pragma: no cover - not Linux
        pass
    if available is None:  # pragma: no cover - not Linux
        try:
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return 1 << 62  # nothing known: refuse nothing
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/status") as fh:
                used = next((int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:")), 0)
        except OSError:  # pragma: no cover - not Linux
            used = 0
        available = min(available, max(limit - used, 0))
    return available


def refuse_too_large(*, users: int, artists: int, max_artists_per_user: int = 50, chunk_rows: int = 1_000_000) -> None:
    """ParameterError, one line naming the option, the memory a dump of this size needs and the memory available,
    before anything is allocated: `--users 1000000000` died in a MemoryError (or took the machine's memory)."""
    need, option = memory_needed(users=users, artists=artists, max_artists_per_user=max_artists_per_user,
                                 chunk_rows=chunk_rows)
    available = available_memory()
    if need <= available:
        return
    value = users if option == "--users" else artists
    each = f" with up to {max_artists_per_user:,} artists each" if option == "--users" else ""
    also = " or --max-artists-per-user" if option == "--users" and max_artists_per_user > 50 else ""
    raise ParameterError(f"{option} {value:,}{each} needs about {_gib(need)} of memory to generate, more than the "
                         f"{_gib(available)} available here: lower {option}{also}")


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


def write_lastfm_dump(out_dir: str | Path, *, users: int, artists: int, communities: int | None = None,
                      quirks: float = 0.0, seed: int = 0, max_artists_per_user: int = 50,
                      mbid_share: float = 0.9, home_share: float = 0.85,
                      chunk_rows: int = 1_000_000) -> SynthSummary:
    """Write a Last.FM 360K-format dump (plays + profiles + truth) into ``out_dir`` (not empty: ``Path("")`` is the
    working folder)."""
    refuse_empty([out_dir], "the folder to write the dump into")
    if users < 1 or artists < 2:
        raise ParameterError(f"need at least 1 user and 2 artists, got {users} and {artists}")
    refuse_too_large(users=users, artists=artists, max_artists_per_user=max_artists_per_user, chunk_rows=chunk_rows)
    communities, out = _communities_and_folder(communities, artists, out_dir)
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
    with open(temporary(plays_path), "wb") as fh:
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
    with open(temporary(profiles_path), "w", encoding="utf-8", newline="\n") as fh:
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
    temporary(out / TRUTH_FILE).write_text(json.dumps(truth))
    publish([out / TRUTH_FILE, plays_path, profiles_path])
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


# --- The 1K format: listening events -------------------------------------------------------------------------

EVENTS_FILE = "userid-timestamp-artid-artname-traid-traname.tsv"
PROFILE_1K_FILE = "userid-profile.tsv"
#: The 1K dump's profiles file starts with this header line (the ingest rejects it as a header line).
PROFILE_1K_HEADER = "#id\tgender\tage\tcountry\tregistered"
#: Quirks of 1K event lines, each with what a correct ingest makes of the line: ``True`` rejected, ``False``
#: loaded. ``blank_line`` and ``duplicate_line`` keep the line and add one after it (rejected, loaded).
QUIRKS_1K: dict[str, bool] = {
    "not_iso_timestamp": True,    # 2009/05/04 23:08:57
    "impossible_date": True,      # 2009-02-30T23:08:57Z: ISO-shaped, no such day
    "basic_timestamp": False,     # 20090504T230857Z: ISO-8601's basic form
    "too_few_fields": True,       # the track name left out
    "too_many_fields": True,      # a tab inside the track name
    "carriage_return": False,     # a lone CR inside the track name (read as a space)
    "invalid_utf8": True,         # bytes 0xff 0xfe inside the track name
    "blank_line": False,          # the line, then an empty one (rejected)
    "empty_artist": True,         # no artist name and no artist MBID
    "bad_user_id": True,          # not like user_000001
    "whitespace": False,          # spaces around the user id, the timestamp and the artist name
    "quote_in_name": False,       # "Name" and friends
    "malformed_mbid": False,      # an artist MBID that is no UUID: the artist is found by its name
    "unknown_artist": False,      # [unknown], no MBID
    "duplicate_line": False,      # the same event twice (both load: every event is a play)
}
#: Syllables of names by script; names are mostly Latin, the rest spread over the scripts a dump holds.
_SCRIPTS: dict[str, list[str]] = {
    "latin": _SYLLABLES,
    "accented": ["sé", "lö", "rø", "må", "ñu", "bü", "ça", "tã", "jó", "kö", "dé", "vå", "íra", "øy", "æl", "ðo",
                 "þu", "ğa", "şe", "łu"],
    "cyrillic": ["ка", "ло", "ми", "ра", "вен", "тор", "ша", "дел", "ори", "нео", "зан", "бел", "жу", "щи", "ёл"],
    "greek": ["κα", "λο", "μι", "ρα", "θε", "ψι", "ζω", "ξε", "νυ", "δα", "φω", "χη"],
    "japanese": ["カ", "ロ", "ミ", "ラ", "シ", "ト", "ナ", "ヨ", "ン", "サ", "東", "京", "夜", "空", "花", "風", "雪", "月"],
    "hangul": ["가", "나", "다", "라", "마", "바", "사", "아", "자", "하", "별", "빛"],
}
_SCRIPT_SHARE = [0.78, 0.08, 0.05, 0.02, 0.04, 0.03]
_TRACK_SUFFIXES = ["", "", "", "", "", "", " (Live)", " (Remix)", " - Remastered", " Pt. 2", " ♪", " ★", " 🔥",
                   " (Demo)", " & Friends", "'s Song"]
_GENDERS_1K = np.array(["m", "f", ""], dtype=object)
#: The 1K dump's events run from 2005-02-14 to 2009-06-19 (UTC seconds).
_FIRST_1K = int(dt.datetime(2005, 2, 14, tzinfo=dt.UTC).timestamp())
_LAST_1K = int(dt.datetime(2009, 6, 19, tzinfo=dt.UTC).timestamp())
_USERS_PER_BLOCK = 32
_YEAR_S = 365.25 * 86400


@dataclass
class Synth1KSummary:
    """What :func:`write_lastfm_1k_dump` wrote, and what a correct ingest makes of it."""

    events_path: str
    profiles_path: str
    truth_path: str
    users: int
    artists: int
    tracks: int
    communities: int
    lines: int
    #: event lines a correct ingest loads and rejects (``expected_loaded + expected_rejected == lines``)
    expected_loaded: int
    expected_rejected: int
    quirk_counts: dict[str, int] = field(default_factory=dict)


def _word_table(rng: np.random.Generator, per_script: int = 2000) -> np.ndarray:
    """Capitalised words of 1-3 syllables, ``per_script`` of each script of :data:`_SCRIPTS` in turn, as UTF-8."""
    words = []
    for syllables in _SCRIPTS.values():
        picks = rng.integers(0, len(syllables), size=(per_script, 3))
        sizes = rng.integers(1, 4, size=per_script)
        words += ["".join(syllables[p] for p in row[:k]).capitalize().encode() for row, k in zip(picks, sizes, strict=True)]
    return np.array(words, dtype=object)


def _name_tokens(n: int, rng: np.random.Generator, words: np.ndarray, *, max_words: int) -> np.ndarray:
    """An (n, 2 * max_words - 1) array of the words of ``n`` names and the spaces between them (b"" where a
    name has fewer words): 1 to ``max_words`` words, all in the script drawn for the name (Latin mostly)."""
    per_script = words.size // len(_SCRIPTS)
    script = rng.choice(len(_SCRIPTS), size=n, p=_SCRIPT_SHARE)
    count = rng.integers(1, max_words + 1, size=n)
    picked = words[script[:, None] * per_script + rng.integers(0, per_script, size=(n, max_words))]
    used = np.arange(max_words) < count[:, None]
    picked[~used] = b""
    tokens = np.full((n, 2 * max_words - 1), b" ", dtype=object)
    tokens[:, 0::2] = picked
    tokens[:, 1::2][~used[:, 1:]] = b""
    return tokens


def _join_rows(tokens: np.ndarray, rows_at_once: int = 1 << 14) -> list[bytes]:
    """Each row of an object array of byte strings (none holding a NUL) joined: one bytes object per row.
    ``bytes.join`` holds a buffer view (80 bytes) per item while it runs: a few rows at once bound that."""
    ends = np.empty((tokens.shape[0], 1), dtype=object)
    ends[:] = b"\0"  # np.full would store b"": numpy drops a bytes scalar's trailing NULs
    flat = np.hstack([tokens, ends])
    joined: list[bytes] = []
    for start in range(0, flat.shape[0], rows_at_once):
        joined += b"".join(flat[start:start + rows_at_once].ravel().tolist()).split(b"\0")[:-1]
    return joined


def _mbid_bytes(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random version-4 UUIDs as 36-byte text (an ``S36`` array), vectorised."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    nibbles = np.stack([raw >> 4, raw & 0x0F], axis=2).reshape(n, 32)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, [i for i in range(36) if i not in (8, 13, 18, 23)]] = hexdigits[nibbles]
    return out.view("S36").ravel()


def _digits(out: np.ndarray, col: int, width: int, values: np.ndarray) -> None:
    """Write ``values`` (below 10 ** ``width``) as zero-padded decimals into ``out[:, col:col + width]``."""
    v = values.astype(np.int64)
    for k in range(width - 1, -1, -1):
        v, digit = np.divmod(v, 10)
        out[:, col + k] = digit + ord("0")


def _prefixes(user_no: np.ndarray, owner: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """``user_NNNNNN \\t YYYY-MM-DDTHH:MM:SSZ \\t`` of each event, whose user is ``user_no[owner]``: an (N, 33)
    uint8 array (each user, day and second of the day written once, then gathered)."""
    out = np.empty((owner.size, 33), dtype=np.uint8)
    ids = np.empty((user_no.size, 11), dtype=np.uint8)
    ids[:, :5] = np.frombuffer(b"user_", dtype=np.uint8)
    _digits(ids, 5, 6, user_no)
    out[:, :11] = ids[owner]
    day = seconds // 86400
    first = int(day.min())
    days = np.arange(first, int(day.max()) + 1).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    dates = np.empty((days.size, 10), dtype=np.uint8)
    _digits(dates, 0, 4, days.astype("datetime64[Y]").astype(np.int64) + 1970)
    _digits(dates, 5, 2, months.astype(np.int64) % 12 + 1)
    _digits(dates, 8, 2, (days - months).astype(np.int64) + 1)
    dates[:, [4, 7]] = ord("-")
    out[:, 12:22] = dates[day - first]
    out[:, 23:31] = _times_of_day()[seconds % 86400]
    for col, char in ((11, "\t"), (22, "T"), (31, "Z"), (32, "\t")):
        out[:, col] = ord(char)
    return out


@functools.cache
def _times_of_day() -> np.ndarray:
    """``HH:MM:SS`` of each second of a day: an (86400, 8) uint8 array."""
    second = np.arange(86400)
    out = np.full((86400, 8), ord(":"), dtype=np.uint8)
    _digits(out, 0, 2, second // 3600)
    _digits(out, 3, 2, second // 60 % 60)
    _digits(out, 6, 2, second % 60)
    return out


class _Rows:
    """Byte strings (a track's line after the timestamp) as rows of a zero-padded matrix, so that lines are made
    and written by numpy, never one Python object per line."""

    #: lines made at once: bounds the memory of :meth:`write` (about 250 bytes a line)
    CHUNK = 1 << 18

    def __init__(self, rows: list[bytes]) -> None:
        self.lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        self.matrix = np.zeros((len(rows), int(self.lengths.max(initial=0))), dtype=np.uint8)
        columns = np.arange(self.matrix.shape[1])
        for start in range(0, len(rows), self.CHUNK):
            stop = min(len(rows), start + self.CHUNK)
            self.matrix[start:stop][columns < self.lengths[start:stop, None]] = np.frombuffer(
                b"".join(rows[start:stop]), dtype=np.uint8)

    def row(self, i: int) -> bytes:
        return self.matrix[i, : self.lengths[i]].tobytes()

    def write(self, fh: BinaryIO, prefix: np.ndarray, rows: np.ndarray, replaced: dict[int, bytes]) -> None:
        """Write line i as ``prefix[i]`` (a uint8 matrix's row) + row ``rows[i]``, or ``replaced[i]`` where given."""
        width = prefix.shape[1] + self.matrix.shape[1]
        for start in range(0, rows.size, self.CHUNK):
            stop = min(rows.size, start + self.CHUNK)
            full = np.empty((stop - start, width), dtype=np.uint8)
            full[:, : prefix.shape[1]] = prefix[start:stop]
            full[:, prefix.shape[1]:] = self.matrix[rows[start:stop]]
            length = prefix.shape[1] + self.lengths[rows[start:stop]]
            here = sorted(j - start for j in replaced if start <= j < stop)
            length[here] = 0
            text = memoryview(full[np.arange(width) < length[:, None]])
            ends = np.cumsum(length)
            done = 0
            for j in here:  # the text up to a replaced line (it takes no room in text), then the line
                fh.write(text[done:ends[j]])
                fh.write(replaced[start + j])
                done = ends[j]
            fh.write(text[done:])


def _event_quirk(q: str, prefix: bytes, am: bytes, an: bytes, tm: bytes, tn: bytes) -> bytes:
    """One raw event line (with its newline, or two lines) carrying quirk ``q``."""
    user, ts = prefix[:11], prefix[12:32]
    tail = b"\t".join((am, an, tm, tn)) + b"\n"
    if q == "not_iso_timestamp":
        return user + b"\t" + ts[:4] + b"/" + ts[5:7] + b"/" + ts[8:10] + b" " + ts[11:19] + b"\t" + tail
    if q == "impossible_date":
        return user + b"\t" + ts[:4] + b"-02-30" + ts[10:] + b"\t" + tail
    if q == "basic_timestamp":
        return user + b"\t" + ts.replace(b"-", b"").replace(b":", b"") + b"\t" + tail
    if q == "too_few_fields":
        return b"\t".join((user, ts, am, an, tm)) + b"\n"
    if q == "too_many_fields":
        return prefix + b"\t".join((am, an, tm, tn + b"\t(live)")) + b"\n"
    if q == "carriage_return":
        return prefix + b"\t".join((am, an, tm, tn + b"\r(live)")) + b"\n"
    if q == "invalid_utf8":
        return prefix + b"\t".join((am, an, tm, tn + b"\xff\xfe")) + b"\n"
    if q == "blank_line":
        return prefix + tail + b"\n"
    if q == "empty_artist":
        return prefix + b"\t".join((b"", b"", tm, tn)) + b"\n"
    if q == "bad_user_id":
        return b"USER " + user[5:] + prefix[11:] + tail
    if q == "whitespace":
        return b" " + user + b" \t " + ts + b" \t" + b"\t".join((am, b"  " + an + b" ", tm, tn)) + b"\n"
    if q == "quote_in_name":
        return prefix + b"\t".join((am, b'"' + an + b'" and friends', tm, tn)) + b"\n"
    if q == "malformed_mbid":
        return prefix + b"\t".join((am[:-3] + b"zz" if am else b"not-a-uuid", an, tm, tn)) + b"\n"
    if q == "unknown_artist":
        return prefix + b"\t".join((b"", b"[unknown]", tm, tn)) + b"\n"
    if q == "duplicate_line":
        return (prefix + tail) * 2
    raise ValueError(q)


def write_lastfm_1k_dump(out_dir: str | Path, *, users: int = 992, events: int = 19_150_000,
                         artists: int | None = None, communities: int | None = None, quirks: float = 0.0,
                         seed: int = 0, artist_mbid_share: float = 0.9, track_mbid_share: float = 0.88,
                         home_share: float = 0.8, session_tracks: float = 12.0,
                         same_artist: float = 0.6) -> Synth1KSummary:
    """Write a Last.FM 1K-format dump (listening events + profiles + truth) into ``out_dir``.

    ``events`` listening events of ``users`` users (``user_000001``...; events per user heavy-tailed), each
    user active for months to years between 2005 and mid-2009 and listening in sessions of about
    ``session_tracks`` tracks, one after the other (the next starts when the last one's duration is over),
    staying with the same artist with probability ``same_artist``. Artists (default ``events // 110``,
    about the real dump's 177K) come from the user's taste community with probability ``home_share``, by
    heavy-tailed popularity, as in :func:`write_lastfm_dump`; each has a few to a couple of hundred tracks.
    Names are Unicode (Latin mostly; accented, Cyrillic, Greek, Japanese, Hangul; a few symbols and emoji),
    never with a tab, CR or newline. Artist and track MBIDs are empty on ``1 - *_mbid_share`` of them.
    Lines are ``user \\t YYYY-MM-DDTHH:MM:SSZ \\t artist-mbid \\t artist \\t track-mbid \\t track``, each user's
    together and newest first, as in the real file; ``quirks`` is the share of lines given one of
    :data:`QUIRKS_1K`. Deterministic by ``seed``; vectorised: under 1 s of CPU per million lines; memory
    grows with the catalogue (about 450 MB at 8M lines).
    """
    if users < 1 or users > 999_999:
        raise ParameterError(f"users must be from 1 to 999999 (ids are user_NNNNNN), got {users}")
    if events < users:
        raise ParameterError(f"need at least one event per user: {events} events for {users} users")
    artists = artists or max(2, events // 110)
    communities, out = _communities_and_folder(communities, artists, out_dir)
    rng = np.random.default_rng([seed, 1000])

    # artists, their communities and popularity; their tracks
    artist_comm = rng.integers(0, communities, size=artists)
    popularity = 1.0 / np.power(rng.permutation(artists) + 1.0, 0.9)
    tracks_of = np.clip(np.round(rng.lognormal(np.log(4.0), 1.0, size=artists)), 1, 200).astype(np.int64)
    first_track = np.concatenate([[0], np.cumsum(tracks_of)[:-1]])
    n_tracks = int(tracks_of.sum())
    track_seconds = np.clip(rng.lognormal(np.log(230.0), 0.35, size=n_tracks), 30, 1200)
    words = _word_table(rng)
    an = np.array(_join_rows(_name_tokens(artists, rng, words, max_words=3)), dtype=object)
    seen: set[bytes] = set()
    for i, name in enumerate(an.tolist()):  # distinct names, as distinct artists have in a dump
        if name.lower() in seen:
            an[i] = name = name + f" {i}".encode()
        seen.add(name.lower())
    am = _mbid_bytes(artists, rng).astype(object)
    am[rng.random(artists) >= artist_mbid_share] = b""
    tm = _mbid_bytes(n_tracks, rng).astype(object)
    tm[rng.random(n_tracks) >= track_mbid_share] = b""
    suffixes = np.array([x.encode() for x in _TRACK_SUFFIXES], dtype=object)
    track_artist = np.repeat(np.arange(artists), tracks_of)
    # each track's line after the timestamp: artist MBID, artist, track MBID, track name (words, a suffix)
    track_words = _name_tokens(n_tracks, rng, words, max_words=4)
    track_suffix = suffixes[rng.integers(0, suffixes.size, size=n_tracks)]
    rows: list[bytes] = []
    for start in range(0, n_tracks, _Rows.CHUNK):  # in parts: the tokens of every track at once take GBs
        part = slice(start, min(n_tracks, start + _Rows.CHUNK))
        size = part.stop - part.start
        tab, newline = np.empty((size, 1), dtype=object), np.empty((size, 1), dtype=object)
        tab[:], newline[:] = b"\t", b"\n"
        rows += _join_rows(np.hstack([am[track_artist[part]][:, None], tab, an[track_artist[part]][:, None], tab,
                                      tm[part, None], tab, track_words[part], track_suffix[part, None], newline]))
    del track_words
    tails = _Rows(rows)
    del rows

    # sampling tables: the whole catalogue, and one per community
    glob_cdf = np.cumsum(popularity)
    glob_cdf /= glob_cdf[-1]
    members = [np.flatnonzero(artist_comm == c) for c in range(communities)]
    comm_cdf = [np.cumsum(popularity[m]) / popularity[m].sum() if m.size else glob_cdf for m in members]
    members = [m if m.size else np.arange(artists) for m in members]

    # users: events (heavy-tailed, at least one each), community, the end of their activity and its span
    weight = np.minimum(rng.lognormal(0.0, 1.0, size=users), 10 * np.exp(0.5))
    per_user = np.floor(weight / weight.sum() * (events - users)).astype(np.int64) + 1
    per_user[: events - int(per_user.sum())] += 1
    user_comm = rng.integers(0, communities, size=users)
    user_end = rng.uniform(_LAST_1K - _YEAR_S, _LAST_1K, size=users)
    user_span = np.minimum(rng.uniform(0.3, 4.3, size=users) * _YEAR_S, user_end - _FIRST_1K)

    counts: Counter[str] = Counter()
    kinds = list(QUIRKS_1K)
    lines_written = rejected = 0
    events_path = out / EVENTS_FILE
    with open(temporary(events_path), "wb") as fh:
        for block, start in enumerate(range(0, users, _USERS_PER_BLOCK)):
            b_rng = np.random.default_rng([seed, block])
            ids = np.arange(start, min(users, start + _USERS_PER_BLOCK))
            n_of = per_user[ids]
            n = int(n_of.sum())
            first = np.concatenate([[0], np.cumsum(n_of)[:-1]])
            owner = np.repeat(np.arange(ids.size), n_of)
            # a fresh artist for every event (home community or anywhere), kept for the rest of a run
            fresh = np.empty(n, dtype=np.int64)
            u = b_rng.random(n)
            home = b_rng.random(n) < home_share
            fresh[~home] = np.minimum(np.searchsorted(glob_cdf, u[~home]), artists - 1)
            ev_comm = user_comm[ids][owner]
            for c in range(communities):
                sel = home & (ev_comm == c)
                fresh[sel] = members[c][np.minimum(np.searchsorted(comm_cdf[c], u[sel]), members[c].size - 1)]
            new_session = b_rng.random(n) < 1.0 / session_tracks
            new_session[first] = True
            keep = (b_rng.random(n) < same_artist) & ~new_session
            artist = fresh[np.maximum.accumulate(np.where(keep, 0, np.arange(n)))]
            track = first_track[artist] + (b_rng.random(n) ** 2 * tracks_of[artist]).astype(np.int64)
            # times: each track follows the last (skips cut some short); sessions spread over the user's span
            played = track_seconds[track] * np.where(b_rng.random(n) < 0.1, b_rng.random(n), 1.0)
            listening = np.add.reduceat(played, first)
            end = user_end[ids]
            span = np.maximum(user_span[ids], 1.25 * listening)
            gap_weight = np.where(new_session, b_rng.exponential(1.0, size=n), 0.0)
            gap_weight[first] = 0.0
            gap_scale = (span - listening) / np.maximum(np.add.reduceat(gap_weight, first), 1e-9)
            step = np.concatenate([[0.0], played[:-1]]) + gap_weight * gap_scale[owner]
            step[first] = 0.0
            elapsed = np.cumsum(step)
            elapsed -= elapsed[first][owner]
            seconds = np.floor(end - span)[owner].astype(np.int64) + elapsed.astype(np.int64)
            # newest first within each user, as in the real file
            order = (first + n_of - 1)[owner] - (np.arange(n) - first[owner])
            track, seconds = track[order], seconds[order]
            prefix = _prefixes(ids + 1, owner, seconds)
            quirky: dict[int, bytes] = {}
            if quirks > 0:
                hit = np.flatnonzero(b_rng.random(n) < quirks)
                for j, k in zip(hit.tolist(), b_rng.integers(0, len(kinds), size=hit.size).tolist(), strict=True):
                    q = kinds[k]
                    counts[q] += 1
                    rejected += QUIRKS_1K[q] or q == "blank_line"
                    lines_written += q in ("blank_line", "duplicate_line")  # two lines
                    quirky[j] = _event_quirk(q, prefix[j].tobytes(), *tails.row(track[j])[:-1].split(b"\t"))
            lines_written += n
            tails.write(fh, prefix, track, quirky)
    profiles_path = out / PROFILE_1K_FILE
    gender = rng.choice(_GENDERS_1K, size=users, p=[0.55, 0.35, 0.1])
    age = rng.integers(15, 60, size=users).astype(str).astype(object)
    age[rng.random(users) < 0.6] = ""  # most of the 1K dump's users give no age
    country = rng.choice(np.array(_COUNTRIES, dtype=object), size=users)
    registered = _signup(rng, users)
    registered = [r if keep else "" for r, keep in zip(registered, rng.random(users) < 0.9, strict=True)]
    with open(temporary(profiles_path), "w", encoding="utf-8", newline="\n") as fh:
        fh.write(PROFILE_1K_HEADER + "\n" + "".join(
            f"user_{i + 1:06d}\t{g}\t{a}\t{c}\t{r}\n"
            for i, (g, a, c, r) in enumerate(zip(gender, age, country, registered, strict=True))))
    summary = Synth1KSummary(events_path=str(events_path), profiles_path=str(profiles_path),
                             truth_path=str(out / TRUTH_FILE), users=users, artists=artists, tracks=n_tracks,
                             communities=communities, lines=lines_written,
                             expected_loaded=lines_written - rejected, expected_rejected=rejected,
                             quirk_counts=dict(counts))
    truth = {"seed": seed, "format": "1k", "communities": communities,
             "artists": [{"name": an[i].decode(), "mbid": am[i].decode(), "community": int(artist_comm[i])}
                         for i in range(artists)],
             "summary": asdict(summary)}
    temporary(out / TRUTH_FILE).write_text(json.dumps(truth))
    publish([out / TRUTH_FILE, events_path, profiles_path])
    return summary
