"""The local store against hostile or unlucky files: links out of the store, crashes mid-write; and reading an
object in chunks (what the web app streams)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from musim.errors import StorageError
from musim.storage import ObjectNotFound, ObjectOutsideStore, TransferOptions, open_store
from musim.storage.base import TMP_PREFIX, ObjectChunks
from musim.storage.local import LocalStore


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_bytes(b"root:x:0:0\n")
    return path


def test_a_link_in_the_store_to_a_file_outside_it_is_refused(tmp_path: Path, secret: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put_bytes("models/m/card.md", b"# card")
    (tmp_path / "store" / "models" / "x.md").symlink_to(secret)
    (tmp_path / "store" / "models" / "up").symlink_to(secret.parent, target_is_directory=True)
    for key in ("models/x.md", "models/up/passwd"):
        for read in (store.get_bytes, store.open, store.stat, store.iter_bytes):
            with pytest.raises(ObjectOutsideStore, match="outside the store") as caught:
                read(key)
            assert isinstance(caught.value, ObjectNotFound) and "root:x" not in str(caught.value)
        assert not store.exists(key)
    assert store.get_bytes("models/m/card.md") == b"# card"
    # nor listed: a listing named the link as an object, which every read then refused
    (tmp_path / "store" / "models" / "loop").symlink_to(tmp_path / "store" / "models" / "loop")
    assert [info.key for info in store.list("models/")] == ["models/m/card.md"]


def test_links_inside_the_store_and_a_linked_store_folder_keep_working(tmp_path: Path) -> None:
    real = tmp_path / "disks" / "big" / "musim-store"
    real.mkdir(parents=True)
    (tmp_path / "via").symlink_to(tmp_path / "disks", target_is_directory=True)  # a linked folder above the store
    (tmp_path / "store").symlink_to(tmp_path / "via" / "big" / "musim-store", target_is_directory=True)
    for root in (tmp_path / "store", tmp_path / "via" / "big" / "musim-store"):
        store = open_store(root.as_uri())
        store.put_bytes(f"a/{root.name}.bin", b"data")
        assert store.get_bytes(f"a/{root.name}.bin") == b"data" and store.exists(f"a/{root.name}.bin")
        assert store.stat(f"a/{root.name}.bin").size == 4
    assert sorted(p.name for p in (real / "a").iterdir()) == ["musim-store.bin", "store.bin"]
    (real / "a" / "alias.bin").symlink_to(real / "a" / "store.bin")  # a link to an object of the same store
    assert LocalStore(tmp_path / "store").get_bytes("a/alias.bin") == b"data"


def test_iter_bytes_reads_the_object_chunk_by_chunk(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    data = os.urandom(10_000)
    store.put_bytes("big.bin", data)
    chunks = store.iter_bytes("big.bin", chunk_size=4096)
    assert isinstance(chunks, ObjectChunks) and chunks.info.size == len(data)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert b"".join(store.iter_bytes("big.bin", chunk_size=4096)) == data
    with pytest.raises(ObjectNotFound):  # a missing key raises when asked, not while the response is sent
        store.iter_bytes("nope.bin")


def test_iter_bytes_stops_at_the_size_it_opened_though_the_file_grew_in_place(tmp_path: Path) -> None:
    """A file appended to in place (``cp`` over it, an editor) while it was served: the chunks ran on past the size
    the response's Content-Length had told, and the server broke the connection (too much data)."""
    store = LocalStore(tmp_path)
    store.put_bytes("docs/page.html", b"0123456789")
    chunks = store.iter_bytes("docs/page.html", chunk_size=4)
    with open(tmp_path / "docs" / "page.html", "ab") as fh:
        fh.write(b"appended")
    assert (chunks.info.size, list(chunks)) == (10, [b"0123", b"4567", b"89"])
    assert b"".join(store.iter_bytes("docs/page.html")) == b"0123456789appended"  # opened anew: all of it


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record ("file"/"folder", path) for every fsync, and every os.replace as ("replace", target)."""
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        calls.append(("folder" if os.path.isdir(path) else "file", path))
        real_fsync(fd)

    def replace(src, dst) -> None:
        calls.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return calls


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names fsynced descriptors through /proc")
def test_with_fsync_the_file_then_its_folder_are_synced_around_the_rename(tmp_path: Path, monkeypatch) -> None:
    """MUSIM_LOCAL_FSYNC=1 fsynced the file but not its folder: after a crash the rename could be lost."""
    store = LocalStore(tmp_path / "store", options=TransferOptions(fsync=True))
    store.put_bytes("first.bin", b"0")
    calls = _record_fsyncs(monkeypatch)
    store.put_bytes("a/b/obj.bin", b"x" * 100)
    root = str((tmp_path / "store").resolve())
    assert [kind for kind, _ in calls] == ["file", "replace", "folder", "folder", "folder"]
    assert calls[0][1].startswith(f"{root}/a/b/{TMP_PREFIX}") and calls[1][1] == f"{root}/a/b/obj.bin"
    assert [p for _, p in calls[2:]] == [f"{root}/a/b", f"{root}/a", root]  # the folders made name their children
    calls.clear()
    store.put_file("a/b/obj.bin", tmp_path / "store" / "first.bin")
    assert calls == [("file", calls[0][1]), ("replace", f"{root}/a/b/obj.bin"), ("folder", f"{root}/a/b")]


def test_a_crash_mid_write_leaves_no_object_and_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    store = LocalStore(tmp_path, options=TransferOptions(fsync=True))
    store.put_bytes("keep.bin", b"old")
    real_write = os.write

    def write(fd: int, data) -> int:  # half the bytes land, then the disk fails
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "write", write)
    for key in ("keep.bin", "new.bin"):
        with pytest.raises(StorageError, match=f"cannot write '{key}'.*Input/output error"):
            store.put_bytes(key, b"n" * 1000)
    monkeypatch.undo()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "Input/output error")))
    with pytest.raises(StorageError, match="Input/output error"):
        store.put_bytes("synced.bin", b"s" * 1000)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.bin"]
    assert store.get_bytes("keep.bin") == b"old"


def test_a_loop_of_links_in_the_store_is_no_object(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for read in (store.get_bytes, store.stat, store.iter_bytes):
        with pytest.raises(StorageError, match="'a'"):
            read("a")
    assert not store.exists("a")


def test_a_key_with_a_part_longer_than_a_file_name_may_be_is_no_object(tmp_path: Path) -> None:
    """A valid key (S3 takes 1024 bytes in any parts) whose part is longer than the file system's 255 bytes: exists()
    raised a bare OSError, and a read, stat or delete a StorageError, which the web app answered 503 (as if the store
    were down) for a URL no object can have."""
    store = LocalStore(tmp_path / "store")
    store.put_bytes("models/card.md", b"# card")
    key = "models/" + "x" * 300
    assert not store.exists(key)
    for read in (store.get_bytes, store.stat, store.iter_bytes, lambda k: store.delete(k, missing_ok=False)):
        with pytest.raises(ObjectNotFound, match="longer than a file name may be"):
            read(key)
    store.delete(key)  # missing_ok: nothing to do
    with pytest.raises(StorageError, match="File name too long"):  # a write says why it cannot be stored
        store.put_bytes(key, b"x")
    assert store.get_bytes("models/card.md") == b"# card"
