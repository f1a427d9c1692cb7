"""What `musim quality check` and `quality report` print of what musim did not write (an exception's message, a file
name, a reason): its control characters escaped and its secrets hidden, as every other CLI output."""

from __future__ import annotations

import contextlib
import dataclasses
import re

import musim.quality
from musim.quality.failures import Failure
from musim.quality.runner import DatasetResult, QualityRun
from tests.cli_output import run

HOSTILE = "bad\x1b[2J\u202egnp.x\x1b]0;pwned\x07 file\rOK"
SECRET_URL = "http://minio:pw-quality-77@h:9000/b"
_RAW = re.compile("[\x1b\x07\r\u202e]")


def _failure() -> Failure:
    return Failure(part="sql_invariants", expectation="expect_column_values_to_not_be_null", columns=["x"],
                   description=None, kwargs={}, unexpected_count=0, element_count=0, observed=[], examples=[],
                   exception=f"IOException: cannot read {SECRET_URL}: {HOSTILE}")


def _run() -> QualityRun:
    failed = DatasetResult(run_id="q1", dataset="plays", dump_id=None, version="1", status="failed",
                           expectations=1, failed=1, failures=[_failure()],
                           parts=[{"part": "sql_invariants", "coverage": "all rows"}])
    skipped = DatasetResult(run_id="q1", dataset="previews", dump_id=None, version="1", status="skipped",
                            reason=f"no previews under {HOSTILE}")
    return QualityRun(run_id="q1", results=[failed, skipped], docs_url=None,
                      docs_error=f"EndpointConnectionError: {HOSTILE} at {SECRET_URL}")


def _shown_safe(text: str) -> None:
    assert not _RAW.search(text), text
    assert "pw-quality-77" not in text and "minio:***@h" in text
    assert "\\x1b[2J" in text and "\\u202e" in text


def test_quality_check_escapes_and_redacts_what_it_quotes(capsys, monkeypatch):
    """The report and the `musim: error:` line printed an exception's text, a reason and a file name as they came:
    an ESC sequence cleared the terminal, a bidi override reversed the line, a CR overwrote it, and the password of
    an endpoint URL in the exception was shown."""
    monkeypatch.setattr(musim.quality, "check", lambda *a, **k: _run())
    code, out, err = run(capsys, "quality", "check", "--no-docs")
    assert code == 2
    _shown_safe(out)
    _shown_safe(err)
    assert err.count("\n") == 1 and err.startswith("musim: error: data quality check failed: plays (")


def test_quality_check_s_nothing_checked_line_escapes_the_reason(capsys, monkeypatch):
    skipped = QualityRun(run_id="q1", docs_url=None, results=[DatasetResult(
        run_id="q1", dataset="previews", dump_id=None, version="1", status="skipped",
        reason=f"no previews under {HOSTILE} ({SECRET_URL})")])
    monkeypatch.setattr(musim.quality, "check", lambda *a, **k: skipped)
    code, out, err = run(capsys, "quality", "check", "--dataset", "previews", "--no-docs")
    assert code == 2
    _shown_safe(out)
    _shown_safe(err)
    assert err.count("\n") == 1 and err.startswith("musim: error: nothing was checked: no previews under bad")


def test_quality_report_escapes_and_redacts_a_failure_it_shows(capsys, monkeypatch):
    import musim.cli.quality
    import musim.quality.report

    row = {"run_id": "q1", "dataset": "plays", "dump_id": None, "status": "failed", "expectations": 1, "failed": 1,
           "rows_total": 3, "rows_validated": 3, "sampled": False, "created_at": "2026-01-01",
           "success": False, "docs_url": None, "failures": [dataclasses.asdict(_failure())]}
    monkeypatch.setattr(musim.quality.report, "latest_results", lambda *a, **k: [row])
    monkeypatch.setattr(musim.cli.quality.sandbox, "reader", contextlib.nullcontext)
    code, out, _ = run(capsys, "quality", "report")
    assert code == 0
    _shown_safe(out)


def test_quality_check_s_json_hides_a_secret_an_error_quotes(capsys, monkeypatch):
    """`quality check --json` printed the exception and the Data Docs error as they came, an endpoint URL's password
    included, while the text report hid it."""
    import json

    monkeypatch.setattr(musim.quality, "check", lambda *a, **k: _run())
    code, out, _ = run(capsys, "quality", "check", "--no-docs", "--json")
    doc = json.loads(out)
    assert code == 2 and "pw-quality-77" not in out
    assert doc["docs_error"].endswith("at http://minio:***@h:9000/b") and HOSTILE in doc["docs_error"]
    assert doc["datasets"][0]["failures"][0]["exception"].startswith("IOException: cannot read http://minio:***@h")
