"""The musim web app (FastAPI): one HTML page plus JSON endpoints, reading only the published snapshot.

Mounted by the Airflow plugin (``plugins/musim_plugin.py``) under ``/musim`` on Airflow's API server and
shown inside the Airflow UI; also runs on its own (``python -m musim.ui.standalone app``). Importing this
module does not import Airflow.

Routes (relative to where the app is mounted):

=====================================  =============================================================
``GET /``                              the page (query: ``artist``, ``artist_id``, ``metric``, ``k``, ``model``,
                                       ``track``, ``track_id``, ``track_model``)
``GET /api/status``                    the snapshot: file, latest dump/build, which sections have data
``GET /api/similar``                   ``artist`` (or ``id``, ``mbid``: one of the three), ``metric``
                                       (seed|jaccard|cosine|lift|pmi), ``k``, ``source`` (colistening|audio),
                                       ``model`` (audio only), ``dump`` (co-listening only: a dump id or
                                       prefix the snapshot serves, as ``musim similar --dump``)
``GET /api/suggest``                   ``q``: artists for autocomplete (``musim similar``'s rule), each with
                                       its id and, where several share a name, what tells them apart
``GET /api/tracks``                    ``q``: tracks whose title or artist contains it
``GET /api/tracks/similar``            ``track_id`` or ``q`` (one of them), ``k``, ``model``
``GET /api/models``                    the model leaderboard
``GET /api/quality``                   the latest data-quality result of every dataset
``GET /objects/<key>``                 Data Docs (``quality/docs/…``) and model cards (``models/…``)
                                       from the object store, read-only, streamed in chunks; one byte
                                       range (``Range``, ``If-Range``: :mod:`musim.ui.objects`) is read alone
=====================================  =============================================================

A section whose table is not built answers ``{"available": false, "message": "… run DAG X"}`` (HTTP 200);
an unknown artist answers 404 with ``{"detail": …, "suggestions": [...]}``.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

import duckdb
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.params import Depends
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from musim import queries, serving, sql
from musim.config import Settings, get_settings
from musim.errors import ConfigError, NotFoundError, ParameterError, StorageError
from musim.names import MAX_QUERY_CHARS, name_norm
from musim.params import whole_number
from musim.similarity import METRICS
from musim.similarity.query import ArtistNotFound
from musim.storage import (
    InvalidKey,
    ObjectNotFound,
    RangeNotSatisfiable,
    StorageUnavailable,
    open_store,
    validate_key,
)
from musim.ui import objects as objects_http
from musim.ui import page as html
from musim.ui.snapshot import NotPublished, SnapshotCache
from musim.warehouse import explain

STATIC = Path(__file__).with_name("static")
NOT_PUBLISHED = ("No snapshot has been published yet: run the lastfm_ingest DAG (it ingests the dumps in the "
                 "landing folder), then artist_similarity, which publishes the first snapshot. A music library "
                 "without listening data: library_scan, audio_features, then train_embeddings, which publishes "
                 "its champions (or publish a trained version with `musim models publish VERSION`).")
OBJECT_PREFIXES = ("quality/docs/", "models/")
#: Headers of every stored object served. Data Docs show the data's own values (GX does not escape them: an
#: artist named ``<img onerror=...>`` would run as the viewer, beside Airflow's session), so each page is its
#: own opaque origin: its scripts run, as Data Docs need, but can read no cookie and call no API as the viewer.
OBJECT_HEADERS = {"Content-Security-Policy": "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox; "
                                             "frame-ancestors 'self'",
                  "X-Content-Type-Options": "nosniff"}
#: The page's policy: its script, style sheet and icon come from ``static/``, its script fetches ``api/suggest``,
#: its forms submit to itself, and only a page of the same origin may frame it (Airflow's UI shows it in an iframe
#: of its own origin); no inline script or style, no plugin, no ``<base>``.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
#: FastAPI's ``/api/docs`` (the unguarded app's only): Swagger UI from its CDN, started by an inline script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'")
DOCS_PATHS = ("/api/docs", "/api/docs/oauth2-redirect")
#: Headers of every response, each unless the route set its own (the objects' sandbox policy).
SECURITY_HEADERS = {"X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": PAGE_CSP}
MetricName = Literal["seed", "jaccard", "cosine", "lift", "pmi"]
assert set(MetricName.__args__) == set(METRICS)  # noqa: S101 - the Literal mirrors musim.similarity.METRICS


def _unpublished() -> dict[str, Any]:
    return {"available": False, "table": None, "message": NOT_PUBLISHED}


def _out(result: dict[str, Any] | queries.Unavailable | list) -> Any:
    if isinstance(result, queries.Unavailable):
        return result.to_dict()
    return result


#: Set in the scope of a HEAD request answered as GET (:class:`HeadAsGet`): a route that would read a body it does
#: not send (an object from the store) answers with its headers alone.
HEAD_ONLY = "musim.head_only"


class StaticAssets(StaticFiles):
    """``static/`` with ``Cache-Control: no-cache``: a browser checks its copy (a 304 when current) before each use.
    Without it a copy was reused unchecked for a while (a tenth of its age), so after an upgrade the new page could
    run the old script and style sheet."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


class HeadAsGet:
    """HEAD answered as GET without the body (HTTP's rule; FastAPI's GET routes answered it 405), and named with GET
    in a 405's ``Allow`` (which said ``GET`` alone)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "HEAD":
            await self.app(scope, receive, _allowing_head(send))
            return

        async def headers_only(message: dict) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET", HEAD_ONLY: True}, receive, headers_only)


def _allowing_head(send: Any) -> Any:
    """``send`` with HEAD added to a 405's ``Allow`` where GET is in it."""

    async def allowing_head(message: dict) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            headers = []
            for name, value in message.get("headers", []):
                methods = [m.strip() for m in value.decode("latin-1").split(",")]
                if name.lower() == b"allow" and "GET" in methods and "HEAD" not in methods:
                    value = ", ".join([*methods, "HEAD"]).encode("latin-1")
                headers.append((name, value))
            message = {**message, "headers": headers}
        await send(message)

    return allowing_head


class SecurityHeaders:
    """:data:`SECURITY_HEADERS` added to every response (the page could be framed by any site, and had no policy)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
        self.docs = [(k, DOCS_CSP.encode("latin-1") if k == b"content-security-policy" else v) for k, v in self.headers]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs if scope["path"].endswith(DOCS_PATHS) else self.headers

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *((k, v) for k, v in extra if k not in have)]}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(*, dependencies: Sequence[Depends] = (), settings: Callable[[], Settings] = get_settings,
               title: str = "musim") -> FastAPI:
    """The app; ``dependencies`` guard every route (the Airflow plugin passes its authentication). FastAPI's own
    ``/api/docs`` and ``/api/openapi.json`` skip them, so a guarded app has neither (the static assets are open)."""
    guarded = bool(dependencies)
    app = FastAPI(title=title, description=__doc__.split("\n\n")[0], dependencies=list(dependencies),
                  docs_url=None if guarded else "/api/docs", redoc_url=None,
                  openapi_url=None if guarded else "/api/openapi.json")
    cache = SnapshotCache(settings)
    app.state.snapshots = cache
    app.mount("/static", StaticAssets(directory=STATIC), name="static")
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(ParameterError)
    def bad_parameter(request: Any, exc: ParameterError) -> JSONResponse:  # e.g. an artist name of spaces
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(StorageError)
    def storage_failure(request: Any, exc: StorageError) -> JSONResponse:  # e.g. the current link to a deleted file
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(ConfigError)
    def misconfigured(request: Any, exc: ConfigError) -> JSONResponse:  # e.g. MUSIM_OBJECT_STORE with a bad scheme
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(duckdb.Error)
    def duckdb_failure(request: Any, exc: duckdb.Error) -> JSONResponse:  # e.g. a snapshot cut short
        explained = _explained(exc, settings())
        if explained is None:
            raise exc  # an error of another kind: Starlette's 500
        return JSONResponse({"detail": str(explained)}, status_code=503)

    def not_found(exc: NotFoundError) -> JSONResponse:
        body: dict[str, Any] = {"detail": str(exc)}
        if isinstance(exc, ArtistNotFound):
            body["suggestions"] = exc.suggestions
            body["artists"] = [a.to_json() for a in exc.artists]
        return JSONResponse(body, status_code=404)

    @app.get("/api/status")
    def status() -> Any:
        try:
            with cache.open() as s:
                return {"available": True, "snapshot": s.path.name, **queries.overview(s.con, s.snap)}
        except NotPublished:
            return _unpublished()

    @app.get("/api/similar")
    def similar(artist: str | None = Query(None, min_length=1, max_length=MAX_QUERY_CHARS, description="artist name (case/space-insensitive)"),
                id: int | None = Query(None, ge=0, description="artist id instead of a name (`musim similar --id`; "
                                                               "/api/suggest gives it)"),
                mbid: str | None = Query(None, max_length=MAX_QUERY_CHARS,
                                         description="artist MusicBrainz id instead of a name"),
                metric: MetricName = "seed", k: int = Query(10, ge=1, le=100),
                source: Literal["colistening", "audio"] = "colistening",
                model: str | None = Query(None, min_length=1, description="audio model version (default: the champion)"),
                dump: str | None = Query(None, max_length=MAX_QUERY_CHARS,
                                         description="co-listening only: the dump id or unique prefix to answer "
                                                     "from (`musim similar --dump`; default: the latest)")) -> Any:
        asked = [p for p, v in (("artist", artist), ("id", id), ("mbid", mbid)) if v is not None]
        if len(asked) != 1:
            raise HTTPException(422, "give the artist as one of artist=NAME, id=N or mbid=MBID"
                                     + (f", not {' and '.join(asked)} together" if asked else ""))
        if dump is not None and source == "audio":
            raise HTTPException(422, "dump= applies to co-listening neighbours only: leave it out with source=audio")
        try:
            with cache.open() as s:
                if source == "audio":
                    return _out(queries.audio_neighbors(s.con, s.snap, artist, artist_id=id, mbid=mbid, k=k,
                                                        model=model))
                return _out(queries.similar_artists(s.con, s.snap, artist, artist_id=id, mbid=mbid, metric=metric,
                                                    k=k, dump=dump))
        except NotPublished:
            return _unpublished()
        except NotFoundError as exc:
            return not_found(exc)

    @app.get("/api/suggest")
    def suggest(q: str = Query("", max_length=MAX_QUERY_CHARS), limit: int = Query(10, ge=1, le=50)) -> Any:
        """Artists for ``q`` by ``musim similar``'s rule; ``artists``: each with its id (``/api/similar?id=``) and,
        where several share a name, the ``detail`` that tells them apart; ``names``: their names, each once."""
        try:
            with cache.open() as s:
                found = queries.suggest_artists(s.con, s.snap, q, limit=limit)
                return {"names": list(dict.fromkeys(a["name"] for a in found)), "artists": found}
        except NotPublished:
            return {"names": [], "artists": []}

    @app.get("/api/tracks")
    def tracks(q: str = Query(..., min_length=1, max_length=MAX_QUERY_CHARS), limit: int = Query(20, ge=1, le=100)) -> Any:
        try:
            with cache.open() as s:
                found = queries.find_tracks(s.con, s.snap, q, limit=limit)
                return _out(found) if isinstance(found, queries.Unavailable) else {"available": True, "rows": found}
        except NotPublished:
            return _unpublished()

    @app.get("/api/tracks/similar")
    def tracks_similar(track_id: str | None = Query(None, max_length=MAX_QUERY_CHARS),
                       q: str | None = Query(None, max_length=MAX_QUERY_CHARS), k: int = Query(10, ge=1, le=100),
                       model: str | None = Query(None, min_length=1)) -> Any:
        if bool(track_id) == bool(q):  # as `musim similar-tracks` (QUERY or --id): which one was meant is unknown
            raise HTTPException(422, "give the track's title or artist words, q=WORDS, or track_id=TRACK_ID (one of "
                                     f"them{', not both' if track_id else ''})")
        try:
            with cache.open() as s:
                return _out(queries.similar_tracks(s.con, s.snap, track_id=track_id, q=q, k=k, model=model))
        except NotPublished:
            return _unpublished()
        except NotFoundError as exc:
            return not_found(exc)

    @app.get("/api/models")
    def models() -> Any:
        try:
            with cache.open() as s:
                return _out(queries.leaderboard(s.con, s.snap))
        except NotPublished:
            return _unpublished()

    @app.get("/api/quality")
    def quality() -> Any:
        try:
            with cache.open() as s:
                return _out(queries.quality(s.con, s.snap))
        except NotPublished:
            return _unpublished()

    @app.get("/objects/{key:path}")
    def objects(key: str, request: Request) -> Response:
        if key.endswith("/"):
            key += "index.html"
        if not key.startswith(OBJECT_PREFIXES):
            raise HTTPException(404, f"only {' and '.join(OBJECT_PREFIXES)} objects are served here")
        rendered = key.endswith(".md")  # a model card, rendered whole as a page (a few KiB): no part of it is served
        wanted = None if rendered else objects_http.requested_range(request.headers.get("range"))
        conditions = {} if rendered else objects_http.conditions(request.headers)
        head = request.scope.get(HEAD_ONLY) and not rendered  # HEAD: the headers alone, from the object's metadata
        try:  # opened now: a missing object is a 404, not a cut
            part = (open_store(), validate_key(key), wanted, request.headers.get("if-range"))
            if head:  # nothing opened: on S3 a HeadObject, not a GetObject whose body is left unread
                info, span = objects_http.head_part(*part, **conditions)
            else:
                chunks = objects_http.open_part(*part, **conditions)
                info, span = chunks.info, chunks.span
        except objects_http.NotModified as unchanged:
            return Response(status_code=304, headers={**OBJECT_HEADERS, **objects_http.validator_headers(unchanged.info)})
        except (InvalidKey, ObjectNotFound):
            raise HTTPException(404, f"no object {key!r} in the object store") from None
        except RangeNotSatisfiable as exc:
            return Response(status_code=416, headers={**OBJECT_HEADERS, **objects_http.unsatisfiable_headers(exc)})
        except StorageUnavailable as exc:
            raise HTTPException(503, f"the object store is unavailable: {exc}") from None
        if rendered:
            with closing(chunks):
                text = b"".join(chunks).decode("utf-8", "replace")
            return HTMLResponse(html.markdown_page(text, key), headers={**OBJECT_HEADERS, "Accept-Ranges": "none"})
        media = "text/plain; charset=utf-8" if key.endswith((".txt", ".log")) \
            else mimetypes.guess_type(key)[0] or "application/octet-stream"
        headers = {**OBJECT_HEADERS, **objects_http.part_headers(info, span)}
        status = 200 if span is None else 206
        if head:
            return Response(status_code=status, media_type=media, headers=headers)
        # streamed a chunk at a time (a large object is never held in memory whole); closed at its end
        return StreamingResponse(chunks, status_code=status, media_type=media, headers=headers)

    @app.get("/", response_class=HTMLResponse)
    def index(artist: str = Query("", max_length=MAX_QUERY_CHARS), artist_id: str = "", metric: str = "seed",
              k: str = "10", model: str = "", track: str = Query("", max_length=MAX_QUERY_CHARS), track_id: str = "", track_model: str = "") -> HTMLResponse:
        metric = metric if metric in METRICS else "seed"
        try:
            k_int = min(max(int(k), 1), 100)
        except ValueError:
            k_int = 10
        state = {"artist": artist.strip(), "artist_id": whole_number(artist_id),
                 "metric": metric, "k": k_int, "model": model or None,
                 "track": track.strip(), "track_id": track_id or None, "track_model": track_model or None}
        try:
            with cache.open() as s:
                _one_artist(s.con, state)
                body = _sections(s, state)
                return HTMLResponse(html.page(state=state, snapshot=queries.overview(s.con, s.snap),
                                              path_name=s.path.name, not_published=None, **body))
        except NotPublished:
            return HTMLResponse(html.page(state=state, snapshot=None, path_name=None, not_published=NOT_PUBLISHED,
                                          artists="", tracks="", models="", quality=""))
        except (duckdb.Error, StorageError, ConfigError) as exc:  # a damaged or missing snapshot, DuckDB out of
            # memory, a MUSIM_* setting DuckDB refuses: the page says so, and what to do (not the API's JSON in its place)
            explained = exc if isinstance(exc, StorageError | ConfigError) else _explained(exc, settings())
            if explained is None:
                raise
            return HTMLResponse(html.page(state=state, snapshot=None, path_name=None, not_published=str(explained),
                                          artists="", tracks="", models="", quality="",
                                          heading="The published snapshot cannot be read."), status_code=503)

    return app


def _serving_file(settings: Any) -> Path | None:
    """The snapshot the app reads (named in a damaged block's error), or None before anything is published."""
    try:
        return serving.current_path(settings)
    except (NotFoundError, StorageError):
        return None


def _explained(exc: duckdb.Error, settings: Any) -> StorageError | None:
    """What the app answers (503) for DuckDB's ``exc`` reading the snapshot, or None for an error of another kind (a
    500): a damaged file, memory (:func:`musim.warehouse.explain`), or a table, view or column the snapshot lacks: it
    was published by an earlier version of musim (``musim similar`` says so too), and every page and API answered 500
    until the next publish. Only a table or column this version's layout has (:func:`musim.sql.earlier_layout`'s
    test): any other binder error is a bug, a 500."""
    reading = _serving_file(settings)
    explained = explain(exc, settings, reading=reading)
    missing = sql.missing_name(exc) if isinstance(exc, duckdb.CatalogException | duckdb.BinderException) else None
    if explained is None and missing is not None and sql.in_current_layout(missing[1]):  # not a bug's binder error
        said = str(exc).splitlines()[0].partition(": ")[2] or str(exc).splitlines()[0]
        where = f" {reading}" if reading is not None else ""
        return StorageError(f"the published snapshot{where} lacks what this version of musim reads ({said}): it was "
                            "published by an earlier version of musim; publish a new one (`musim publish`)")
    return explained


def _one_artist(con: Any, state: dict[str, Any]) -> None:
    """The page's artist: the id picked among namesakes (the autocomplete's hidden ``artist_id``, a link), shown
    under its name; an id the name typed no longer names (edited after picking, without the page's script) is
    dropped, and the name is asked for."""
    if state["artist_id"] is None:
        return
    name = queries.artist_named(con, state["artist_id"])
    if name is None or (state["artist"] and not name_norm(state["artist"]).startswith(name_norm(name))):
        state["artist_id"] = None
    else:
        state["artist"] = name


def _sections(s, state: dict[str, Any]) -> dict[str, str]:
    """The page's four sections for one request (each degrades to a notice on its own)."""
    con, snap = s.con, s.snap
    colistening: dict[str, Any] | queries.Unavailable | None = None
    audio: dict[str, Any] | queries.Unavailable | None = None
    error = audio_note = None
    if state["artist"]:
        by_id = state["artist_id"]
        name = None if by_id is not None else state["artist"]
        try:
            colistening = queries.similar_artists(con, snap, name, artist_id=by_id, metric=state["metric"],
                                                  k=state["k"])
        except ArtistNotFound as exc:
            error = {"message": str(exc).split("; did you mean")[0], "suggestions": [a.to_json() for a in exc.artists]}
        except ParameterError as exc:  # a name no artist can have (a C1 control character): said on the page, not
            error = {"message": str(exc), "suggestions": []}  # the API's JSON answer in place of the page
        if error is None:
            try:
                audio = queries.audio_neighbors(con, snap, name, artist_id=by_id, k=state["k"], model=state["model"])
            except NotFoundError as exc:
                audio_note = html.notice("error", html.esc(exc), "audio-error")
    elif not snap.has("artist_neighbors_audio"):
        audio = snap.missing("artist_neighbors_audio", "Audio similarity")
    if colistening is None and error is None and not snap.has("artist_neighbors"):
        colistening = snap.missing("artist_neighbors", "Co-listening similarity")
    left = html.colistening_result(colistening, error, state)
    if not state["artist"] and colistening is None:
        left = html.examples(queries.top_artists(con, snap), state)
    if error is not None:
        audio_note = '<p class="caption">Pick one of the suggested names.</p>'
    artists = html.artists_block(left, audio_note or html.audio_result(
        audio, state, with_namesakes=not isinstance(colistening, dict)))  # else the co-listening answer lists them

    tracks_res: dict[str, Any] | queries.Unavailable | None = None
    track_error = None
    if state["track"] or state["track_id"]:
        try:
            tracks_res = queries.similar_tracks(con, snap, track_id=state["track_id"], q=state["track"] or None,
                                                k=state["k"], model=state["track_model"])
        except NotFoundError as exc:
            track_error = str(exc)
    elif not snap.has("track_neighbors"):
        tracks_res = snap.missing("track_neighbors", "Track similarity")
    tracks = html.tracks_result(tracks_res, track_error, state)
    try:  # the results link their Data Docs in the object store configured now
        quality = html.quality_result(queries.quality(con, snap))
    except ConfigError as exc:  # a wrong MUSIM_OBJECT_STORE: this section says so, the others still answer
        quality = html.notice("error", f"Data-quality results cannot be shown: {html.esc(exc)}", "quality-error")
    return {"artists": artists, "tracks": tracks,
            "models": html.leaderboard_result(queries.leaderboard(con, snap, limit=html.LEADERBOARD_ROWS)),
            "quality": quality}
