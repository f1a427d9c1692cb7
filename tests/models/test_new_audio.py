"""Which files a folder of new audio gives (``musim embed`` / ``similar-audio``)."""

from __future__ import annotations

import os

import pytest

from musim.errors import NotFoundError
from musim.models.audio_files import find_audio_files

# -- zipped albums: read as `library add` reads them (musim.library.zips), never left out silently ---------------

def _clip(path, seed: int):
    from musim.synth.files import write_clip
    from musim.synth.sound import synthesize_clip

    return write_clip(path, synthesize_clip(community=seed % 2, artist_seed=seed, track_no=0, sr=22050, duration=6.0),
                      sr=22050)


def _music_with_zips(tmp_path):
    """A folder: a loose clip, an album zipped in a folder of its name (with its cover), a damaged zip and a zip
    of no audio."""
    import zipfile

    music, loose = tmp_path / "music", tmp_path / "loose"
    music.mkdir()
    loose.mkdir()
    a, b = _clip(loose / "01 - A.wav", 1), _clip(loose / "02 - B.flac", 2)
    with zipfile.ZipFile(music / "Live at the Hall.zip", "w") as z:
        z.write(a, "Live at the Hall/01 - A.wav")
        z.write(b, "Live at the Hall/02 - B.flac")
        z.writestr("Live at the Hall/cover.jpg", b"\xff\xd8\xff not audio")
    (music / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with zipfile.ZipFile(music / "docs.zip", "w") as z:
        z.writestr("readme.txt", "no music here")
    _clip(music / "x.wav", 3)
    return music, a, b


def test_a_zipped_album_in_a_folder_gives_its_audio_members(tmp_path):
    """`musim embed FOLDER` left zipped albums out silently (only audio suffixes were listed) while `library add`
    stores their members; `embed X.zip` said not_audio."""
    from musim.models.audio_files import find_audio

    music, _, _ = _music_with_zips(tmp_path)
    found = find_audio([music])
    assert [f.path.relative_to(music).as_posix() for f in found] == [
        "Live at the Hall.zip/Live at the Hall/01 - A.wav", "Live at the Hall.zip/Live at the Hall/02 - B.flac",
        "broken.zip", "docs.zip", "x.wav"]
    assert [f.member for f in found[:2]] == [0, 1] and found[0].archive == music / "Live at the Hall.zip"
    assert found[2].skip.reason == "unreadable" and "damaged zip archive" in found[2].skip.detail
    assert found[3].skip.reason == "not_audio" and "no audio file (1 other file(s))" in found[3].skip.detail
    given = find_audio_files([music / "Live at the Hall.zip"])  # the archive given: its members
    assert [p.name for p in given] == ["01 - A.wav", "02 - B.flac"]


def test_embed_reads_zip_members_and_names_the_archives_it_cannot(tmp_path, monkeypatch, musim_home):
    from types import SimpleNamespace

    import numpy as np

    from musim.audio import MelParams
    from musim.models import audio_files, new_audio

    music, a, b = _music_with_zips(tmp_path)
    champ = new_audio.Champion(SimpleNamespace(version="contrastive-1", family="contrastive"), None, "log_mel",
                               MelParams(), None)
    monkeypatch.setattr(new_audio, "encode_featurised", lambda c, feats: np.stack([f.astype(np.float32).ravel() for f in feats]))
    files, vectors, failed, _ = new_audio.embed_files([music], champion=champ, workers=1)
    album = music / "Live at the Hall.zip" / "Live at the Hall"
    assert files == [str(album / "01 - A.wav"), str(album / "02 - B.flac"), str(music / "x.wav")]
    assert [f for f, _ in failed] == [str(music / "broken.zip"), str(music / "docs.zip")]
    assert failed[0][1].startswith("unreadable (a damaged zip archive") and failed[1][1].startswith("not_audio (")
    for row, original in ((0, a), (1, b)):  # a member's features are its file's, read from the archive
        np.testing.assert_array_equal(vectors[row], audio_files.featurise_file(original, MelParams()).astype(
            np.float32).ravel())
    assert not list(musim_home.glob("**/embed-member-*"))  # scratch copies removed


# -- which version serves without a champion (`similar-audio`, `embed`): the one `similar --audio` serves --------

def _publish_neighbours(con, version: str, at) -> None:
    con.execute("INSERT INTO artist_neighbors_audio (family, model_version, artist_id, rank, neighbor_id, score, "
                "cold_start, created_at) VALUES ('siamese', ?, 1, 1, 2, 0.5, true, ?)", [version, at])


def test_without_a_champion_the_version_published_last_serves_as_similar_audio_does(con, tmp_path):
    """After `models publish contrastive-1` (no champion) `similar --audio` and `similar-tracks` answered from it,
    but `similar-audio FILE` failed `no family has a champion...` and `--family contrastive` `family 'contrastive'
    has no champion yet`."""
    import datetime as dt

    from musim import queries
    from musim.models import promotion
    from musim.models.new_audio import serving_choice
    from musim.storage import open_store
    from tests.models.conftest import _register, _report, _truth

    one = _register(con, open_store(), tmp_path, _report(_truth(), 0.3), run_id="r1")
    two = _register(con, open_store(), tmp_path, _report(_truth(), 0.3, seed=2), run_id="r2")
    with pytest.raises(NotFoundError, match=rf"^no model is served: .*`--model VERSION`; registered: {two.version}, "
                                            rf"{one.version}$"):
        serving_choice(con)
    now = dt.datetime.now(dt.UTC)
    _publish_neighbours(con, two.version, now - dt.timedelta(hours=1))
    _publish_neighbours(con, one.version, now)  # published last

    def audio_default() -> str:
        return queries.models_of(con, queries.inspect(con), "artist_neighbors_audio")[0]

    version, note = serving_choice(con)
    assert version == one.version == audio_default()
    assert note == (f"no champion is published: {one.version}, the version published last, answers (as `musim "
                    "similar --audio` and `similar-tracks` do)")
    assert serving_choice(con, "siamese") == (one.version, f"siamese has no champion: {one.version}, its version "
                                              "published last, answers (`musim models promote VERSION` makes a "
                                              "champion)")
    with pytest.raises(NotFoundError, match=r"^family 'autoencoder' has no champion yet$"):
        serving_choice(con, "autoencoder")
    promotion.promote(con, two.version, force=True)  # a champion, published: it serves
    assert serving_choice(con) == (two.version, None) == (audio_default(), None)
    assert serving_choice(con, "siamese") == (two.version, None)


def test_nothing_served_fails_before_tensorflow_is_imported(tmp_path, musim_home):
    """`similar-audio FILE` and `embed` loaded TensorFlow (about 15 s) before saying no model was served."""
    import subprocess
    import sys

    from musim import serving, warehouse
    from musim.storage import open_store
    from tests.models.conftest import _register, _report, _truth

    song = _clip(tmp_path / "song.wav", 4)
    script = ("import sys; from musim.cli import main; rc = main(sys.argv[1:]); "
              "print('tensorflow' in sys.modules, 'keras' in sys.modules, rc)")
    env = {**os.environ, "MUSIM_HOME": str(musim_home)}

    def run(*argv: str) -> tuple[str, str]:
        done = subprocess.run([sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        return done.stdout.strip().splitlines()[-1], done.stderr

    out, err = run("embed", str(song), "--out", str(tmp_path / "e.npz"))  # nothing published at all
    assert out == "False False 2" and "no model has been published" in err
    with warehouse.writer() as con:
        version = _register(con, open_store(), tmp_path, _report(_truth(), 0.3)).version  # registered, not served
        serving.publish(con)
    for argv in (("similar-audio", str(song)), ("embed", str(song), "--out", str(tmp_path / "e.npz")),
                 ("similar-audio", str(song), "--family", "siamese")):
        out, err = run(*argv)
        assert out == "False False 2", (argv, err)
        assert "no model is served" in err or "family 'siamese' has no champion yet" in err, err
        assert version in err


def test_embed_with_a_version_registered_nowhere_names_it_and_models_list(tmp_path, musim_home, capsys):
    """`embed --model V` reads the warehouse's registry when the published snapshot does not know V (registered,
    not published): with nothing published and V registered nowhere, one line names V and `musim models list`
    (not "no model has been published", which says to publish a version that does not exist)."""
    from musim.cli import main

    song = _clip(tmp_path / "song.wav", 4)
    assert main(["embed", str(song), "--model", "siamese-7", "--out", str(tmp_path / "e.npz")]) == 2
    out, err = capsys.readouterr()
    assert not out and err == ("musim: error: no model version 'siamese-7' is registered: `musim models list` shows "
                               "the registered versions\n")
    assert not (tmp_path / "e.npz").exists()


def test_similar_audio_with_a_version_registered_since_the_snapshot_says_to_publish_it(tmp_path, musim_home):
    """`similar-audio FILE --model descriptors-3` said `no model version 'descriptors-3'; recent: descriptors-1,
    siamese-1` while `musim models list` showed descriptors-3: registered after the published snapshot, it is not
    published, and the line now says so and how to publish it (or embed with it as it is)."""
    from musim import serving, warehouse
    from musim.models.new_audio import similar_audio
    from musim.storage import open_store
    from tests.models.conftest import _register, _report, _truth

    song = _clip(tmp_path / "song.wav", 4)
    with warehouse.writer() as con:
        _register(con, open_store(), tmp_path, _report(_truth(), 0.3), run_id="r1")
        serving.publish(con)
        since = _register(con, open_store(), tmp_path, _report(_truth(), 0.3, seed=2), run_id="r2").version
    with pytest.raises(NotFoundError, match=rf"^{since} is registered but not published \(the published snapshot does "
                                            rf"not serve it\): .*`musim models publish {since}`"):
        similar_audio([song], version=since)
    with pytest.raises(NotFoundError, match=r"^no model version 'siamese-9'; recent: siamese-1$"):
        similar_audio([song], version="siamese-9")
