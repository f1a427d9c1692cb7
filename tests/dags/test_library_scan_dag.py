"""The library_scan DAG through Airflow (`airflow dags test`): landing folder -> library -> previews asset."""

from __future__ import annotations

import pytest

from musim import demo, warehouse
from musim.library.landing import landing_folder
from tests.library.conftest import write_audio, write_tags

pytestmark = pytest.mark.slow


def test_library_scan_adds_the_landing_folder_once(airflow, musim_home):
    env, log = airflow
    folder = landing_folder()
    assert folder == musim_home / "landing" / "library"
    song = write_audio(folder / "Composer" / "a.ogg", "ogg", seconds=8)
    write_tags(song, "ogg", title="Theme")
    write_audio(folder / "Composer" / "b.flac", "flac", seconds=8, freq=500)
    (folder / "Composer" / "empty.mp3").write_bytes(b"")

    demo.run_dag("library_scan", env, log)
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM track WHERE provider = 'library'").fetchone()[0] == 2
        assert con.execute("SELECT reason FROM library_skip").fetchall() == [("empty",)]
        assert con.execute("SELECT count(DISTINCT run_id) FROM quality_result WHERE dataset = 'previews'").fetchone()[0] == 1  # the gate ran
    text = log.read_text(errors="replace")
    assert "has_new" in text

    demo.run_dag("library_scan", env, log)  # nothing new: stops at has_new, no second gate
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM track").fetchone()[0] == 2
        assert con.execute("SELECT count(DISTINCT run_id) FROM quality_result WHERE dataset = 'previews'").fetchone()[0] == 1
