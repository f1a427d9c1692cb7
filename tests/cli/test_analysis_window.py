"""``musim embed`` and ``similar-audio`` cut new audio where the version's library cut its whole tracks
(``MUSIM_EXCERPT_S``, ``MUSIM_EXCERPT_ANCHOR``), as its serving manifest records it; the middle 30 s for a catalogue of
previews."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musim import warehouse
from musim.models.families.embedding import embed_tracks
from musim.models.manifests import read_manifest
from musim.storage import open_store
from tests.cli_output import run
from tests.models.conftest import labelled_clips

pytestmark = pytest.mark.slow


def _library_cut_at(tmp_path, capsys, monkeypatch, window: str, anchor: str):
    """Generated 20-s clips of three artists (a folder each) added to the library with that window, featurised, and
    a descriptors version trained and published: the folder of the files."""
    from musim.audio import batch

    monkeypatch.setattr(batch, "default_workers", lambda: 1)  # featurised in this process
    monkeypatch.setenv("MUSIM_EXCERPT_S", window)
    monkeypatch.setenv("MUSIM_EXCERPT_ANCHOR", anchor)
    (tmp_path / "clips").mkdir()
    rows = labelled_clips(tmp_path / "clips", duration=20.0, artists=3, per_artist=2, group=None, ext="wav")
    for row in rows[1:]:
        name, artist = row.split(",")
        folder = tmp_path / "music" / f"Library {artist}"
        folder.mkdir(parents=True, exist_ok=True)
        (tmp_path / "clips" / name).rename(folder / name)
    for argv in (("library", "add", str(tmp_path / "music"), "--no-progress"),
                 ("features", "build", "--no-progress", "--no-publish", "--workers", "1"),
                 ("models", "train", "--family", "descriptors", "--no-publish"),
                 ("models", "publish", "descriptors-1")):
        code, _, err = run(capsys, *argv)
        assert code == 0, (argv, err)
    return tmp_path / "music"


@pytest.mark.parametrize(("anchor", "fraction"), [("end", 1.0), ("0.25", 0.25)])
def test_a_library_cut_away_from_the_middle_is_queried_where_it_cut(tmp_path, capsys, monkeypatch, anchor, fraction):
    # A library added with MUSIM_EXCERPT_S=8 and MUSIM_EXCERPT_ANCHOR=end analyses each file's last 8 s, but embed and
    # similar-audio cut every file in its middle 30 s: a library file given back as a query was embedded from other
    # audio than its own catalogue vector. The publication now records the library's window (from the tracks' cut of
    # their source files: a library track's preview row holds the window within its stored excerpt, offset 0), and
    # new audio is cut there: the file's embedding is its track's.
    music = _library_cut_at(tmp_path, capsys, monkeypatch, "8", anchor)
    manifest = read_manifest(open_store(), "descriptors", "descriptors-1")
    assert (manifest["excerpt_s"], manifest["excerpt_anchor"]) == (8.0, fraction)
    monkeypatch.setenv("MUSIM_EXCERPT_S", "30")  # the serving side reads the manifest, not its own settings
    monkeypatch.setenv("MUSIM_EXCERPT_ANCHOR", "middle")
    code, out, err = run(capsys, "embed", str(music), "--model", "descriptors-1", "--out", str(tmp_path / "e.npz"),
                         "--json", "--no-progress")
    assert code == 0, err
    with np.load(tmp_path / "e.npz") as z:
        files, vectors = z["files"].tolist(), z["embeddings"]
    with warehouse.writer() as con:
        track_of = dict(con.execute("SELECT source_path, track_id FROM library_track").fetchall())
        ids, catalogue = embed_tracks(con, "descriptors-1")
    row = {t: i for i, t in enumerate(ids)}
    assert len(files) == 6
    for f, v in zip(files, vectors, strict=True):
        np.testing.assert_allclose(v, catalogue[row[track_of[f]]], atol=2e-3, err_msg=f)
    code, out, err = run(capsys, "similar-audio", files[0], "--model", "descriptors-1", "--json", "--no-progress")
    assert code == 0, err
    assert json.loads(out)["tracks"][0]["track_id"] == track_of[files[0]]  # itself, first


def test_a_catalogue_without_cut_tracks_records_no_window(tmp_path, capsys, monkeypatch):
    music = _library_cut_at(tmp_path, capsys, monkeypatch, "30", "middle")  # 20-s files: none is cut
    manifest = read_manifest(open_store(), "descriptors", "descriptors-1")
    assert (manifest["excerpt_s"], manifest["excerpt_anchor"]) == (None, None)
    assert music.is_dir()
