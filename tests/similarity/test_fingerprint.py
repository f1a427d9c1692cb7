"""The fingerprint of the similarity build's code (musim.similarity.fingerprint), on a copy of the sources."""

from __future__ import annotations

import shutil

import pytest

from musim import sql, warehouse
from musim.ingest.lastfm import ingest_lastfm
from musim.similarity import fingerprint
from musim.similarity.build import SimilarityParams, build_similarity
from tests.lastfm_files import tiny_dump


@pytest.fixture
def sources(tmp_path):
    """A copy of the repository's musim/ and sql/ (what the fingerprint reads), to change freely."""
    root = tmp_path / "repo"
    skip = shutil.ignore_patterns("__pycache__", "*.so")
    for folder in ("musim", "sql"):
        shutil.copytree(fingerprint.REPO / folder, root / folder, ignore=skip)
    return root


def _changed(root, rel):
    path = root / rel
    before = fingerprint.code_fingerprint.__wrapped__(root)
    path.write_bytes(path.read_bytes() + b"\n")  # one byte more: a comment line, say
    return before != fingerprint.code_fingerprint.__wrapped__(root)


def test_the_copy_has_the_fingerprint_of_the_repository(sources):
    assert fingerprint.code_fingerprint(sources) == fingerprint.code_fingerprint()
    assert len(fingerprint.code_fingerprint()) == 64


@pytest.mark.parametrize("rel", ["sql/similarity/views.sql", "sql/similarity/pairs.sql", "sql/similarity/edges.sql",
                                 "sql/similarity/catalogue_pairs.sql", "musim/_cooccurrence.c", "musim/_buffer.h",
                                 "musim/similarity/build.py", "musim/similarity/colisten.py",
                                 "musim/similarity/metrics.py", "musim/cooccurrence.py"])
def test_a_change_to_the_build_code_changes_the_fingerprint(sources, rel):
    assert _changed(sources, rel)


@pytest.mark.parametrize("rel", ["sql/quality/similarity_invariants.sql", "sql/similarity/built_at.sql",
                                 "sql/serving/publish.sql", "musim/serving.py", "musim/ingest/lastfm.py"])
def test_a_change_elsewhere_leaves_the_fingerprint(sources, rel):
    assert not _changed(sources, rel)


def test_a_new_sql_file_the_build_runs_is_covered_without_a_list(sources):
    """A module that starts to run another file of sql/similarity/ puts it under the fingerprint by naming it."""
    (sources / "sql/similarity/new_step.sql").write_text("SELECT 1;\n")
    assert "sql/similarity/new_step.sql" not in fingerprint.fingerprinted(sources)
    colisten = sources / "musim/similarity/colisten.py"
    colisten.write_text(colisten.read_text() + '\nSTEP = "similarity/new_step.sql"\n')
    assert "sql/similarity/new_step.sql" in fingerprint.fingerprinted(sources)
    assert _changed(sources, "sql/similarity/new_step.sql")


def test_every_sql_file_a_build_runs_is_fingerprinted(tmp_path, monkeypatch):
    """The files a real build loads (both engines), not a list kept by hand, are what the fingerprint must cover."""
    dump_id = ingest_lastfm(tiny_dump(tmp_path / "d.tsv")).dump_id
    loaded = []
    load = sql.load.__wrapped__

    def recording(name):
        loaded.append(name)
        return load(name)

    monkeypatch.setattr(sql, "load", recording)
    with warehouse.writer() as con:
        for engine in ("duckdb", "c"):
            build_similarity(con, dump_id, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5), engine,
                             force=True)
    ran = {f"sql/{n}" for n in loaded if n.startswith("similarity/")}
    assert {"sql/similarity/views.sql", "sql/similarity/record_build.sql", "sql/similarity/pairs.sql"} <= ran
    assert ran <= set(fingerprint.fingerprinted())
