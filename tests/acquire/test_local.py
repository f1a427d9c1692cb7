"""The local music folder: tags, folder/file-name fallbacks, whole-track durations and excerpt windows."""

from __future__ import annotations

import logging
from pathlib import Path

import mutagen
import pytest

from musim.acquire import (
    AcquireSettings,
    Preview,
    RejectedPreview,
    get_preview,
    resolve_artist,
)
from musim.acquire.providers import LocalFolderProvider, build_providers
from musim.acquire.providers.local import read_track
from musim.audio.excerpt import excerpt_window
from musim.errors import ConfigError, ParameterError
from tests.fakes.audio import tone_bytes


def write(root: Path, rel: str, seconds: float, tags: dict[str, str] | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tone_bytes(path.suffix[1:], seconds))
    if tags:
        audio = mutagen.File(path, easy=True)
        if audio.tags is None:
            audio.add_tags()
        for key, value in tags.items():
            audio[key] = value
        audio.save()
    return path


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("music")
    write(root, "Radiohead/OK Computer/01 - Airbag.wav", 40)  # no tags: artist folder, numbered file
    write(root, "Radiohead/02 Paranoid Android.flac", 12, {"artist": "Radiohead", "title": "Paranoid Android", "genre": "Alternative"})
    write(root, "halo.mp3", 9, {"artist": "Beyoncé", "title": "Halo", "genre": "Pop"})  # tags only
    write(root, "Muse - Uprising.ogg", 8)  # in the root, no tags: "Artist - Title"
    write(root, "Downloads/track.m4a", 7, {"artist": "Björk", "title": "Jóga", "genre": "Electronic"})
    write(root, "Muse/Tiny.wav", 2)
    (root / "Nobody.mp3").write_bytes(tone_bytes("mp3", 6))  # no tags, no folder, no " - ": skipped
    (root / "Broken - Junk.mp3").write_bytes(b"not audio at all" * 100)
    (root / "notes.txt").write_text("not music")
    return root


@pytest.fixture
def local(music):
    return LocalFolderProvider(AcquireSettings(local_dir=music))


def test_reads_tags_and_falls_back_to_folder_and_file_names(local, music):
    found = {t.relpath: (t.artist, t.title, t.genre, t.format) for t in local.tracks}
    assert found == {
        "Radiohead/OK Computer/01 - Airbag.wav": ("Radiohead", "Airbag", None, "wav"),
        "Radiohead/02 Paranoid Android.flac": ("Radiohead", "Paranoid Android", "Alternative", "flac"),
        "halo.mp3": ("Beyoncé", "Halo", "Pop", "mp3"),
        "Muse - Uprising.ogg": ("Muse", "Uprising", None, "ogg"),
        "Downloads/track.m4a": ("Björk", "Jóga", "Electronic", "m4a"),
        "Muse/Tiny.wav": ("Muse", "Tiny", None, "wav"),
        "Broken - Junk.mp3": ("Broken", "Junk", None, "mp3"),  # not audio: offered, then rejected with the reason
    }
    assert read_track(music / "notes.txt", music) is None  # not audio at all
    nobody = read_track(music / "Nobody.mp3", music)  # audio that names no artist: passed over, with what to do
    assert nobody.relpath == "Nobody.mp3" and nobody.reason.startswith("no artist:") and "tag it" in nobody.reason
    assert sorted(local.skipped) == ["Nobody.mp3", "notes.txt"]
    assert local.passed_over == [nobody]


def test_match_top_tracks_and_excerpt_window(local):
    match = local.match_artist("radiohead")
    assert match.method == "exact" and match.candidate.popularity == 2
    tracks = local.top_tracks(match, limit=5)
    by_title = {t.title: t for t in tracks}
    airbag = by_title["Airbag"]
    assert airbag.duration_s == pytest.approx(40, abs=0.01) and airbag.excerpt == (5.0, 30.0)
    assert by_title["Paranoid Android"].excerpt == (0.0, 12.0)  # shorter than the window: all of it
    assert airbag.local_path and airbag.has_audio and airbag.preview_url is None
    assert local.match_artist("Bjork").candidate.name == "Björk"
    assert local.match_artist("Radiohed").method == "fuzzy"
    assert local.match_artist("Metallica") is None


def test_excerpt_window_is_configurable(music):
    provider = LocalFolderProvider(AcquireSettings(local_dir=music, excerpt_s=10, excerpt_anchor="start"))
    (airbag,) = [t for t in provider.top_tracks(provider.match_artist("Radiohead"), 5) if t.title == "Airbag"]
    assert airbag.excerpt == (0.0, 10.0)
    assert excerpt_window(40, length_s=10, anchor="end") == (30.0, 10.0)
    assert excerpt_window(40, length_s=10, anchor=0.25) == (7.5, 10.0)
    assert excerpt_window(200) == (85.0, 30.0)
    with pytest.raises(ParameterError):
        excerpt_window(40, anchor="late")
    with pytest.raises(ParameterError):
        excerpt_window(0)


def test_whole_local_tracks_are_checked_without_a_maximum(local):
    tracks = local.top_tracks(local.match_artist("Radiohead"), limit=5)
    previews = [get_preview(local, t) for t in tracks]
    assert all(isinstance(p, Preview) for p in previews)
    assert max(p.duration_s for p in previews) == pytest.approx(40, abs=0.1)
    (tiny,) = [t for t in local.top_tracks(local.match_artist("Muse"), limit=5) if t.title == "Tiny"]
    rejected = get_preview(local, tiny)
    assert isinstance(rejected, RejectedPreview) and "too_short" in rejected.reason


def test_local_comes_first_when_configured(music, caplog):
    caplog.set_level(logging.INFO)
    env = {"MUSIM_LOCAL_MUSIC_DIR": str(music), "MUSIM_ACQUIRE_PROVIDERS": "local,spotify"}
    providers = build_providers(env=env)
    assert [p.name for p in providers] == ["local"]
    result = resolve_artist(providers, "Beyonce")
    assert result.provider == "local" and result.tracks[0].title == "Halo"
    assert build_providers(env={"MUSIM_ACQUIRE_PROVIDERS": "local"}) == []
    assert "local provider skipped: MUSIM_LOCAL_MUSIC_DIR is not set" in caplog.text


def test_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nope does not exist \(acquire --path or MUSIM_LOCAL_MUSIC_DIR\)"):
        LocalFolderProvider(AcquireSettings(local_dir=tmp_path / "nope"))
    (tmp_path / "song.mp3").write_bytes(b"x")  # a file given where the folder goes: it exists, but is no folder
    with pytest.raises(ConfigError, match=r"song.mp3 is a file, not a folder .*give the folder that holds the music"):
        LocalFolderProvider(AcquireSettings(local_dir=tmp_path / "song.mp3"))


@pytest.mark.server
def test_bad_local_files_are_recorded_with_a_reason_never_as_previews(snapshot, tmp_path):
    """#15 item 6: a zero-byte file, a non-audio file and a cut ogg each end as a rejected preview with the
    library's reason; the good file is the artist's only track."""
    from musim import warehouse
    from musim.acquire.pipeline import acquire
    from tests.library.conftest import write_audio

    root = tmp_path / "music"
    write_audio(root / "Muse" / "good.ogg", "ogg", seconds=12)
    (root / "Muse" / "zero.mp3").write_bytes(b"")
    (root / "Muse" / "notes.mp3").write_text("not music at all\n" * 50)
    whole = write_audio(root / "whole.ogg", "ogg", seconds=20).read_bytes()
    (root / "Muse" / "cut.ogg").write_bytes(whole[: len(whole) // 2])
    acquire(10, providers=["local"], local_dir=root, acquire_settings=AcquireSettings(local_dir=root))
    with warehouse.writer() as con:
        previews = con.execute("""SELECT provider_track_id, status, split_part(last_error, ':', 1) FROM preview
                                  ORDER BY provider_track_id""").fetchall()
        tracks = con.execute("SELECT provider_track_id FROM track").fetchall()
    assert previews == [("Muse/cut.ogg", "rejected", "truncated"), ("Muse/good.ogg", "downloaded", None),
                        ("Muse/notes.mp3", "rejected", "not_audio"), ("Muse/zero.mp3", "rejected", "empty")]
    assert tracks == [("Muse/good.ogg",)]


@pytest.mark.timeout(60)
def test_pipes_broken_links_and_names_that_are_not_utf8_are_skipped_and_the_folder_scanned_once(tmp_path, caplog):
    """A named pipe used to hang the scan (the tag reader waited for a writer), a Latin-1 name gave an artist
    name DuckDB cannot store, and each fetch thread scanned the folder again."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    write(tmp_path, "Muse/Uprising.wav", 8)
    write(tmp_path, "Muse/other.wav", 8).rename(os.fsdecode(bytes(tmp_path / "Muse") + b"/caf\xe9.wav"))
    os.mkfifo(tmp_path / "Muse" / "pipe.wav")
    os.symlink(tmp_path / "nowhere.mp3", tmp_path / "Muse" / "dangling.mp3")
    provider = LocalFolderProvider(AcquireSettings(local_dir=tmp_path))
    with caplog.at_level(logging.INFO, logger="musim.acquire.providers.local"), ThreadPoolExecutor(4) as pool:
        scans = list(pool.map(lambda _: provider.tracks, range(4)))
    assert [[t.relpath for t in tracks] for tracks in scans] == [["Muse/Uprising.wav"]] * 4
    assert sorted(provider.skipped) == ["Muse/caf\\xe9.wav", "Muse/dangling.mp3", "Muse/pipe.wav"]
    over = {f.relpath: f.reason for f in provider.passed_over}  # each with its reason, for the run's summary
    assert sorted(over) == sorted(provider.skipped) and all(r.startswith("unreadable: ") for r in over.values())
    assert "name not UTF-8" in over["Muse/caf\\xe9.wav"]
    assert sum("tracks in" in r.message for r in caplog.records) == 1
    reasons = "\n".join(r.getMessage() for r in caplog.records)
    assert "name not UTF-8" in reasons and "a named pipe" in reasons and "a broken link" in reasons


@pytest.mark.server
def test_files_acquired_from_a_folder_are_not_stored_again_by_library_add(snapshot, tmp_path):
    """Adding the folder the local provider had read stored each of its tracks a second time (the library knew
    only its own tracks), so identical audio reached features, training and evaluation twice."""
    from musim import warehouse
    from musim.acquire.pipeline import acquire
    from musim.library import add
    from tests.library.conftest import write_audio

    root = tmp_path / "music"
    write_audio(root / "Muse" / "one.ogg", "ogg", seconds=12, freq=300)
    write_audio(root / "Muse" / "two.ogg", "ogg", seconds=12, freq=500)
    acquire(10, providers=["local"], local_dir=root, acquire_settings=AcquireSettings(local_dir=root))
    write_audio(root / "Muse" / "new.ogg", "ogg", seconds=12, freq=700)
    summary = add([root])
    skipped = {s["path"].rsplit("/", 1)[1]: s["reason"] for s in summary.skipped}
    assert (summary.stored, skipped) == (1, {"one.ogg": "duplicate_content", "two.ogg": "duplicate_content"})
    assert "same content as track " in summary.details[str(root / "Muse" / "one.ogg")]
    assert "acquired from local" in summary.details[str(root / "Muse" / "one.ogg")]
    with warehouse.writer() as con:
        assert con.execute("SELECT count(*) FROM track").fetchone()[0] == 3


@pytest.mark.server
def test_whole_number_floats_are_counts_as_in_every_dag_and_other_values_are_refused(snapshot, tmp_path):
    """JSON Schema takes 2.0 as an integer, so the audio_acquire DAG's params passed `{"per_artist": 2.0}`, then
    its plan task failed with "per_artist must be a positive integer, got 2.0"."""
    from musim.acquire.pipeline import acquire, catalogue
    from tests.library.conftest import write_audio

    root = tmp_path / "music"
    for i in range(3):
        write_audio(root / "Muse" / f"{i}.ogg", "ogg", seconds=12, freq=300 + 100 * i)
    result = acquire(10.0, per_artist=2.0, batch_size=25.0, max_attempts=3.0, providers=["local"], local_dir=root,
                     acquire_settings=AcquireSettings(local_dir=root))
    assert result.downloaded == 2
    for bad, message in ((0, "greater than or equal to 1"), (2.5, "fractional part"), (True, "not true or false")):
        with pytest.raises(ParameterError, match=rf"^acquire parameter top_n: .*{message}"):
            catalogue(bad)
