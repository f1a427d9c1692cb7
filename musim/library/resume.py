"""What lets an interrupted ``musim library add`` resume: a note of each file examined and stored, not yet recorded.

An add records its tracks in the warehouse once, at the end (:mod:`musim.library.add_files`). As each new file's
excerpt is stored, a small JSON object notes what examining it found (``library/examined/<source sha256>.json``:
the path it was found at, its probe, tags, artist, title, window and the object stored), written after the excerpt is
whole in the store. The next add of that file, after a run killed before it recorded (Ctrl-C, a crash, a reboot),
takes the file's examination from its note instead of decoding it again, when the note is for the same content at
the same path, with the same options, by the same code (:func:`code_version`: the note's layout, the reader's version
and the source of what examines a file, so a musim changed in between decodes again), every field is of its type, and
its object is in the store at its size: any other note (an older version's, damaged, foreign) is ignored and the file
decoded again. The add that accounts for a file (recorded, already stored or skipped)
deletes its note. Since the note holds exactly what examining the file gave, the resumed add records what an add not
interrupted would have.
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
from musim.library.formats import AudioProbe
from musim.library.scan import Examined
from musim.library.tags import Tags
from musim.storage import ObjectInfo, ObjectStore

log = logging.getLogger(__name__)

PREFIX = "library/examined/"
#: The layout of a note: a note of another (an older version's) is ignored.
FORMAT = 1

#: The modules whose code examining a file runs (what it finds, read back from a note, is theirs), and the libraries.
_EXAMINING = ("musim.library.scan", "musim.library.artists", "musim.library.tags", "musim.library.formats",
              "musim.library.zips", "musim.library.resume", "musim.audio.excerpt", "musim.audio.formats",
              "musim.audio.io", "musim.audio.window", "musim.names")
_LIBRARIES = ("av", "mutagen", "soundfile")

_Str, _OptStr, _Float, _OptFloat, _Int, _OptInt, _Bool, _Strs = "str", "str?", "float", "float?", "int", "int?", "bool", "strs"
_INFO = {"format": _Str, "duration_s": _Float, "declared_s": _OptFloat, "sample_rate": _Int, "channels": _Int}
_TAGS = {"artist": _OptStr, "albumartist": _OptStr, "mbid": _OptStr, "mbids": _Strs, "artists": _Strs,
         "albumartist_mbid": _OptStr, "title": _OptStr, "album": _OptStr, "genre": _OptStr, "tracknumber": _OptInt,
         "compilation": _Bool}
_ARTIST = {"name": _Str, "rule": _Str, "mbid": _OptStr}
_OBJECT = {"key": _Str, "sha256": _Str, "size": _Int}


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
    return {"path": path_text(item.path), "root": path_text(item.root),
            "rule_path": None if item.rule_path is None else path_text(item.rule_path), "bytes": item.bytes,
            "sha256": item.sha256}


def note(store: ObjectStore, item: Examined, obj: ObjectInfo, options: dict[str, Any]) -> None:
    """Note the examination of ``item``, whose excerpt is stored whole as ``obj``. A note that cannot be written is
    logged and left out (the file is decoded again if the add is interrupted)."""
    assert item.info is not None and item.artist is not None and item.sha256 is not None
    info = {name: getattr(item.info, name) for name in _INFO}
    doc = {"options": options, **_where(item), "info": info, "tags": dataclasses.asdict(item.tags),
           "artist": dataclasses.asdict(item.artist), "title": item.title, "window": list(item.window),
           "stored_format": item.stored_format, "object": {"key": obj.key, "sha256": obj.sha256, "size": obj.size}}
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


def resume(store: ObjectStore, notes: set[str], item: Examined, options: dict[str, Any],
           prefix: str) -> ObjectInfo | None:
    """Fill ``item`` (hashed, not examined) from its note and return its stored object, when ``notes`` (the keys
    under :data:`PREFIX`) holds a note that is sound for it (see the module doc); else ``None``, ``item`` untouched.
    ``prefix``: where the excerpts are stored."""
    assert item.sha256 is not None
    key = note_key(item.sha256)
    if key not in notes:
        return None
    try:
        doc = store.get_json(key)
        if not isinstance(doc, dict) or doc.get("options") != options:
            raise _Foreign("written by another version, or with other options")
        if {k: doc.get(k) for k in _where(item)} != _where(item):
            raise _Foreign("of this content found at another path")
        info = AudioProbe(**_fields(doc["info"], _INFO))
        tags = Tags(**_fields(doc["tags"], _TAGS))
        artist = Resolved(**_fields(doc["artist"], _ARTIST))
        title, stored_format = _typed(doc["title"], _Str), _typed(doc["stored_format"], _Str)
        window = doc["window"]
        if not isinstance(window, list) or len(window) != 2:
            raise _Foreign(f"window {window!r}")
        offset, length = (_typed(v, _Float) for v in window)
        obj = _fields(doc["object"], _OBJECT)
        if not re.fullmatch(r"[0-9a-f]{64}", obj["sha256"]) or obj["key"] != f"{prefix}/{obj['sha256']}.{stored_format}":
            raise _Foreign(f"object {obj['key']!r}")
        stored = store.stat(obj["key"])
        if stored.size != obj["size"] or stored.sha256 not in (None, obj["sha256"]):  # sha256: where the store keeps it
            raise _Foreign(f"its object {obj['key']} is not the one stored ({stored.size} bytes, not {obj['size']})")
    except (StorageError, OSError, KeyError, ValueError) as exc:  # _Foreign, DamagedObject, ObjectNotFound
        log.info("library add: %s: its note is not used (%s): examined again", path_text(item.path), exc)
        return None
    item.info, item.tags, item.artist, item.title = info, tags, artist, title
    item.window, item.stored_format = (offset, length), stored_format
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
