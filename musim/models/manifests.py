"""Serving manifests: what each publication of a model version serves (the input features, the views, the ANN
index), written by :func:`musim.models.serve.publish_neighbors` and read by the serving side.

What :mod:`musim.models.new_audio` (``similar-audio``, ``embed``) reads for a version is the manifest the served
snapshot records (:func:`read_manifest` with ``snapshot``), like the online vectors
(:func:`musim.models.serve.align_online_pointers`): after a rollback, under its pin, or when a later publish of the
version stopped before its snapshot, the answers come from the publication served, never from a newer one's index. A
snapshot published before snapshots recorded their manifests reads ``embedding.json``, as it always did.

A publish of a version prunes, after its commit, the version's manifests that no kept snapshot records, then its ANN
indexes that no remaining manifest (``embedding.json`` included) names (:func:`_prune_manifests`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb

from musim import sql, warehouse
from musim.errors import NotFoundError
from musim.storage import DamagedObject, ObjectStore

__all__ = ["EMBEDDING_FILE", "MANIFESTS", "read_kept_snapshots", "read_manifest", "served_manifest_key"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The serving manifest of a version's newest publication, next to its model: ``models/<family>/<version>/embedding.json``
#: (what snapshots published before they recorded their manifests read; :func:`read_manifest`).
EMBEDDING_FILE = "embedding.json"
#: Each publication's own serving manifest: ``models/<family>/<version>/manifests/<created_at, UTC>.json``.
MANIFESTS = "manifests/"
_MANIFEST_NAME = re.compile(r"^\d{8}T\d{12}Z\.json$")


def read_manifest(store: ObjectStore, family: str, version: str, *,
                  snapshot: duckdb.DuckDBPyConnection | None = None) -> dict[str, Any]:
    """The serving manifest of a published version (NotFoundError if it was never published).

    With ``snapshot`` (a connection to a serving snapshot: what ``similar-audio`` and ``embed`` read), the manifest of
    the publication whose neighbours that snapshot serves (:func:`served_manifest_key`), so that the ANN index and the
    views read follow the snapshot served, as the online vectors do. Otherwise, and where the snapshot does not serve
    the version or was published before snapshots recorded their manifests, the version's ``embedding.json``: the
    manifest of its newest publication (as every reader read before)."""
    from musim.models.registry import object_prefix

    served = served_manifest_key(snapshot, version) if snapshot is not None else None
    if served is not None:
        if store.exists(served):
            return _get_manifest(store, served, version)
        log.warning("the serving manifest %s of the %s publication that the served snapshot serves is missing "
                    "(published without an object store, or removed): reading %s, the newest publication's, "
                    "instead; `musim models publish %s` writes it again", served, version, EMBEDDING_FILE, version)
    key = object_prefix(family, version) + EMBEDDING_FILE
    if not store.exists(key):
        raise NotFoundError(f"{version} has no published embeddings ({key}): publish them with `musim models "
                            f"publish {version}` (the training DAGs and `musim models train` publish champions only)")
    return _get_manifest(store, key, version)


def _get_manifest(store: ObjectStore, key: str, version: str) -> dict[str, Any]:
    try:
        doc = store.get_json(key)
        problem = manifest_problem(doc)
        if problem:  # a manifest edited by hand: one line naming it, never a KeyError or a model fed wrong shapes
            raise DamagedObject(f"object {key} in {store.root_url} is damaged: {problem}")
        return doc
    except DamagedObject as exc:
        raise DamagedObject(f"{exc}: publish {version} again (`musim models publish {version}`)") from None


#: The view fields of a serving manifest: ``<feature view>:<version>``.
_VIEW_REF = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:[0-9]+$")


def manifest_problem(doc: Any) -> str | None:
    """What is wrong with a serving manifest's fields that the serving side reads (``similar-audio``, ``embed``,
    ``evaluate``), in words, or None: a JSON object whose ``track_view`` and ``artist_view`` are view references
    (``name:version``), ``scoring`` cosine or pair_mean, ``ann`` null or an object, ``min_duration_s`` null or seconds
    >= 0 (the shortest audio the version's features were built from), ``excerpt_s`` and ``excerpt_anchor`` both null or
    seconds > 0 and a fraction in [0, 1] (the analysis window of whole tracks), ``input`` a feature kind and
    ``input_params``/``mel_params`` that kind's parameters (as :func:`musim.features.params.params_from_dict` reads
    them)."""
    from musim.errors import ParameterError
    from musim.features.params import params_from_dict

    if not isinstance(doc, dict):
        return f"a serving manifest is a JSON object, this one is a JSON {type(doc).__name__}"
    for field in ("track_view", "artist_view"):
        if not isinstance(doc.get(field), str) or not _VIEW_REF.fullmatch(doc[field]):
            return f"{field} is {json_text(doc.get(field))}, not a view reference (name:version)"
    if doc.get("scoring") not in ("cosine", "pair_mean"):
        return f"scoring is {json_text(doc.get('scoring'))}, not \"cosine\" or \"pair_mean\""
    if doc.get("ann") is not None and not isinstance(doc["ann"], dict):
        return f"ann is {json_text(doc['ann'])}, not null or an object"
    shortest = doc.get("min_duration_s")
    if shortest is not None and (isinstance(shortest, bool) or not isinstance(shortest, int | float)
                                 or not 0 <= shortest < float("inf")):
        return f"min_duration_s is {json_text(shortest)}, not null or a number of seconds >= 0"
    window, anchor = doc.get("excerpt_s"), doc.get("excerpt_anchor")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int | float)
                               or not 0 < window < float("inf")):
        return f"excerpt_s is {json_text(window)}, not null or a number of seconds > 0"
    if (anchor is None) != (window is None) or anchor is not None and (
            isinstance(anchor, bool) or not isinstance(anchor, int | float) or not 0 <= anchor <= 1):
        return f"excerpt_anchor is {json_text(anchor)}, not a fraction in [0, 1] beside excerpt_s (or both null)"
    kind = doc.get("input")
    if kind is not None and kind not in ("log_mel", "slices", "descriptors"):
        return f"input is {json_text(kind)}, not log_mel, slices or descriptors"
    for field, of in (("input_params", kind), ("mel_params", "log_mel")):
        value = doc.get(field)
        if value is None or of is None:
            continue
        if not isinstance(value, dict):
            return f"{field} is {json_text(value)}, not an object of {of} parameters"
        try:
            params_from_dict(of, dict(value))
        except (ParameterError, TypeError, ValueError) as exc:
            return f"{field}: {exc}"
    return None


def json_text(value: Any, limit: int = 60) -> str:
    """``value`` as JSON, cut to ``limit`` characters: how a manifest's field is named in a message."""
    import json

    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def served_manifest_key(snapshot: duckdb.DuckDBPyConnection, version: str) -> str | None:
    """The object key of the serving manifest that the serving snapshot ``snapshot`` records for ``version`` (its
    ``served_manifest`` table: the manifest of the publication whose neighbours it serves), or None where it records
    none: it does not serve the version, or it was published before snapshots recorded their manifests (then the
    version's ``embedding.json`` is read, as before), or ``snapshot`` is no serving snapshot."""
    try:
        snapshot.complete()  # a caller's half-read result
        present = {r[0] for r in sql.query(snapshot, "models/present_tables.sql").fetchall()}
        if "served_manifest" not in present:
            log.debug("the serving snapshot records no serving manifests (published before they were recorded): "
                      "%s reads %s", version, EMBEDDING_FILE)
            return None
        row = sql.query(snapshot, "serving/served_manifest.sql", model_version=version).fetchone()
    except duckdb.Error as exc:
        log.debug("the serving manifest of %s could not be read from the snapshot (%s): reading %s", version, exc,
                  EMBEDDING_FILE)
        return None
    return None if row is None else str(row[0])


def _manifest_key(con: duckdb.DuckDBPyConnection, family: str, version: str, at: dt.datetime) -> str:
    """``models/<family>/<version>/manifests/<at, UTC to the microsecond>.json``: the manifest of the publication made
    at ``at`` (its rows' created_at; the snapshot names it from them: sql/serving/publish_extras.sql)."""
    from musim.models.registry import object_prefix

    key = str(sql.query(con, "models/manifest_key.sql", family=family, model_version=version,
                        created_at=at).fetchone()[0])
    if not key.startswith(object_prefix(family, version) + MANIFESTS):
        raise RuntimeError(f"the manifest key {key} is not under {object_prefix(family, version)}{MANIFESTS}")
    return key


def read_kept_snapshots(read: Callable[[duckdb.DuckDBPyConnection], T], settings: Any = None) -> list[T] | None:
    """What ``read`` returns for each kept serving snapshot (the current and the pinned one among them), opened read-only
    in turn; None while a snapshot another process holds open cannot be read (what it records is unknown: a pruner then
    removes nothing). A snapshot that cannot be read at all is never served, so it is passed over. What the version's
    publish reads to prune its manifests (:func:`_prune_manifests`) and its online vectors
    (:func:`musim.models.serve.commit_staged`)."""
    from musim import snapshots

    found: list[T] = []
    for snap in snapshots.list_snapshots(settings):
        if snap.held:
            return None
        if snap.problem:
            continue
        con = warehouse.connect(snap.path, read_only=True, settings=settings)
        try:
            found.append(read(con))
        finally:
            con.close()
    return found


def _prune_manifests(store: ObjectStore, family: str, version: str, written: str, settings: Any = None) -> list[str]:
    """Remove the version's publication manifests that no kept snapshot records and that are not ``written`` (the one
    this publication wrote: the snapshot that will serve it may come later), as publishing a version prunes its online
    vectors, then the ANN indexes (``ann/…voy`` and their ``….ids.json``) that no remaining manifest nor
    ``embedding.json`` names (:func:`_prune_indexes`); return the keys removed, the manifests first. Called after the
    publication's commit. Nothing is removed while a snapshot another process holds open cannot be read (what it
    records is unknown); a snapshot that cannot be read at all is never served, so it keeps nothing. A failure only
    warns: the publication is committed."""
    from musim.models.registry import object_prefix

    prefix = object_prefix(family, version) + MANIFESTS
    try:
        found = [o.key for o in store.list(prefix) if _MANIFEST_NAME.fullmatch(o.key[len(prefix):])]
        stale = [key for key in found if key != written]
        recorded = read_kept_snapshots(lambda con: served_manifest_key(con, version), settings) if stale else []
        if recorded is None:
            return []
        kept = {key for key in recorded if key is not None}
        removed = [key for key in stale if key not in kept]
        for key in removed:
            store.delete(key)
    except Exception as exc:  # noqa: BLE001 - published: a pruning failure only warns
        log.warning("%s: pruning its old serving manifests under %s failed: %s: %s (they stay; the next publish of "
                    "the version tries again)", version, prefix, type(exc).__name__, exc)
        return []
    remaining = [key for key in found if key not in removed]
    indexes = _prune_indexes(store, family, version, [*remaining, object_prefix(family, version) + EMBEDDING_FILE])
    if removed or indexes:
        log.info("%s: pruned %d serving manifests and %d ANN indexes that no kept snapshot serves", version,
                 len(removed), sum(key.endswith(_INDEX_SUFFIX) for key in indexes))
    return removed + indexes


#: What :func:`musim.models.ann.save_index` writes under ``models/<family>/<version>/ann/``: the index and its row →
#: track id mapping.
_INDEX_SUFFIX, _IDS_SUFFIX = ".voy", ".ids.json"


def _prune_indexes(store: ObjectStore, family: str, version: str, manifests: list[str]) -> list[str]:
    """Remove the version's ANN index objects (each ``.voy`` with its ``.ids.json``; also a mapping whose index a
    killed publish never wrote) that none of ``manifests`` (the keys of the manifests that stay, ``embedding.json``
    among them) names; return the keys removed. Every manifest that stays must be read: while one cannot be (damaged,
    unreachable), nothing is removed, with a warning (what it names is unknown). A manifest key not in the store
    (``embedding.json`` of a version published without one) names nothing."""
    from musim.models.registry import object_prefix

    prefix = object_prefix(family, version) + "ann/"
    try:
        named: set[str] = set()
        for key in manifests:
            if not store.exists(key):
                continue
            ann = store.get_json(key).get("ann") or {}
            named.update(str(ann[k]) for k in ("key", "ids_key") if ann.get(k))
        found = [o.key for o in store.list(prefix) if "/" not in o.key[len(prefix):]
                 and o.key.endswith((_INDEX_SUFFIX, _IDS_SUFFIX))]
        stale = [key for key in found if key not in named]
        # the index before its mapping: an index is never readable without its mapping (as save_index writes them)
        stale.sort(key=lambda key: not key.endswith(_INDEX_SUFFIX))
        for key in stale:
            store.delete(key)
    except Exception as exc:  # noqa: BLE001 - published: a pruning failure only warns
        log.warning("%s: pruning its ANN indexes under %s that no serving manifest names failed: %s: %s (they stay; "
                    "the next publish of the version tries again)", version, prefix, type(exc).__name__, exc)
        return []
    return stale
