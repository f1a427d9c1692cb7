"""The local store against hostile or unlucky files: links out of the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from musim.storage import ObjectNotFound, ObjectOutsideStore, open_store
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
        for read in (store.get_bytes, store.open, store.stat):
            with pytest.raises(ObjectOutsideStore, match="outside the store") as caught:
                read(key)
            assert isinstance(caught.value, ObjectNotFound) and "root:x" not in str(caught.value)
        assert not store.exists(key)
    assert store.get_bytes("models/m/card.md") == b"# card"


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
