"""What the web page and the CLI ask of a published snapshot, as plain data (no HTML, no FastAPI, no Airflow).

Every function takes a read-only DuckDB connection (or cursor) on one snapshot. Tables that later stages
publish (``artist_neighbors_audio``, ``track_neighbors``, ``track``, ``model_registry``,
``quality_result``) may be missing or empty: the functions then return :class:`Unavailable`, which names
the DAG that builds them, instead of raising.

The schemas of the audio-neighbour tables and of the model registry belong to the stages that write them,
so this module *recognises* their columns from fixed candidate names (:data:`NEIGHBOR_COLUMNS`,
:data:`REGISTRY_COLUMNS`) rather than hard-coding one shape. Column identifiers placed into SQL come only
from the snapshot's own schema matched against those candidates — never from a request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from musim import sandbox, serving, sql
from musim.errors import NotFoundError, ParameterError
from musim.jsonable import plain
from musim.names import name_norm
from musim.similarity import METRICS
from musim.similarity.query import ArtistNotFound, ArtistSimilarity, artist_id_of, find_artist
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

# Candidate column names, most specific first.
NEIGHBOR_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "artist_neighbors_audio": {
        "subject": ("artist_id", "artist_a", "source_artist_id", "query_artist_id"),
        "neighbor": ("neighbor_id", "neighbour_id", "neighbor_artist_id", "neighbour_artist_id", "artist_b",
                     "similar_artist_id"),
    },
    "track_neighbors": {
        "subject": ("track_id", "track_a", "source_track_id", "query_track_id"),
        "neighbor": ("neighbor_id", "neighbour_id", "neighbor_track_id", "neighbour_track_id", "track_b",
                     "similar_track_id"),
    },
}
SCORE_COLUMNS = ("score", "similarity", "cosine", "cosine_similarity", "sim")
DISTANCE_COLUMNS = ("distance", "dist", "cosine_distance")
RANK_COLUMNS = ("rank", "neighbor_rank", "position")
MODEL_COLUMNS = ("model_version", "model_id", "model", "version", "model_name")
TIME_COLUMNS = ("created_at", "built_at", "published_at", "trained_at", "registered_at", "updated_at")
# The model registry (migration 007): scorers in ``metrics`` besides the model itself are its baselines
# (and the champion re-scored under its version); ``model`` is the model (musim.models.registry).
MODEL_SCORER = "model"
BASELINES = ("random", "popularity", "pixel", "descriptors")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_QUALITY_DOCS = re.compile(r"(?:^|/)(quality/docs/[^?#]+)")
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
    saying what is not built yet and which DAG or command builds it)."""
    con = sandbox.open_sandbox(serving.current_path())
    try:
        result = question(con, inspect(con), *args, **kwargs)
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

    def pick(self, table: str, candidates: Iterable[str]) -> str | None:
        present = self.columns.get(table, [])
        lower = {c.lower(): c for c in present}
        for cand in candidates:
            if cand in lower and _IDENT.match(lower[cand]):
                return lower[cand]
        return None

    def missing(self, table: str, what: str) -> Unavailable:
        state = "is empty" if table in self.columns else "is not in the published snapshot"
        return Unavailable(table, f"{what}: not built yet (`{table}` {state}). Run {PRODUCERS.get(table, 'its DAG')}; "
                                  "the next published snapshot will show it.")


def inspect(con: duckdb.DuckDBPyConnection) -> Snapshot:
    """Which tables/views the snapshot has, their columns, and which of the optional ones hold rows."""
    columns: dict[str, list[str]] = {}
    types: dict[tuple[str, str], str] = {}
    for table, column, dtype in con.execute(sql.load("queries/relations.sql")).fetchall():
        columns.setdefault(table, []).append(column)
        types[(table, column)] = str(dtype)
    snap = Snapshot(columns, types)
    for table in ("artist_neighbors", "similarity_build", *OPTIONAL_TABLES):
        # artist_neighbors is a view scoring every stored pair: it has rows when artist_pairs has
        probe = "artist_pairs" if table == "artist_neighbors" else table
        if table in columns and probe in columns and sql.query(con, "queries/nonempty.sql", table=probe).fetchone()[0]:
            snap.nonempty.add(table)
    return snap


def _q(ident: str) -> str:
    """A column of the snapshot (chosen by Snapshot.pick) as a quoted identifier for a fragment."""
    return sql.identifier(ident)


def _render(name: str, **parts: str) -> str:
    """``sql/queries/<name>`` with its ``{{part}}`` placeholders filled (identifiers and fixed fragments)."""
    def fill(m: re.Match[str]) -> str:
        if m.group(1) not in parts:
            raise KeyError(f"sql/{name} needs the fragment {m.group(1)!r}")
        return parts[m.group(1)]

    return sql.statements(_PLACEHOLDER.sub(fill, sql.load(name)))[0]


def _rows(cur: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    used = sql.params_of(query)
    res = cur.execute(query, {k: v for k, v in (params or {}).items() if k in used} or None)
    names = [d[0] for d in res.description]
    return [plain(dict(zip(names, row, strict=True))) for row in res.fetchall()]


# -- overview ------------------------------------------------------------------------------------

def overview(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> dict[str, Any]:
    """The latest built dump and its build parameters, plus which sections have data."""
    info = _rows(con, sql.load("queries/snapshot_info.sql"))
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
    return [] if dump is None else [r[0] for r in con.execute(sql.load("queries/top_artists.sql"),
                                                             {"dump_id": dump, "limit": limit}).fetchall()]


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
                    mbid: str | None = None, metric: str = "seed", k: int = 10) -> dict[str, Any] | Unavailable:
    """Co-listening neighbours of ``name`` (or of id ``artist_id``, MBID ``mbid``: what ``musim similar --id``,
    ``--mbid`` take) by ``metric`` (``ArtistSimilarity`` on the snapshot)."""
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
    if not snap.has("similarity_build") or not snap.has("artist_neighbors"):
        return snap.missing("artist_neighbors", "Co-listening similarity")
    answer = ArtistSimilarity(con).similar(name, artist_id=artist_id, mbid=mbid, k=k, metric=metric)
    query = name if name is not None else artist_id if artist_id is not None else mbid
    return {"available": True, "query": query, **answer.to_json()}  # what `musim similar --json` prints


@dataclass(frozen=True)
class NeighborShape:
    """How a neighbours table of another stage is laid out (recognised columns)."""

    table: str
    subject: str
    neighbor: str
    score: str | None
    distance: str | None
    rank: str | None
    model: str | None
    time: str | None

    def fragments(self, model: str | None) -> dict[str, str]:
        if self.score:
            score = f"n.{_q(self.score)}"
        elif self.distance:
            score = f"n.{_q(self.distance)}"
        else:
            score = "NULL::DOUBLE"
        if self.rank:
            order = f"n.{_q(self.rank)}"
        elif self.score:
            order = f"n.{_q(self.score)} DESC"
        elif self.distance:
            order = f"n.{_q(self.distance)}"
        else:
            order = f"n.{_q(self.neighbor)}"
        rank = f"n.{_q(self.rank)}" if self.rank else f"row_number() OVER (ORDER BY {order})"
        model_filter = f"CAST(n.{_q(self.model)} AS VARCHAR) = $model" if self.model and model is not None else "true"
        return {"subject": _q(self.subject), "neighbor": _q(self.neighbor), "score_expr": score,
                "rank_expr": rank, "order": order, "model_filter": model_filter}


def neighbor_shape(snap: Snapshot, table: str) -> NeighborShape | Unavailable:
    cols = NEIGHBOR_COLUMNS[table]
    subject, neighbor = snap.pick(table, cols["subject"]), snap.pick(table, cols["neighbor"])
    if subject is None or neighbor is None or subject == neighbor:
        return Unavailable(table, f"`{table}` has columns this page does not recognise "
                                  f"({', '.join(snap.columns.get(table, []))}): expected one of "
                                  f"{'/'.join(cols['subject'])} and one of {'/'.join(cols['neighbor'])}.")
    return NeighborShape(table, subject, neighbor, snap.pick(table, SCORE_COLUMNS),
                         snap.pick(table, DISTANCE_COLUMNS), snap.pick(table, RANK_COLUMNS),
                         snap.pick(table, MODEL_COLUMNS), snap.pick(table, TIME_COLUMNS))


def models_of(con: duckdb.DuckDBPyConnection, snap: Snapshot, shape: NeighborShape) -> list[str]:
    """The model versions in a neighbours table, the one to show by default first: the registry's
    champion if it has neighbours here, else the newest."""
    if shape.model is None:
        return []
    newest = f"max({_q(shape.time)})" if shape.time else "NULL"
    found = [r[0] for r in con.execute(_render("queries/model_values.sql", model=_q(shape.model), newest=newest,
                                                table=_q(shape.table))).fetchall() if r[0] is not None]
    champ = champion_versions(con, snap)
    for cand in champ:
        if cand in found:
            return [cand, *[m for m in found if m != cand]]
    return found


def audio_neighbors(con: duckdb.DuckDBPyConnection, snap: Snapshot, name: str | None, *, artist_id: int | None = None,
                    mbid: str | None = None, k: int = 10, model: str | None = None) -> dict[str, Any] | Unavailable:
    """Neighbours of ``name`` (or of id ``artist_id``, MBID ``mbid``) by audio embedding
    (``artist_neighbors_audio``), of ``model`` or the default."""
    if not snap.has("artist_neighbors_audio"):
        return snap.missing("artist_neighbors_audio", "Audio similarity")
    shape = neighbor_shape(snap, "artist_neighbors_audio")
    if isinstance(shape, Unavailable):
        return shape
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
    models = models_of(con, snap, shape)
    if model is not None and shape.model is not None and model not in models:
        raise NotFoundError(f"no audio neighbours of model {model!r}; models: {', '.join(models) or 'none'}")
    chosen = model if model is not None else (models[0] if models else None)
    params: dict[str, Any] = {"artist_id": artist_id, "dump_id": dump, "k": k}
    if shape.model is not None and chosen is not None:
        params["model"] = chosen
    rows = _rows(con, _render("queries/audio_neighbors.sql", **shape.fragments(params.get("model"))), params)
    return {"available": True, "query": name if name is not None else artist_id if mbid is None else mbid,
            "artist": display, "artist_id": artist_id, "k": k,
            "model": chosen, "models": models, "score_kind": "distance" if not shape.score and shape.distance
            else "similarity", "rows": rows}


# -- tracks --------------------------------------------------------------------------------------

def find_tracks(con: duckdb.DuckDBPyConnection, snap: Snapshot, q: str, *, limit: int = 20
                ) -> list[dict[str, Any]] | Unavailable:
    """Tracks whose title or artist contains ``q``."""
    if not snap.has("track"):
        return snap.missing("track", "Tracks")
    norm = name_norm(q)
    if not norm:
        return []
    return _rows(con, sql.load("queries/track_search.sql"), {"q": norm, "limit": limit})


def similar_tracks(con: duckdb.DuckDBPyConnection, snap: Snapshot, *, track_id: str | None = None,
                   q: str | None = None, k: int = 10, model: str | None = None) -> dict[str, Any] | Unavailable:
    """Neighbours of one track (``track_id``, or the best match of the text ``q``) from ``track_neighbors``."""
    if not snap.has("track_neighbors"):
        return snap.missing("track_neighbors", "Track similarity")
    shape = neighbor_shape(snap, "track_neighbors")
    if isinstance(shape, Unavailable):
        return shape
    matches: list[dict[str, Any]] = []
    subject: dict[str, Any]
    if track_id:
        if snap.has("track"):
            found = _rows(con, sql.load("queries/track_by_id.sql"), {"track_id": track_id})
            if not found:
                raise TrackNotFound(f"no track with id {track_id!r} in the published snapshot")
            subject = found[0]
        else:
            subject = {"track_id": track_id, "title": None, "artist": None}
    else:
        if not q or not q.strip():
            raise TrackNotFound("give a track title, an artist name or a track id")
        found_or = find_tracks(con, snap, q)
        if isinstance(found_or, Unavailable):
            return found_or
        if not found_or:
            raise TrackNotFound(f"no track title or artist contains {q!r}")
        subject, matches = found_or[0], found_or[1:]
    models = models_of(con, snap, shape)
    if model is not None and shape.model is not None and model not in models:
        raise NotFoundError(f"no track neighbours of model {model!r}; models: {', '.join(models) or 'none'}")
    chosen = model if model is not None else (models[0] if models else None)
    parts = shape.fragments(chosen if shape.model is not None else None)
    if snap.has("track"):
        parts |= {"track_join": f"LEFT JOIN track t ON t.track_id = n.{_q(shape.neighbor)} "
                                "LEFT JOIN artist a ON a.artist_id = t.artist_id",
                  "title_expr": "t.title", "artist_expr": "a.name"}
    else:
        parts |= {"track_join": "", "title_expr": "NULL::VARCHAR", "artist_expr": "NULL::VARCHAR"}
    params: dict[str, Any] = {"track_id": subject["track_id"], "k": k}
    if shape.model is not None and chosen is not None:
        params["model"] = chosen
    rows = _rows(con, _render("queries/track_neighbors.sql", **parts), params)
    return {"available": True, "track": subject, "other_matches": matches, "k": k, "model": chosen,
            "models": models, "score_kind": "distance" if not shape.score and shape.distance else "similarity",
            "rows": rows}


# -- models --------------------------------------------------------------------------------------

def champion_versions(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> list[str]:
    """The registry's champion version(s), one per family."""
    if not snap.has("model_registry"):
        return []
    return [r[0] for r in con.execute(sql.load("queries/champions.sql")).fetchall()]


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


def leaderboard(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> dict[str, Any] | Unavailable:
    """Every registered model ranked by its primary metric (mean over test queries, with its bootstrap
    interval), next to the best baseline of its own evaluation run, with its model card's object key."""
    if not snap.has("model_registry"):
        return snap.missing("model_registry", "The model leaderboard")
    rows = _rows(con, sql.load("queries/leaderboard.sql"))
    for row in rows:
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

    def key(row: dict[str, Any]) -> tuple:
        mean = row["score"]["mean"] if row["score"] and row["score"]["mean"] is not None else None
        return (row["primary_metric"], mean is None, -(mean or 0.0), not row["champion"], row["version"])

    rows.sort(key=key)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {"available": True, "primary_metrics": sorted({r["primary_metric"] for r in rows}), "rows": rows}


# -- quality -------------------------------------------------------------------------------------

def quality(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> dict[str, Any] | Unavailable:
    """The latest result of every quality dataset, with the Data Docs object key of its run."""
    if not snap.has("quality_result"):
        return snap.missing("quality_result", "Data-quality results")
    rows = _rows(con, sql.load("queries/quality_latest.sql"))
    for row in rows:
        failures = _json_column(row.get("failures"), [])
        row["failures"] = failures if isinstance(failures, list) else []
        row["docs_key"] = object_key(row.get("docs_url"), _QUALITY_DOCS)
    return {"available": True, "rows": rows,
            "passed": sum(r["status"] == "passed" for r in rows), "failed": sum(r["status"] == "failed" for r in rows)}
