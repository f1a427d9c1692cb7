"""The musim page as server-rendered HTML (escaped f-strings; a little vanilla JS in ``static/musim.js``).

Every URL on the page is relative (``?artist=…``, ``static/…``, ``objects/…``), so the page works wherever
the app is mounted: ``/musim/`` inside Airflow's API server (shown in the UI's iframe), or ``/`` alone.
Forms use GET, so a URL describes the whole page state and Airflow's UI mirrors it in its own address.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from musim.names import MAX_QUERY_CHARS
from musim.queries import Unavailable
from musim.similarity import METRICS

METRIC_HELP = {
    "seed": "the seed system's co-listening score (0..1)",
    "jaccard": "shared listeners / listeners of either",
    "cosine": "shared listeners / √(listeners × listeners)",
    "lift": "how much more often than chance they are co-listened",
    "pmi": "pointwise mutual information of listening to both",
}


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def fmt(value: Any, *, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value)
    if len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T":  # ISO timestamps from musim.jsonable.plain
        try:
            when = dt.datetime.fromisoformat(text)
            return (when.astimezone(dt.UTC) if when.tzinfo else when).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            pass
    return text


def href(state: Mapping[str, Any], anchor: str = "", **changes: Any) -> str:
    """A query-only relative URL: the current state with ``changes`` (None drops a key)."""
    merged = {**state, **changes}
    query = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
    return esc(f"?{query}" + (f"#{anchor}" if anchor else ""))


def notice(kind: str, html_text: str, testid: str = "") -> str:
    tid = f' data-testid="{esc(testid)}"' if testid else ""
    return f'<div class="notice {kind}"{tid}>{html_text}</div>'


def codes(text: str) -> str:
    """Escaped ``text`` with its `backquoted` parts as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(text))


def unavailable(u: Unavailable) -> str:
    what, _, rest = u.message.partition(": ")
    return notice("missing", f"<strong>{esc(what)}</strong>: {codes(rest)}" if rest else codes(u.message),
                  f"missing-{u.table}")


def table(headers: Iterable[tuple[str, str]], rows: Iterable[str], *, ident: str) -> str:
    head = "".join(f'<th class="{esc(cls)}">{esc(label)}</th>' for label, cls in headers)
    body = "".join(rows)
    return (f'<table class="results sortable" id="{esc(ident)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _num(value: Any, *, digits: int = 3) -> str:
    sort = "" if value is None else esc(value)
    return f'<td class="num" data-v="{sort}">{esc(fmt(value, digits=digits))}</td>'


def _hidden(state: Mapping[str, Any], keep: Iterable[str]) -> str:
    return "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(state[k])}">' for k in keep if state.get(k))


# -- sections ------------------------------------------------------------------------------------

def artist_form(state: Mapping[str, Any]) -> str:
    options = "".join(f'<option value="{m}"{" selected" if state.get("metric") == m else ""} '
                      f'title="{esc(METRIC_HELP[m])}">{m}</option>' for m in METRICS)
    return f"""
<form class="search" method="get" action="" id="artist-form">
  <label>Artist <input type="search" name="artist" id="artist-input" list="artist-names" autocomplete="off"
         placeholder="e.g. an artist you like" value="{esc(state.get('artist'))}" maxlength="{MAX_QUERY_CHARS}"
         required></label>
  <datalist id="artist-names"></datalist>
  <input type="hidden" name="artist_id" id="artist-id" value="{esc(state.get('artist_id'))}"
         data-name="{esc(state.get('artist') if state.get('artist_id') is not None else '')}">
  <label>Co-listening metric <select name="metric" id="metric-select">{options}</select></label>
  <label>Neighbours <input type="number" name="k" min="1" max="100" value="{esc(state.get('k', 10))}"></label>
  {_hidden(state, ("track", "track_id"))}
  <button type="submit" id="artist-submit">Find similar artists</button>
</form>"""


def colistening_result(result: dict[str, Any] | Unavailable | None, error: dict[str, Any] | None,
                       state: Mapping[str, Any]) -> str:
    if error is not None:
        sugg = "".join(f'<li><a href="{href(state, "artists", artist=a["name"], artist_id=a["artist_id"], model=None)}">'
                       f'{esc(a["name"])}</a>{_detail(a)}</li>' for a in error.get("suggestions", []))
        more = f'<p>Did you mean:</p><ul class="suggestions" id="suggestions">{sugg}</ul>' if sugg else ""
        message = error["message"][:1].upper() + error["message"][1:]
        return notice("error", f"<p>{esc(message)}.</p>{more}", "artist-not-found")
    if result is None:
        return ""
    if isinstance(result, Unavailable):
        return unavailable(result)
    if not result["rows"]:
        return namesakes(result, state) + notice("info", f"No co-listening neighbours: {esc(result['reason'])}.",
                                                 "no-neighbours")
    rows = [f'<tr class="result"><td class="num">{r["rank"]}</td>'
            f'<td><a href="{href(state, "artists", artist=r["artist"], artist_id=r["artist_id"], model=None)}">'
            f'{esc(r["artist"])}</a></td>'
            f'{_num(r["score"])}{_num(r["co_listeners"])}{_num(r["listeners"])}</tr>' for r in result["rows"]]
    caption = (f'<p class="caption">Artists most co-listened with <strong id="artist-name">{esc(result["artist"])}'
               f'</strong> by <em>{esc(result["metric"])}</em> ({esc(METRIC_HELP.get(result["metric"], ""))}), '
               f'dump {esc(result["dump_id"][:12])}.</p>')
    return caption + namesakes(result, state) + table([("#", "num"), ("Artist", ""), ("Score", "num"), ("Co-listeners", "num"),
                            ("Listeners", "num")], rows, ident="colistening-table")


def _detail(artist: Mapping[str, Any]) -> str:
    """What tells a suggested artist from others of its name (MBID prefix, listeners or tracks); "" when unshared."""
    return f' <span class="by">({esc(artist["detail"])})</span>' if artist.get("shared") else ""


def namesakes(result: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    """The other artists of the answered artist's name, each a link by its id."""
    others = [n for n in result.get("namesakes") or [] if n["artist_id"] != result["artist_id"]]
    if not others:
        return ""
    def mbid(m: str | None) -> str:
        return f"MBID {m[:8]}…" if m else "no MBID"

    def heard(n: Mapping[str, Any]) -> str:
        return f'{fmt(n["listeners"])} listeners' if n["listeners"] else f'{fmt(n.get("tracks", 0))} tracks'

    # a name found by its key (result["matched_by"] == "key") lists artists of other names ("Motley Crue",
    # "Mötley Crüe"): each is linked, and named, by its own name, which the page keeps its id under
    by_key = any((n.get("name") or result["artist"]) != result["artist"] for n in others)

    def named(n: Mapping[str, Any]) -> str:
        return f"{esc(n['name'])}, " if by_key and n.get("name") else ""

    def link(n: Mapping[str, Any]) -> str:
        return href(state, "artists", artist=n.get("name") or result["artist"], artist_id=n["artist_id"], model=None)

    links = ", ".join(f'<a href="{link(n)}">'
                      f'id {esc(n["artist_id"])}</a> ({named(n)}{esc(mbid(n["mbid"]))}, {esc(heard(n))})'
                      for n in others)
    this = mbid(result.get("mbid"))
    said = (f"{len(others) + 1} artists match this name" if by_key
            else f"{len(others) + 1} artists are named {esc(result['artist'])}")
    return (f'<p class="caption" id="namesakes">{said}: this is id '
            f'{esc(result["artist_id"])} ({esc(result["artist"]) + ", " if by_key else ""}{esc(this)}); '
            f'the other{"s" if len(others) > 1 else ""}: {links}.</p>')


def examples(names: list[str], state: Mapping[str, Any]) -> str:
    if not names:
        return ""
    links = "".join(f'<li><a href="{href(state, "artists", artist=n, artist_id=None, model=None)}">{esc(n)}</a></li>' for n in names)
    return (f'<p class="caption">Type a name above, or start from the most listened artists:</p>'
            f'<ul class="suggestions" id="examples">{links}</ul>')


def _model_switch(result: dict[str, Any], state: Mapping[str, Any], param: str, anchor: str) -> str:
    models = result.get("models") or []
    if len(models) < 2:
        return f'<p class="caption">Model: <code>{esc(result.get("model") or "—")}</code></p>' if models else ""
    links = " · ".join(f"<strong>{esc(m)}</strong>" if m == result.get("model")
                       else f'<a href="{href(state, anchor, **{param: m})}">{esc(m)}</a>' for m in models[:10])
    return f'<p class="caption">Model: {links}</p>'


def audio_result(result: dict[str, Any] | Unavailable | None, state: Mapping[str, Any], *,
                 with_namesakes: bool = False) -> str:
    """The audio neighbours (``with_namesakes``: with the other artists of its name, when the co-listening answer
    above does not list them)."""
    if result is None:
        return ""
    if isinstance(result, Unavailable):
        return unavailable(result)
    others = namesakes(result, state) if with_namesakes else ""
    if not result["rows"]:
        return (_model_switch(result, state, "model", "artists") + others
                + notice("info", f"{esc(result.get('reason') or 'No audio neighbours')}.", "no-audio-neighbours"))
    label = "Similarity"

    def name(r: Mapping[str, Any]) -> str:
        shared = f' <span class="by">(id {esc(r["artist_id"])})</span>' if r.get("shared_name") else ""
        return f'{esc(r["artist"] or r["artist_id"])}{shared}'

    rows = [f'<tr class="result"><td class="num">{esc(r["rank"])}</td>'
            f'<td><a href="{href(state, "artists", artist=r["artist"], artist_id=r.get("artist_id"))}">{name(r)}</a></td>'
            f'{_num(r["score"])}{_num(r["listeners"])}</tr>' for r in result["rows"]]
    return (_model_switch(result, state, "model", "artists") + others
            + table([("#", "num"), ("Artist", ""), (label, "num"), ("Listeners", "num")], rows, ident="audio-table"))


def track_form(state: Mapping[str, Any]) -> str:
    return f"""
<form class="search" method="get" action="" id="track-form">
  <label>Track <input type="search" name="track" id="track-input" placeholder="title or artist"
         value="{esc(state.get('track'))}" maxlength="{MAX_QUERY_CHARS}" required></label>
  {_hidden(state, ("artist", "artist_id", "metric", "k"))}
  <button type="submit">Find similar tracks</button>
</form>"""


def _track_label(t: Mapping[str, Any]) -> str:
    title = t.get("title") or t.get("track_id")
    artist = t.get("artist")
    return f"{esc(title)}" + (f' <span class="by">— {esc(artist)}</span>' if artist else "")


def tracks_result(result: dict[str, Any] | Unavailable | None, error: str | None, state: Mapping[str, Any]) -> str:
    if error is not None:
        return notice("error", esc(error), "track-not-found")
    if result is None:
        return ""
    if isinstance(result, Unavailable):
        return unavailable(result)
    subject = result["track"]
    head = f'<p class="caption">Tracks that sound like <strong id="track-name">{_track_label(subject)}</strong></p>'
    others = ""
    if result["other_matches"]:
        links = "".join(f'<li><a href="{href(state, "tracks", track_id=t["track_id"], track=None)}">'
                        f"{_track_label(t)}</a></li>" for t in result["other_matches"][:10])
        others = f'<details class="matches"><summary>Other matching tracks</summary><ul>{links}</ul></details>'
    if not result["rows"]:
        return head + _model_switch(result, state, "track_model", "tracks") + notice(
            "info", f"{esc(result.get('reason') or 'This track has no neighbours in this model')}.", "no-track-neighbours") + others
    label = "Similarity"
    rows = [f'<tr class="result"><td class="num">{esc(r["rank"])}</td>'
            f'<td><a href="{href(state, "tracks", track_id=r["track_id"], track=None)}">{esc(r["title"] or r["track_id"])}'
            f'</a></td><td>{esc(r["artist"] or "")}</td>{_num(r["score"])}</tr>' for r in result["rows"]]
    return (head + _model_switch(result, state, "track_model", "tracks")
            + table([("#", "num"), ("Track", ""), ("Artist", ""), (label, "num")], rows, ident="tracks-table")
            + others)


def _ci(score: Mapping[str, Any] | None) -> str:
    if not score:
        return '<td class="num" data-v="">—</td>'
    lo, hi = score.get("lo"), score.get("hi")
    ci = f' <span class="ci">[{fmt(lo)}, {fmt(hi)}]</span>' if lo is not None and hi is not None else ""
    return f'<td class="num" data-v="{esc(score["mean"])}">{esc(fmt(score["mean"]))}{ci}</td>'


#: Models the page's leaderboard shows at most (besides every champion): each training run registers versions, and the
#: page, which every search reloads, rendered them all (3,000 versions: 1.8 MB and 1.7 s a search); ``api/models`` has all.
LEADERBOARD_ROWS = 50


def leaderboard_result(result: dict[str, Any] | Unavailable, *, limit: int = LEADERBOARD_ROWS) -> str:
    """The ranked models: the best ``limit`` by each primary metric and every champion, in rank order; a caption
    says how many are left out (of ``total`` when the result was limited already: ``queries.leaderboard(limit=)``)."""
    if isinstance(result, Unavailable):
        return unavailable(result)
    seen: dict[str, int] = {}
    shown = []
    for r in result["rows"]:  # ranked within each primary metric
        seen[r["primary_metric"]] = seen.get(r["primary_metric"], 0) + 1
        if seen[r["primary_metric"]] <= limit or r["champion"]:
            shown.append(r)
    rows = []
    for r in shown:
        badge = '<span class="badge">★ champion</span>' if r["champion"] else esc(r["status"])
        best = r["best_baseline"]
        best_cell = (f'<td class="num" data-v="{esc(best["mean"])}">{esc(fmt(best["mean"]))} '
                     f'<span class="by">{esc(best["name"])}</span></td>') if best else '<td class="num">—</td>'
        others = ", ".join(f"{esc(m)} {esc(fmt(v))}" for m, v in list(r["other_metrics"].items())[:4])
        links = " · ".join(f'<a href="objects/{esc(quote(k))}">{label}</a>' for label, k in
                           (("model card", r["card_key"]), ("metrics.json", r["metrics_key"])) if k)
        rows.append(f'<tr class="result {esc(r["status"])}{" champion" if r["champion"] else ""}">'
                    f'<td class="num">{r["rank"]}</td><td><strong>{esc(r["version"])}</strong></td>'
                    f'<td>{esc(r["family"])}</td><td>{badge}</td><td>{esc(r["primary_metric"])}</td>{_ci(r["score"])}'
                    f'{best_cell}{_num(r["vs_best_baseline"])}<td class="small">{others}</td>'
                    f'<td>{esc(r["target_metric"])}</td><td>{esc(fmt(r["created_at"]))}</td><td>{links}</td></tr>')
    caption = ("Models ranked by their primary metric on held-out test artists (mean over query artists, "
               "bootstrap interval in brackets), next to the best baseline of the same evaluation.")
    total = result.get("total", len(result["rows"]))
    left_out = total - len(shown)
    if left_out:
        caption += (f' Showing the best {limit} by each primary metric and every champion of {fmt(total)} models; '
                    f'{fmt(left_out)} more in <a href="api/models">api/models</a>.')
    return f'<p class="caption">{caption}</p>' + table(
        [("#", "num"), ("Version", ""), ("Family", ""), ("Status", ""), ("Metric", ""), ("Score", "num"),
         ("Best baseline", "num"), ("Δ baseline", "num"), ("Other metrics", ""), ("Target", ""), ("Trained (UTC)", ""),
         ("Files", "")], rows, ident="models-table")


def quality_result(result: dict[str, Any] | Unavailable) -> str:
    if isinstance(result, Unavailable):
        return unavailable(result)
    rows = []
    for r in result["rows"]:
        docs = (f'<a href="objects/{esc(quote(r["docs_key"]))}">Data Docs</a>' if r.get("docs_key")
                else esc(r.get("docs_url") or "—"))
        fails = ""
        if r["failures"]:
            items = "".join(f"<li><code>{esc(f.get('expectation'))}</code> {esc(f.get('description') or '')}"
                            f"{' — ' + esc(fmt(f.get('unexpected_count'))) + ' bad rows' if f.get('unexpected_count') else ''}"
                            "</li>" for f in r["failures"][:8])
            fails = f"<details><summary>{len(r['failures'])} failed</summary><ul>{items}</ul></details>"
        rows.append(f'<tr class="result {esc(r["status"])}"><td>{esc(r["dataset"])}</td>'
                    f'<td><span class="status {esc(r["status"])}">{esc(r["status"])}</span>{fails}</td>'
                    f'{_num(r["expectations"])}{_num(r["failed"])}{_num(r["rows_total"])}'
                    f'<td>{esc((r.get("dump_id") or "")[:12])}</td><td>{esc(fmt(r["created_at"]))}</td>'
                    f'<td><code>{esc(r["run_id"])}</code></td><td>{docs}</td></tr>')
    summary = f'<p class="caption">{result["passed"]} passed, {result["failed"]} failed (latest run of each dataset).</p>'
    return summary + table([("Dataset", ""), ("Status", ""), ("Expectations", "num"), ("Failed", "num"),
                            ("Rows", "num"), ("Dump", ""), ("Checked (UTC)", ""), ("Run", ""), ("Docs", "")],
                           rows, ident="quality-table")


def markdown_page(text: str, key: str) -> str:
    """A markdown object (a model card) as a page in the musim style; raw HTML in it is escaped."""
    up = "../" * len(key.split("/"))  # from objects/<key> back to the app's root
    try:
        from markdown_it import MarkdownIt

        body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    except ImportError:  # pragma: no cover - markdown-it-py comes with Airflow (rich)
        body = f"<pre>{esc(text)}</pre>"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(key)}</title>'
            f'<link rel="stylesheet" href="{up}static/musim.css"></head><body><header><h1>'
            f'<a href="{up}#models">musim</a></h1><span class="by">{esc(key)}</span></header>'
            f'<main class="doc">{body}</main></body></html>')


def header(snapshot: dict[str, Any] | None, path_name: str | None) -> str:
    if snapshot is None:
        return ""
    build = snapshot.get("build")
    chips = "".join(f'<span class="chip {"on" if on else "off"}" title="{esc(t)}">{esc(t)}</span>'
                    for t, on in snapshot["sections"].items())
    about = (f"dump <code>{esc(build['dump_id'][:12])}</code> · {fmt(build['users'])} users · "
             f"{fmt(build['artists'])} artists with ≥ {esc(build['min_listeners'])} listeners · "
             f"top {esc(build['k'])} neighbours · built {esc(fmt(build['built_at']))} UTC" if build else "no similarity build")
    return (f'<p class="snapshot" id="snapshot">Snapshot <code>{esc(path_name)}</code> · {about}</p>'
            f'<p class="chips">{chips}</p>')


def page(*, state: Mapping[str, Any], snapshot: dict[str, Any] | None, path_name: str | None,
         not_published: str | None, artists: str, tracks: str, models: str, quality: str,
         heading: str = "Nothing to show yet.") -> str:
    banner = notice("missing", f"<strong>{esc(heading)}</strong> {esc(not_published)}", "not-published") \
        if not_published else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>musim — similar artists, tracks, models, data quality</title>
<link rel="icon" href="static/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="static/musim.css">
</head><body>
<header>
  <h1><img src="static/icon.svg" alt="" width="28" height="28"> musim</h1>
  <nav><a href="#artists">Artists</a><a href="#tracks">Tracks</a><a href="#models">Models</a>
       <a href="#quality">Data quality</a><a href="api/status" title="JSON API">API</a></nav>
</header>
<main>
{header(snapshot, path_name)}{banner}
<section id="artists"><h2>Similar artists</h2>{artist_form(state)}{artists}</section>
<section id="tracks"><h2>Similar tracks</h2>{track_form(state)}{tracks}</section>
<section id="models"><h2>Model leaderboard</h2>{models}</section>
<section id="quality"><h2>Latest data quality</h2>{quality}</section>
</main>
<footer>Reads the published read-only snapshot only. JSON: <code>api/similar?artist=…&amp;metric=…&amp;k=…</code>,
<code>api/tracks/similar?q=…</code>, <code>api/models</code>, <code>api/quality</code>, <code>api/status</code>.</footer>
<script src="static/musim.js" defer></script>
</body></html>"""


def artists_block(colistening: str, audio: str | None) -> str:
    audio_html = audio if audio is not None else ""
    return (f'<div class="grid"><div class="card" id="colistening"><h3>By co-listening</h3>{colistening}</div>'
            f'<div class="card" id="audio"><h3>By sound (audio embeddings)</h3>{audio_html}</div></div>')
