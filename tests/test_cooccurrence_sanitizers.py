"""The C co-occurrence kernels built a second time with AddressSanitizer and UndefinedBehaviorSanitizer, and
run over random edge sets, edge cases and bad input (tests/sanitized_cooccurrence.py): any report fails."""

from __future__ import annotations

import pytest

from tests.sanitizers import ROOT, build_sanitized, compiler, run_sanitized


@pytest.mark.slow
def test_the_cooccurrence_kernels_under_asan_and_ubsan_report_nothing():
    cc = compiler()
    extension = build_sanitized(cc, "_cooccurrence", [ROOT / "musim" / "_cooccurrence.c", ROOT / "musim" / "_buffer.h"])
    run = run_sanitized(cc, "tests.sanitized_cooccurrence", str(extension))
    assert "checks of the co-occurrence kernels under the sanitizers" in run.stdout
