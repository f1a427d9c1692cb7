"""What lets an interrupted ``musim library add`` resume: a note of each file examined, not yet recorded.

An add records its tracks (and its skips) in the warehouse once, at the end (:mod:`musim.library.add_files`). As each
file is examined a small JSON object notes what examining it found (``library/examined/<source sha256>.json``): for a
file stored, the path it was found at, its probe, tags, artist, title, window and the object stored, written after the
excerpt is whole in the store; for a file skipped, the skip's reason and detail; for a stored file whose stale excerpt
was read again, the window read and the object stored (or why it could not be read). The next add of that file, after
a run killed before it recorded (Ctrl-C, a crash, a reboot), takes the file's examination from its note instead of
decoding it again, when the note is for the same content at the same path, of the same size and modification time,
with the same options, by the same code (:func:`code_version`: the note's layout, the reader's version and the source
of what examines a file, so a musim changed in between decodes again), every field is of its type, and its object is
in the store at its size: any other note (an older version's, damaged, foreign, a file changed since) is ignored and
the file decoded again. A skip's note is not used by ``--retry`` (which examines the files skipped again). The add
that accounts for a file (recorded, already stored or skipped) deletes its note. Since the note holds exactly what
examining the file gave, the resumed add records, and reports, what an add not interrupted would have.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import importlib.metadata
import json
import logging
import math
import re
from pathlib import Path
from typing import Any

from musim.audio.window import READ_WINDOW_VERSION
from musim.errors import StorageError
from musim.filenames import path_text
from musim.library.artists import Resolved
from musim.library.formats import SKIP_REASONS, AudioProbe, FileSkipped
from musim.library.scan import Examined
from musim.library.tags import Tags
from musim.storage import ObjectInfo, ObjectStore

log = logging.getLogger(__name__)

PREFIX = "library/examined/"
#: The layout of a note: a note of another (an older version's) is ignored. 2: notes of skips and of excerpts read
#: again, the size and modification time of the file. 3: a note of an excerpt read again holds its window, and the
#: file's length where the window was chosen again (a chained file).
FORMAT = 3

#: The modules whose code examining a file runs (what it finds, read back from a note, is theirs), and the libraries.
_EXAMINING = ("musim.library.scan", "musim.library.artists", "musim.library.tags", "musim.library.formats",
              "musim.library.zips", "musim.library.resume", "musim.audio.excerpt", "musim.audio.formats",
              "musim.audio.io", "musim.audio.window", "musim.names")
_LIBRARIES = ("av", "mutagen", "soundfile")

_Str, _OptStr, _Float, _OptFloat, _Int, _OptInt, _Bool, _Strs = "str", "str?", "float", "float?", "int", "int?", "bool", "strs"
_INFO = {"format": _Str, "duration_s": _Float, "declared_s": _OptFloat, "sample_rate": _Int, "channels": _Int,
         "first_part_only": _OptStr}  # a note without it (an older run's) is examined again
_TAGS = {"artist": _OptStr, "albumartist": _OptStr, "mbid": _OptStr, "mbids": _Strs, "artists": _Strs,
         "albumartist_mbid": _OptStr, "title": _OptStr, "album": _OptStr, "genre": _OptStr, "tracknumber": _OptInt,
         "compilation": _Bool}
_ARTIST = {"name": _Str, "rule": _Str, "mbid": _OptStr}
_OBJECT = {"key": _Str, "sha256": _Str, "size": _Int}
_SKIP = {"reason": _Str, "detail": _Str}
#: What each kind of note holds besides the options and where the file is (:func:`_where`).
_OUTCOMES = {"stored": {"info", "tags", "artist", "title", "window", "stored_format", "object"},
             "skipped": {"skip"}, "reread": {"stored_format", "object", "window", "recut"}, "reread_skipped": {"skip"}}


class _Foreign(ValueError):
    """A note that is not one this version wrote for this file."""


def note_key(sha256: str) -> str:
    """Where the note of a file of content ``sha256`` is."""
    return f"{PREFIX}{sha256}.json"


@functools.cache
def code_version() -> str:
    """A digest of the code that examines a file: the source of :data:`_EXAMINING` and the versions of the audio and
    tag libraries."""
    digest = hashlib.sha256()
    for name in _EXAMINING:
        digest.update(Path(importlib.import_module(name).__file__ or "").read_bytes())
    for dist in _LIBRARIES:
        try:
            digest.update(f"{dist}={importlib.metadata.version(dist)};".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{dist};".encode())
    return digest.hexdigest()[:16]


def options_of(**options: Any) -> dict[str, Any]:
    """What examining a file depends on besides the file: the add's options, the note's layout, the reader's version
    and the code's."""
    return {"format": FORMAT, "reader": READ_WINDOW_VERSION, "code": code_version(), **options}


def _where(item: Examined) -> dict[str, Any]:
    """Which file a note is of: its path, content, size and modification time (ns; ``None`` for a zip's member, whose
    content is its hash), and the window of its stored excerpt it read again (``None``: examined as a new file)."""
    return {"path": path_text(item.path), "root": path_text(item.root),
            "rule_path": None if item.rule_path is None else path_text(item.rule_path), "bytes": item.bytes,
            "sha256": item.sha256, "stamp": None if item.stamp is None else list(item.stamp[:2]),
            "reread": None if item.reread is None else list(item.reread)}


def _object(obj: ObjectInfo) -> dict[str, Any]:
    return {"key": obj.key, "sha256": obj.sha256, "size": obj.size}


def note(store: ObjectStore, item: Examined, obj: ObjectInfo | None, options: dict[str, Any]) -> None:
    """Note the examination of ``item``: stored whole as ``obj``, or skipped (``item.skip``, ``obj`` ``None``); with
    ``item.reread``, its stale excerpt read again and stored as ``obj``, or not read (``item.skip``). A note that
    cannot be written is logged and left out (the file is decoded again if the add is interrupted)."""
    assert item.sha256 is not None
    doc: dict[str, Any] = {"options": options, **_where(item)}
    if item.skip is not None:
        doc |= {"outcome": "reread_skipped" if item.reread else "skipped",
                "skip": {"reason": item.skip.reason, "detail": item.skip.detail}}
    elif item.reread is not None:
        assert obj is not None
        doc |= {"outcome": "reread", "stored_format": item.stored_format, "object": _object(obj),
                "window": list(item.window), "recut": item.recut}
    else:
        assert item.info is not None and item.artist is not None and obj is not None
        doc |= {"outcome": "stored", "info": {name: getattr(item.info, name) for name in _INFO},
                "tags": dataclasses.asdict(item.tags), "artist": dataclasses.asdict(item.artist), "title": item.title,
                "window": list(item.window), "stored_format": item.stored_format, "object": _object(obj)}
    try:
        store.put_bytes(note_key(item.sha256), json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                        content_type="application/json")
    except (StorageError, OSError) as exc:
        log.warning("library add: %s: its note could not be written (%s); an interrupted add decodes it again",
                    path_text(item.path), exc)


def _typed(value: Any, kind: str) -> Any:
    if kind.endswith("?") and value is None:
        return None
    kind = kind.rstrip("?")
    if kind == "strs" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if (kind == "float" and isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value)):
        return float(value)
    raise _Foreign(f"{value!r} is no {kind}")


def _fields(doc: Any, schema: dict[str, str]) -> dict[str, Any]:
    if not isinstance(doc, dict) or set(doc) != set(schema):
        raise _Foreign(f"fields {sorted(doc) if isinstance(doc, dict) else type(doc).__name__}")
    return {name: _typed(doc[name], kind) for name, kind in schema.items()}


def resume(store: ObjectStore, notes: set[str], item: Examined, options: dict[str, Any], prefix: str, *,
           skips: bool = True) -> ObjectInfo | FileSkipped | None:
    """What examining ``item`` (hashed, not examined; with ``item.reread``, the window of its stale excerpt to read
    again) found, from its note, when ``notes`` (the keys under :data:`PREFIX`) holds a note that is sound for it (see
    the module doc): the object stored (``item`` filled in as examining it would have), or the :class:`FileSkipped`
    it was skipped with (the excerpt not read again); else ``None``, ``item`` untouched. ``prefix``: where the excerpts
    are stored. ``skips=False`` (``--retry``): a skip's note is not used."""
    assert item.sha256 is not None
    key = note_key(item.sha256)
    if key not in notes:
        return None
    try:
        doc = store.get_json(key)
        if not isinstance(doc, dict) or doc.get("options") != options:
            raise _Foreign("written by another version, or with other options")
        where = _where(item)
        if {k: doc.get(k) for k in where} != where:
            raise _Foreign("of this content at another path, of another size or time, or examined otherwise")
        outcome = doc.get("outcome")
        if outcome not in _OUTCOMES or set(doc) != {"options", "outcome", *where, *_OUTCOMES[outcome]}:
            raise _Foreign(f"a note of {outcome!r} with fields {sorted(doc)}")
        if outcome.endswith("skipped"):
            skip = _fields(doc["skip"], _SKIP)
            if skip["reason"] not in SKIP_REASONS:
                raise _Foreign(f"skip reason {skip['reason']!r}")
            if not skips:
                raise _Foreign("a skip, and --retry examines skipped files again")
            return FileSkipped(skip["reason"], skip["detail"])
        stored_format = _typed(doc["stored_format"], _Str)
        obj = _fields(doc["object"], _OBJECT)
        if not re.fullmatch(r"[0-9a-f]{64}", obj["sha256"]) or obj["key"] != f"{prefix}/{obj['sha256']}.{stored_format}":
            raise _Foreign(f"object {obj['key']!r}")
        if outcome == "stored":
            info = AudioProbe(**_fields(doc["info"], _INFO))
            tags = Tags(**_fields(doc["tags"], _TAGS))
            artist = Resolved(**_fields(doc["artist"], _ARTIST))
            title = _typed(doc["title"], _Str)
        window = doc["window"]
        if not isinstance(window, list) or len(window) != 2:
            raise _Foreign(f"window {window!r}")
        offset, length = (_typed(v, _Float) for v in window)
        recut = _typed(doc["recut"], _OptFloat) if outcome == "reread" else None
        stored = store.stat(obj["key"])
        if stored.size != obj["size"] or stored.sha256 not in (None, obj["sha256"]):  # sha256: where the store keeps it
            raise _Foreign(f"its object {obj['key']} is not the one stored ({stored.size} bytes, not {obj['size']})")
    except (StorageError, OSError, KeyError, ValueError) as exc:  # _Foreign, DamagedObject, ObjectNotFound
        log.info("library add: %s: its note is not used (%s): examined again", path_text(item.path), exc)
        return None
    if outcome == "stored":
        item.info, item.tags, item.artist, item.title = info, tags, artist, title
    item.window, item.recut = (offset, length), recut
    item.stored_format = stored_format
    return ObjectInfo(key=obj["key"], size=obj["size"], sha256=obj["sha256"])


def list_notes(store: ObjectStore) -> set[str]:
    """The keys of the notes in the store (one listing)."""
    return {o.key for o in store.list(PREFIX) if o.key.endswith(".json")}


def drop_notes(store: ObjectStore, keys: set[str]) -> None:
    """Delete the notes ``keys`` (files an add accounted for); one that cannot be is left (never used again once its
    file is recorded)."""
    for key in sorted(keys):
        try:
            store.delete(key)
        except (StorageError, OSError) as exc:
            log.warning("library add: its note %s could not be deleted (%s)", key, exc)
