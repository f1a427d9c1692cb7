"""`musim rejects` listed reasons with the same count in the order each engine's rows happened to group in: the
same dump ingested with the C scanner and with DuckDB gave two summaries. Ties are now ordered by file and reason."""

from __future__ import annotations

from musim.cli import main
from tests.ingest.corpus import QUIRK_LINES
from tests.ingest.engine_tables import needs_c_scanner
from tests.lastfm_files import write_lines


@needs_c_scanner
def test_rejects_lists_tied_reasons_in_one_order_whatever_the_engine(tmp_path, monkeypatch, capsys):
    path = write_lines(tmp_path / "quirks.tsv", QUIRK_LINES, newline_at_end=False)
    shown = {}
    for engine in ("c", "duckdb"):
        monkeypatch.setenv("MUSIM_HOME", str(tmp_path / engine))
        monkeypatch.setenv("MUSIM_INGEST_ENGINE", engine)
        assert main(["ingest", "lastfm", str(path)]) == 0
        capsys.readouterr()
        assert main(["rejects", "--limit", "0"]) == 0
        shown[engine] = capsys.readouterr().out
    summary = shown["c"].split("\n\n")[0].splitlines()
    counts = [int(line.split()[-1]) for line in summary if line.split() and line.split()[-1].isdigit()]
    assert len(counts) > len(set(counts))  # ties there are
    assert shown["c"] == shown["duckdb"]
