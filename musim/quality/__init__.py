"""Data quality for musim: Great Expectations suites in code, gates for the DAGs, results in the warehouse.

- :func:`check` runs suites and records one ``quality_result`` row per dataset (never raises for bad data);
- :func:`gate` does the same and raises :class:`~musim.errors.QualityError` when a dataset failed (DAGs);
- :func:`latest_results` reads what was recorded (``musim quality report``);
- the suites live in :mod:`musim.quality.suites`, the mechanism to add one in :mod:`musim.quality.registry`;
- thresholds in :class:`QualityThresholds` (``MUSIM_QUALITY_*`` variables).

``great_expectations`` is imported only while a check runs, or ahead of it by :func:`preload` (its import
takes 10-20 s of CPU: a command that will check after a long step starts it in the background first).
"""

import logging
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
    """Import and warm up Great Expectations in a background thread (:func:`musim.quality.gx.warm_up`: a context,
    a one-row validation, Data Docs), so that a gate after a long step (the similarity build, whose DuckDB work
    releases the GIL) neither waits for the import nor pays GX's first-use costs; a check waits for the thread
    before it uses GX (:func:`wait_for_preload`)."""
    thread = threading.Thread(target=_preload, daemon=True, name="musim-preload-gx")
    with _PRELOADS_LOCK:
        _PRELOADS.append(thread)
    thread.start()
    return thread


def wait_for_preload() -> None:
    """Wait for the :func:`preload` threads started so far (GX contexts are not used from two threads at once)."""
    with _PRELOADS_LOCK:
        threads = list(_PRELOADS)
    for thread in threads:
        thread.join()


def _preload() -> None:
    from musim.quality import gx

    try:
        gx.warm_up()
    except Exception:  # a warm-up only: the check that follows imports and reports for itself
        logging.getLogger(__name__).debug("warming Great Expectations up failed", exc_info=True)


_PRELOADS: list[threading.Thread] = []
_PRELOADS_LOCK = threading.Lock()


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
    "wait_for_preload",
    "latest_results",
    "register",
]
