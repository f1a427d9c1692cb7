"""The library's landing area, scanned by the ``library_scan`` DAG: drop music there and it is added.

``MUSIM_LIBRARY_LANDING`` (default ``$MUSIM_HOME/landing/library``, beside the Last.FM landing folder) is a
local folder or, like ``MUSIM_LANDING``, an object-store prefix (``s3://bucket/prefix``,
``s3://conn_id@bucket/prefix``, ``file:///abs/path``, reached through :mod:`musim.storage`). The objects under
a prefix are mirrored into ``$MUSIM_TMP/library-landing/<hash of the URL>/`` keeping their key layout (so the
artist folders still name artists), downloading only objects that are new or changed (size or modification
time) and dropping files whose object is gone; the mirror is then added like a folder. Folder markers (keys
ending in ``/``) are no files; a key that cannot be a file name (``a//b.mp3``, ``../x.mp3``) is left out as
``unreadable``, logged, and the other objects are added. The mirror is a cache:
deleting it costs one download of everything, and nothing is stored twice (the library knows each file's
content).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from musim.config import Settings, get_settings
from musim.errors import ConfigError, NotFoundError, StorageError
from musim.storage import StorageUnavailable, is_object_url

log = logging.getLogger(__name__)
MIRROR_DIR = "library-landing"


class UnreadableLanding(NotFoundError):
    """The landing folder or prefix cannot be read, so nothing was added: no such folder, a URL musim cannot open
    (a scheme other than ``s3://`` or ``file://``, a bad bucket name), or a store that refused to list it (no
    credentials). The message is the cause's, on one line."""


def landing_location(settings: Settings | None = None) -> str:
    """``MUSIM_LIBRARY_LANDING`` as given when it is an object-store URL, else the folder (created if missing)."""
    given = (settings or get_settings()).library.landing
    return given if is_object_url(given) else str(landing_folder(settings))


def landing_folder(settings: Settings | None = None) -> Path:
    """The local folder ``library_scan`` scans (created if missing)."""
    folder = Path((settings or get_settings()).library.landing).expanduser().absolute()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def mirror_prefix(url: str, settings: Settings | None = None) -> dict[str, Any]:
    """Bring the local mirror of the objects under ``url`` up to date; ``{"mirror", "objects", "downloaded",
    "removed", "unusable", "root"}`` (``root``: ``url`` without its trailing slashes)."""
    from musim.storage import InvalidKey, open_prefix, validate_key

    settings = settings or get_settings()
    root, store = open_prefix(url, what="the library landing prefix")
    mirror = settings.tmp_dir / MIRROR_DIR / hashlib.sha256(root.encode()).hexdigest()[:16]
    mirror.mkdir(parents=True, exist_ok=True)
    wanted: set[Path] = set()
    unusable: list[dict[str, str]] = []
    downloaded = 0
    for info in store.list(""):
        if info.key.endswith("/"):  # a folder marker (what S3 consoles make for "create folder"): no file
            continue
        try:
            validate_key(info.key)
        except InvalidKey as exc:  # "a//b.mp3", "../x.mp3": no safe file name in the mirror; the others go on
            log.warning("library landing: %s left out, its key cannot be a file name (%s); rename the object",
                        root, exc)
            unusable.append({"path": f"{root}/{info.key}", "reason": "unreadable"})
            continue
        target = mirror / info.key
        wanted.add(target)
        modified = info.modified.timestamp() if info.modified else None
        if target.is_file():
            st = target.stat()
            if st.st_size == info.size and (modified is None or abs(st.st_mtime - modified) < 1e-3):
                continue
        store.download(info.key, target)  # to a temporary name, then renamed: never half-written
        if modified is not None:
            os.utime(target, (dt.datetime.now().timestamp(), modified))
        downloaded += 1
    removed = 0
    for path in sorted(p for p in mirror.rglob("*") if p.is_file()):
        if path not in wanted:
            path.unlink()
            removed += 1
    return {"mirror": str(mirror), "objects": len(wanted) + len(unusable), "downloaded": downloaded,
            "removed": removed, "unusable": unusable, "root": root}


def has_new_audio(summary: dict[str, Any]) -> bool:
    """Whether a scan (its :func:`scan_landing` summary) stored audio or replaced a stored excerpt by a new reading
    of it (an older reader had cut it): the ``previews`` asset's consumers (the feature build) have work then."""
    return summary["stored"] > 0 or summary.get("reread", 0) > 0


def scan_landing(folder: str | os.PathLike | None = None, *, retry: bool = False,
                 settings: Settings | None = None) -> dict[str, Any]:
    """:func:`musim.library.add` over the landing folder or prefix; the run's JSON summary plus ``folder``
    (and, for a prefix, ``mirror``, ``objects``, ``downloaded``, ``removed``, with skipped paths given as
    object URLs). :class:`UnreadableLanding` when the folder or prefix cannot be read (before anything is added)."""
    from musim.library.add_files import add

    location = str(folder) if folder else landing_location(settings)
    if not is_object_url(location):
        path = Path(location)
        if not path.expanduser().exists():
            raise UnreadableLanding(f"{location}: no such folder")
        return add([path], retry=retry, settings=settings).to_json() | {"folder": str(path)}
    try:
        mirrored = mirror_prefix(location, settings)
    except StorageUnavailable:
        raise  # an outage, not the location's fault: the next scan tries again
    except (ConfigError, NotFoundError, StorageError) as exc:  # the location's fault: nothing was added
        raise UnreadableLanding(" ".join(str(exc).split())) from exc
    summary = add([Path(mirrored["mirror"])], retry=retry, settings=settings).to_json()
    root, mirror = mirrored.pop("root"), mirrored["mirror"]
    summary["skipped"] = [s | {"path": root + s["path"][len(mirror):] if s["path"].startswith(mirror) else s["path"]}
                          for s in summary["skipped"]]
    unusable = mirrored.pop("unusable")
    summary["skipped"] += unusable
    summary["files"] += len(unusable)
    return summary | mirrored | {"folder": location}
