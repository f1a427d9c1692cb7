"""Data quality for musim: Great Expectations suites in code, gates for the DAGs, results in the warehouse.

- :func:`check` runs suites and records one ``quality_result`` row per dataset (never raises for bad data);
- :func:`gate` does the same and raises :class:`~musim.errors.QualityError` when a dataset failed (DAGs);
- :func:`latest_results` reads what was recorded (``musim quality report``);
- the suites live in :mod:`musim.quality.suites`, the mechanism to add one in :mod:`musim.quality.registry`;
- thresholds in :class:`QualityThresholds` (``MUSIM_QUALITY_*`` variables).

``great_expectations`` is imported only while a check runs, or ahead of it by :func:`preload` (its import
takes 2-3 s of CPU, without the modules it loads and musim never uses, :func:`musim.quality.gx.import_gx`: a
command that will check after a long step starts it in the background first, at the lowest CPU priority; see
:mod:`musim.quality.preloading`).
"""

from musim.config import QualityThresholds
from musim.quality.preloading import preload
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
