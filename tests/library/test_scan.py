"""Walking the paths given (:func:`musim.library.scan.find_files`): links to folders are followed once, never in a
loop, and what cannot be walked is a skipped file, never silently lost."""

from __future__ import annotations

import os

from musim.library import add
from musim.library.scan import find_files
from musim.synth.files import tag_file, write_clip
from musim.synth.sound import synthesize_clip


def _song(path, n: int, **tags: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_clip(path, synthesize_clip(community=n % 4, artist_seed=11, track_no=n, sr=22050, duration=6), sr=22050)
    if tags:
        tag_file(path, genre="x", **tags)  # type: ignore[arg-type]
    return path


def _found(root) -> dict[str, str | None]:
    return {os.path.relpath(f.path, root): f.skip.reason if f.skip else None for f in find_files([root])}


def test_a_linked_folder_is_followed_once_and_never_in_a_loop(tmp_path):
    """`music/External -> ../external` was silently ignored (os.walk without followlinks)."""
    music, external = tmp_path / "music", tmp_path / "external"
    _song(music / "Own" / "01 - a.flac", 1)
    _song(external / "Linked Band" / "LP" / "01 - L 1.flac", 2, artist="Linked Band", title="L 1")
    os.symlink(external, music / "External")
    os.symlink(external, music / "Z second link")                 # the same folder again: walked once
    os.symlink(music / "Own", music / "Favourites")               # into the folder given: found at its own path
    os.symlink(external, external / "Linked Band" / "itself")     # a loop inside the linked folder
    os.symlink(tmp_path, music / "up")                            # holds the folder given: a loop, reported
    assert _found(music) == {"Own/01 - a.flac": None, "External/Linked Band/LP/01 - L 1.flac": None,
                             "up": "unreadable"}
    summary = add([music])
    assert summary.tracks_by_artist == {"Linked Band": 1, "Own": 1}
    assert summary.skipped == [{"path": str(music / "up"), "reason": "unreadable"}]
    assert "a loop" in summary.details[str(music / "up")]


def test_a_folder_that_cannot_be_listed_is_a_skipped_file(tmp_path, monkeypatch):
    music = tmp_path / "music"
    _song(music / "A" / "01.flac", 1)
    (music / "Locked").mkdir()
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("Locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert _found(music) == {"A/01.flac": None, "Locked": "unreadable"}


def test_a_file_overwritten_between_its_hashing_and_its_reading_is_skipped_not_stored_as_the_old_content(tmp_path):
    """Files are hashed first, read later: a file overwritten in between (a copy of another song, a sync tool) was
    stored as a track of the content it was hashed with (its id, its ``source_sha256``) holding the excerpt of the
    new content: two tracks of one audio, one under a content it never had. It is skipped ``unreadable`` (recorded
    with the hash of what it held, so the next add examines the new content)."""
    import shutil

    from musim.library.scan import CHANGED, examine_found, hashed

    root = tmp_path / "music"
    first, other = _song(root / "A" / "01 - a.flac", 1), _song(root / "A" / "02 - b.flac", 2)
    (found,) = find_files([first])
    item = hashed(found, tmp_path)
    shutil.copyfile(other, first)
    got = examine_found((found, item), tmp_dir=tmp_path, excerpt_s=30.0, anchor="middle")
    assert (got.skip.reason, got.skip.detail, got.payload) == ("unreadable", CHANGED, b"")
    item = hashed(found, tmp_path)  # the same file, not touched since its hashing, is stored
    assert examine_found((found, item), tmp_dir=tmp_path, excerpt_s=30.0, anchor="middle").skip is None
