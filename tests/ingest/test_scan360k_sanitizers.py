"""The C scanner built a second time with AddressSanitizer and UndefinedBehaviorSanitizer, and run over the
quirk file and a fuzz corpus (tests/ingest/sanitized_scan.py): any sanitizer report fails the test."""

from __future__ import annotations

import pytest

from tests.ingest.test_fuzz import EXAMPLES
from tests.sanitizers import ROOT, build_sanitized, compiler, run_sanitized

SOURCES = [ROOT / "musim" / "ingest" / "_scan360k.c", ROOT / "musim" / "ingest" / "_prescan_rules.h",
           ROOT / "musim" / "_buffer.h"]


@pytest.mark.slow
def test_the_c_scanner_under_asan_and_ubsan_reports_nothing():
    cc = compiler()
    extension = build_sanitized(cc, "_scan360k", SOURCES)
    run = run_sanitized(cc, "tests.ingest.sanitized_scan", str(extension), str(EXAMPLES * 5))
    assert "under the sanitizers" in run.stdout
