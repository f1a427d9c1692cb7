"""The library's landing folder, scanned by the ``library_scan`` DAG: drop music there and it is added.

``MUSIM_LIBRARY_LANDING`` (default ``$MUSIM_HOME/landing/library``, beside the Last.FM landing folder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from musim.config import Settings, get_settings


def landing_folder(settings: Settings | None = None) -> Path:
    """The folder ``library_scan`` scans (created if missing)."""
    folder = (settings or get_settings()).library.landing
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def scan_landing(folder: str | os.PathLike | None = None, *, retry: bool = False,
                 settings: Settings | None = None) -> dict[str, Any]:
    """:func:`musim.library.add` over the landing folder; the run's JSON summary plus ``folder``."""
    from musim.library.add_files import add

    path = Path(folder) if folder else landing_folder(settings)
    return add([path], retry=retry, settings=settings).to_json() | {"folder": str(path)}
