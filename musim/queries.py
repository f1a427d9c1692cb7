"""What the web page and the CLI ask of a published snapshot, as plain data (no HTML, no FastAPI, no Airflow).

Every function takes a read-only DuckDB connection (or cursor) on one snapshot. Tables that later stages
publish (``artist_neighbors_audio``, ``track_neighbors``, ``track``, ``model_registry``,
``quality_result``) may be missing or empty: the functions then return :class:`Unavailable`, which names
the DAG that builds them, instead of raising.

Every question is a plain SQL file of ``sql/queries/`` over the tables as their migrations create them
(the audio neighbours: ``sql/migrations/008_audio_neighbors.sql``; the model registry: 007), run with
:func:`musim.sql.rows`; values come back as JSON holds them (:func:`musim.jsonable.plain`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from musim import sandbox, serving, sql
from musim.errors import NotFoundError, ParameterError, StorageError
from musim.jsonable import plain
from musim.names import name_norm
from musim.similarity import METRICS
from musim.similarity.query import (
    EARLIER_LAYOUT,
    ArtistNotFound,
    ArtistSimilarity,
    _refuse_unlookable,
    artist_id_of,
    find_artist,
    namesakes_of,
)
from musim.similarity.query import suggest_artists as suggest

# Which DAG (or command) produces each optional table: the hint a missing table shows.
PRODUCERS: dict[str, str] = {
    "artist_neighbors": "the lastfm_ingest DAG, then artist_similarity (or `musim similarity build`)",
    "track": "the audio_acquire DAG (or library_scan, `musim library add`)",
    "artist_neighbors_audio": "the train_siamese or train_embeddings DAG (train → evaluate → publish the "
                              "embeddings), or `musim models publish VERSION`",
    "track_neighbors": "the train_siamese or train_embeddings DAG (train → evaluate → publish the embeddings), "
                       "or `musim models publish VERSION`",
    "model_registry": "the train_siamese or train_embeddings DAG (or `musim models train`)",
    "quality_result": "any DAG with a quality gate (lastfm_ingest, artist_similarity, audio_features…) "
                      "or `musim quality check`",
}
OPTIONAL_TABLES = ("track", "artist_neighbors_audio", "track_neighbors", "model_registry", "quality_result")

# The model registry (migration 007): scorers in ``metrics`` besides the model itself are its baselines
# (and the champion re-scored under its version); ``model`` is the model (musim.models.registry).
MODEL_SCORER = "model"
BASELINES = ("random", "popularity", "pixel", "descriptors")
_MODEL_OBJECT = re.compile(r"(?:^|/)(models/[^?#]+)")


# -- results -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unavailable:
    """A section that cannot be shown yet: what is missing and which DAG builds it."""

    table: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"available": False, "table": self.table, "message": self.message}


def ask(question: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``question(con, snapshot, *args, **kwargs)`` on the published snapshot (sandboxed, read-only, closed after);
    an :class:`Unavailable` answer is raised as the :class:`NotFoundError` of its message (the CLI's way of
    saying what is not built yet and which DAG or command builds it). A table or column this version's layout has and
    the snapshot lacks is :data:`~musim.similarity.query.EARLIER_LAYOUT` (as `musim similar` and the web app say
    it); any other error of DuckDB's binder (a wrong type, a function missing: a bug) is raised as it is."""
    con = sandbox.open_sandbox(serving.current_path())
    try:
        result = question(con, inspect(con), *args, **kwargs)
    except (duckdb.BinderException, duckdb.CatalogException) as exc:
        if not sql.earlier_layout(con, exc):
            raise
        raise StorageError(EARLIER_LAYOUT) from exc
    finally:
        con.close()
    if isinstance(result, Unavailable):
        raise NotFoundError(result.message)
    return result


class TrackNotFound(NotFoundError):
    """No track matched the query."""


@dataclass
class Snapshot:
    """The relations of one open snapshot: ``{table: [column, ...]}`` and which tables hold rows."""

    columns: dict[str, list[str]]
    types: dict[tuple[str, str], str]
    nonempty: set[str] = field(default_factory=set)

    def has(self, table: str) -> bool:
        return table in self.nonempty

    def missing(self, table: str, what: str) -> Unavailable:
        state = "is empty" if table in self.columns else "is not in the published snapshot"
        return Unavailable(table, f"{what}: not built yet (`{table}` {state}). Run {PRODUCERS.get(table, 'its DAG')}; "
                                  "the next published snapshot will show it.")


def inspect(con: duckdb.DuckDBPyConnection) -> Snapshot:
    """Which tables/views the snapshot has, their columns, and which of the optional ones hold rows."""
    columns: dict[str, list[str]] = {}
    types: dict[tuple[str, str], str] = {}
    for table, column, dtype in sql.query(con, "queries/relations.sql").fetchall():
        columns.setdefault(table, []).append(column)
        types[(table, column)] = str(dtype)
    snap = Snapshot(columns, types)
    for table in ("artist_neighbors", "similarity_build", *OPTIONAL_TABLES):
        # artist_neighbors is a view scoring every stored pair: it has rows when artist_pairs has
        probe = "artist_pairs" if table == "artist_neighbors" else table
        if table in columns and probe in columns and sql.query(con, "queries/nonempty.sql", table=probe).fetchone()[0]:
            snap.nonempty.add(table)
    return snap


def _rows(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of ``sql/<name>`` as JSON holds them."""
    return [plain(row) for row in sql.rows(con, name, **params)]


# -- overview ------------------------------------------------------------------------------------

def overview(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> dict[str, Any]:
    """The latest built dump and its build parameters, plus which sections have data."""
    info = _rows(con, "queries/snapshot_info.sql")
    return {"build": info[0] if info else None,
            "sections": {t: snap.has(t) for t in ("artist_neighbors", *OPTIONAL_TABLES)}}


def latest_dump(con: duckdb.DuckDBPyConnection) -> str | None:
    row = sql.query(con, "similarity/snapshot_latest_dump.sql").fetchone()
    return row[0] if row else None


# -- artists -------------------------------------------------------------------------------------

def top_artists(con: duckdb.DuckDBPyConnection, snap: Snapshot, *, limit: int = 8) -> list[str]:
    """The most listened artists with co-listening neighbours: examples to click on an empty page."""
    if not snap.has("artist_neighbors"):
        return []
    dump = latest_dump(con)
    return [] if dump is None else [r[0] for r in sql.query(con, "queries/top_artists.sql",
                                                             dump_id=dump, limit=limit).fetchall()]


def suggest_artists(con: duckdb.DuckDBPyConnection, snap: Snapshot, q: str, *, limit: int = 10
                    ) -> list[dict[str, Any]]:
    """Artists for autocomplete, by the rule of ``musim similar``'s "did you mean"
    (:func:`musim.similarity.query.suggest_artists`): each with its id, and where several share a name, the
    ``detail`` that tells them apart (MBID prefix, listeners or tracks)."""
    if "artist" not in snap.columns:
        return []
    dump = latest_dump(con)  # None for a music library without listening data: every catalogue artist
    return [s.to_json() for s in suggest(con, q, dump, limit=limit)]


def artist_named(con: duckdb.DuckDBPyConnection, artist_id: int) -> str | None:
    """The name of the artist of id ``artist_id``; None when the snapshot has none."""
    row = sql.query(con, "serving/artist_of.sql", artist_id=artist_id).fetchone()
    return None if row is None else str(row[0])


def similar_artists(con: duckdb.DuckDBPyConnection, snap: Snapshot, name: str | None, *, artist_id: int | None = None,
                    mbid: str | None = None, metric: str = "seed", k: int = 10,
                    dump: str | None = None) -> dict[str, Any] | Unavailable:
    """Co-listening neighbours of ``name`` (or of id ``artist_id``, MBID ``mbid``: what ``musim similar --id``,
    ``--mbid`` take) by ``metric`` (``ArtistSimilarity`` on the snapshot), in the build of ``dump`` (an id or
    unique prefix, as ``musim similar --dump``; default: the latest the snapshot serves)."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
    if name is not None:  # refused before what is published is looked at (the lookups' one check)
        _refuse_unlookable(name)
    if not snap.has("similarity_build") or not snap.has("artist_neighbors"):
        return snap.missing("artist_neighbors", "Co-listening similarity")
    answer = ArtistSimilarity(con).similar(name, artist_id=artist_id, mbid=mbid, k=k, metric=metric, dump_id=dump)
    query = name if name is not None else artist_id if artist_id is not None else mbid
    return {"available": True, "query": query, **answer.to_json()}  # what `musim similar --json` prints


#: The model versions each neighbours table holds (newest publication first).
_MODELS_OF = {"artist_neighbors_audio": "queries/audio_neighbor_models.sql",
              "track_neighbors": "queries/track_neighbor_models.sql"}


def models_of(con: duckdb.DuckDBPyConnection, snap: Snapshot, table: str) -> list[str]:
    """The model versions in the neighbours table ``table``, the one to show by default first: the registry's
    champion if it has neighbours here, else the newest."""
    found = [r["model"] for r in sql.rows(con, _MODELS_OF[table])]
    for cand in champion_versions(con, snap):
        if cand in found:
            return [cand, *[m for m in found if m != cand]]
    return found


def _chosen(con: duckdb.DuckDBPyConnection, snap: Snapshot, table: str, model: str | None,
            what: str) -> tuple[str, list[str]]:
    """``model`` (it must have rows in ``table``) or the default one, and every model of ``table``."""
    models = models_of(con, snap, table)
    if model is not None and model not in models:
        raise NotFoundError(f"no {what} of model {model!r}; models: {', '.join(models) or 'none'}")
    return (model if model is not None else models[0]), models


def audio_neighbors(con: duckdb.DuckDBPyConnection, snap: Snapshot, name: str | None, *, artist_id: int | None = None,
                    mbid: str | None = None, k: int = 10, model: str | None = None) -> dict[str, Any] | Unavailable:
    """Neighbours of ``name`` (or of id ``artist_id``, MBID ``mbid``) by audio embedding
    (``artist_neighbors_audio``), of ``model`` or the default. A name several artists share answers as the
    co-listening question does (:func:`similar_artists`): the most listened, without listeners the one with the most
    tracks, the others in ``namesakes``; each row says whether its name is shared (``shared_name``: its id tells it
    apart), and ``reason`` why there is none."""
    if name is not None:  # refused before what is published is looked at (the lookups' one check)
        _refuse_unlookable(name)
    if not snap.has("artist_neighbors_audio"):
        return snap.missing("artist_neighbors_audio", "Audio similarity")
    dump = latest_dump(con)  # None for a music library without listening data: its artists are found by name alone
    if name is None:
        artist_id = artist_id_of(con, artist_id, mbid)
        display = artist_named(con, artist_id)
    else:
        try:
            artist_id, display = find_artist(con, name, dump)
        except ArtistNotFound:
            if dump is None:
                raise
            find_artist(con, name, None)  # raises with suggestions among every artist: those without listeners too
            raise
    chosen, models = _chosen(con, snap, "artist_neighbors_audio", model, "audio neighbours")
    rows = _rows(con, "queries/audio_neighbors.sql", artist_id=artist_id, dump_id=dump, k=k, model=chosen)
    return {"available": True, "query": name if name is not None else artist_id if mbid is None else mbid,
            "artist": display, "artist_id": artist_id, "mbid": _mbid_of(con, artist_id),
            "namesakes": [asdict(n) for n in namesakes_of(con, artist_id, dump)],
            "reason": None if rows else _why_no_audio_neighbours(con, artist_id, str(display), chosen),
            "k": k, "model": chosen, "models": models, "rows": rows}


def _mbid_of(con: duckdb.DuckDBPyConnection, artist_id: int) -> str | None:
    row = sql.query(con, "serving/artist_of.sql", artist_id=artist_id).fetchone()
    return None if row is None else row[1]


def _why_no_audio_neighbours(con: duckdb.DuckDBPyConnection, artist_id: int, name: str, model: str) -> str:
    """Why the artist ``name`` has no audio neighbours in ``model``: a placeholder, no tracks, tracks without
    features when the version was published, or no other artist to compare it with."""
    placeholder, tracks, embedded = sql.query(con, "queries/audio_absence.sql", artist_id=artist_id,
                                              model=model).fetchone()
    said = f"{name} has no audio neighbours in {model}"
    if placeholder:
        return (f"{said}: it is a placeholder name (the library's for files whose artist it cannot tell, Last.FM's "
                "for plays of an unknown artist or of many): it is never compared with other artists"
                + (f"; tag its {tracks:,} track{'s' * (tracks != 1)} to give them their artist (`musim library list "
                   f"--artist {shlex.quote(name)}` lists them)" if tracks else ""))
    if not tracks:
        return (f"{said}: it has no tracks (no music of the library, no acquired previews): add its music (`musim "
                f"library add`) or fetch its previews (`musim acquire`), then `musim features build` and publish "
                f"{model} again (`musim models publish {model}`)")
    if embedded:
        return f"{said}: no other artist had tracks with audio features when {model} was published"
    return (f"{said}: it had no tracks with audio features when {model} was published; after `musim features build`, "
            f"publish it again (`musim models publish {model}`)")


# -- tracks --------------------------------------------------------------------------------------

def find_tracks(con: duckdb.DuckDBPyConnection, snap: Snapshot, q: str, *, limit: int = 20
                ) -> list[dict[str, Any]] | Unavailable:
    """Tracks whose title or artist contains ``q``."""
    if not snap.has("track"):
        return snap.missing("track", "Tracks")
    norm = name_norm(q)
    if not norm:
        return []
    return _rows(con, "queries/track_search.sql", q=norm, limit=limit)


def similar_tracks(con: duckdb.DuckDBPyConnection, snap: Snapshot, *, track_id: str | None = None,
                   q: str | None = None, k: int = 10, model: str | None = None) -> dict[str, Any] | Unavailable:
    """Neighbours of one track (``track_id``, or the best match of the text ``q``) from ``track_neighbors``."""
    if not snap.has("track_neighbors"):
        return snap.missing("track_neighbors", "Track similarity")
    matches: list[dict[str, Any]] = []
    subject: dict[str, Any]
    if track_id:
        if snap.has("track"):
            found = _rows(con, "queries/track_by_id.sql", track_id=track_id)
            if not found:
                raise TrackNotFound(f"no track with id {track_id!r} in the published snapshot: {NOT_SERVED_YET}")
            subject = found[0]
        else:
            subject = {"track_id": track_id, "title": None, "artist": None}
    else:
        if not q or not q.strip():
            raise ParameterError("the track query is empty: give words of a track's title or artist, or a track id")
        found_or = find_tracks(con, snap, q)
        if isinstance(found_or, Unavailable):
            return found_or
        if not found_or:
            raise TrackNotFound(f"no track title or artist contains {q!r} in the published snapshot: {NOT_SERVED_YET}")
        subject, matches = found_or[0], found_or[1:]
    chosen, models = _chosen(con, snap, "track_neighbors", model, "track neighbours")
    rows = _rows(con, "queries/track_neighbors.sql", track_id=subject["track_id"], k=k, model=chosen)
    return {"available": True, "track": subject, "other_matches": matches, "k": k, "model": chosen,
            "models": models, "reason": None if rows else _why_no_track_neighbours(con, subject, chosen),
            "rows": rows}


#: What serves a track added since the snapshot was published (what a track search that finds nothing says).
NOT_SERVED_YET = ("a track added since (`musim library add`, `musim acquire`) is served once it has audio features "
                  "(`musim features build`) and a model version is published again (`musim models publish VERSION`); "
                  "`musim library list` lists the library")


def _why_no_track_neighbours(con: duckdb.DuckDBPyConnection, track: dict[str, Any], model: str) -> str:
    """Why ``track`` has no audio neighbours in ``model`` (as :func:`_why_no_audio_neighbours` for artists): every
    track it was compared with was removed since, or it had no audio features when the version was published (a
    version publishes neighbours of every track it embedded: other artists' tracks)."""
    own = sql.query(con, "queries/track_absence.sql", track_id=track["track_id"], model=model).fetchone()[0]
    name = track.get("title") or track["track_id"]
    said = f"{name} has no track neighbours in {model}"
    if own:
        return (f"{said}: every track it was compared with is gone from the library since {model} was published; "
                f"publish it again (`musim models publish {model}`)")
    return (f"{said}: it had no audio features when {model} was published (added since, or its features not built); "
            f"after `musim features build`, publish it again (`musim models publish {model}`)")


# -- models --------------------------------------------------------------------------------------

def champion_versions(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> list[str]:
    """The registry's champion version(s), one per family."""
    if not snap.has("model_registry"):
        return []
    return [r[0] for r in sql.query(con, "queries/champions.sql").fetchall()]


def object_key(value: Any, prefix_pattern: re.Pattern[str] = _MODEL_OBJECT) -> str | None:
    """The object-store key inside a URL or key (``s3://b/p/quality/docs/q…/index.html`` → ``quality/docs/…``)."""
    if not isinstance(value, str):
        return None
    m = prefix_pattern.search(value)
    return m.group(1) if m else None


def _summary(metrics: Any, scorer: str, metric: str) -> dict[str, Any] | None:
    cell = metrics.get(scorer, {}).get(metric) if isinstance(metrics, dict) else None
    if not isinstance(cell, dict) or not isinstance(cell.get("mean"), int | float):
        return None
    return {k: cell.get(k) for k in ("mean", "lo", "hi", "n")}


def _json_column(value: Any, unreadable: Any) -> Any:
    """A JSON column's value, parsed when it came back as text; ``unreadable`` when that text is not JSON."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return unreadable


def leaderboard(con: duckdb.DuckDBPyConnection, snap: Snapshot, *, limit: int | None = None
                ) -> dict[str, Any] | Unavailable:
    """Every registered model ranked by its primary metric (mean over test queries, with its bootstrap
    interval), next to the best baseline of its own evaluation run, with its model card's object key.

    ``limit``: only the best ``limit`` by each primary metric and every champion (what the page shows), chosen and
    ranked in SQL (``queries/leaderboard_shown.sql``) among all of them, so only those are read and scored; ``total``
    says how many there are. Their rows and ranks are those of the whole leaderboard."""
    if not snap.has("model_registry"):
        return snap.missing("model_registry", "The model leaderboard")
    if limit is not None:
        total, primary_metrics = sql.query(con, "queries/leaderboard_size.sql").fetchone()
        rows = [_scored(row) for row in _rows(con, "queries/leaderboard_shown.sql", limit=limit)]
        return {"available": True, "primary_metrics": list(primary_metrics), "rows": rows, "total": total}
    rows = [_scored(row) for row in _rows(con, "queries/leaderboard.sql")]

    def key(row: dict[str, Any]) -> tuple:
        mean = row["score"]["mean"] if row["score"] and row["score"]["mean"] is not None else None
        return (row["primary_metric"], mean is None, -(mean or 0.0), not row["champion"], row["version"])

    rows.sort(key=key)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {"available": True, "primary_metrics": sorted({r["primary_metric"] for r in rows}), "rows": rows}


def _scored(row: dict[str, Any]) -> dict[str, Any]:
    """A registry row as the leaderboard shows it: its score, baselines and other metrics from its metrics."""
    metrics = _json_column(row.pop("metrics"), {})
    primary = row["primary_metric"]
    row["score"] = _summary(metrics, MODEL_SCORER, primary)
    baselines = {b: s for b in BASELINES if (s := _summary(metrics, b, primary))}
    best = max(baselines.items(), key=lambda kv: kv[1]["mean"], default=None)
    row["baselines"] = baselines
    row["best_baseline"] = {"name": best[0], **best[1]} if best else None
    row["vs_best_baseline"] = (row["score"]["mean"] - best[1]["mean"]) if best and row["score"] else None
    row["other_metrics"] = {m: s["mean"] for m in (metrics.get(MODEL_SCORER, {}) if isinstance(metrics, dict)
                                                   else {})
                            if m != primary and (s := _summary(metrics, MODEL_SCORER, m))}
    prefix = (row.get("object_prefix") or "").rstrip("/")
    row["card_key"] = f"{prefix}/card.md" if prefix.startswith("models/") else None
    row["metrics_key"] = f"{prefix}/metrics.json" if prefix.startswith("models/") else None
    row["champion"] = row["status"] == "champion"
    return row


# -- quality -------------------------------------------------------------------------------------

def quality(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> dict[str, Any] | Unavailable:
    """The latest result of every quality dataset, with the Data Docs object key of its run (``docs_key``) and
    their URL in the object store configured now (``docs_url``: :func:`musim.quality.report.docs_link`)."""
    if not snap.has("quality_result"):
        return snap.missing("quality_result", "Data-quality results")
    from musim.quality.report import docs_key, docs_link

    rows = _rows(con, "queries/quality_latest.sql")
    store = None
    for row in rows:
        failures = _json_column(row.get("failures"), [])
        row["failures"] = failures if isinstance(failures, list) else []
        row["docs_key"] = docs_key(row.get("docs_url"))
        if row["docs_key"] is not None:  # the URL recorded at run time, under the store configured now
            if store is None:
                from musim.storage import open_store

                store = open_store()
            row["docs_url"] = docs_link(row["docs_url"], store=store)
    return {"available": True, "rows": rows,
            "passed": sum(r["status"] == "passed" for r in rows), "failed": sum(r["status"] == "failed" for r in rows)}
