"""Data quality for musim: Great Expectations suites in code, gates for the DAGs, results in the warehouse.

- :func:`check` runs suites and records one ``quality_result`` row per dataset (never raises for bad data);
- :func:`gate` does the same and raises :class:`~musim.errors.QualityError` when a dataset failed (DAGs);
- :func:`latest_results` reads what was recorded (``musim quality report``);
- the suites live in :mod:`musim.quality.suites`, the mechanism to add one in :mod:`musim.quality.registry`;
- thresholds in :class:`QualityThresholds` (``MUSIM_QUALITY_*`` variables).

``great_expectations`` is imported only while a check runs, or ahead of it by :func:`preload` (its import
takes 10-20 s of CPU: a command that will check after a long step starts it in the background first).
"""

import contextlib
import importlib
import os
import threading

from musim.config import QualityThresholds
from musim.quality.registry import (
    CheckContext,
    Coverage,
    DatasetSuite,
    Part,
    all_suites,
    get_suite,
    register,
)
from musim.quality.report import latest_results
from musim.quality.runner import DatasetResult, Failure, QualityRun, check, check_on, gate


def preload() -> threading.Thread:
    """Import Great Expectations in a background thread, so that a gate after a long step (the similarity
    build, whose DuckDB work releases the GIL) does not wait for all of it; joining is optional (a later import
    of the same module waits for this one). The thread runs at the lowest CPU priority where the OS allows it
    (Linux: per thread): the import takes 3-4 s of CPU, and at normal priority it took a core from the build's
    threads (full scale: build 5.3 -> 7.7 s); at the lowest it uses the cores the build leaves idle and the
    gate waits for the rest (build 6.5 s, build and gate together 1-2 s sooner)."""
    thread = threading.Thread(target=_import_gx, daemon=True, name="musim-preload-gx")
    thread.start()
    return thread


def _import_gx() -> None:
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priorities here: import as it is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    importlib.import_module("great_expectations")


#: XCom key under which DAG tasks push the Data Docs URL; plugins/musim_links.py reads it.
DOCS_LINK_XCOM_KEY = "musim_quality_docs"

__all__ = [
    "DOCS_LINK_XCOM_KEY",
    "CheckContext",
    "Coverage",
    "DatasetResult",
    "DatasetSuite",
    "Failure",
    "Part",
    "QualityRun",
    "QualityThresholds",
    "all_suites",
    "check",
    "check_on",
    "gate",
    "get_suite",
    "preload",
    "latest_results",
    "register",
]
