"""``open_prefix``: the store under a landing URL, its root kept a root."""

from __future__ import annotations

import pytest

from musim.errors import ConfigError, NotFoundError
from musim.storage import is_object_url, open_prefix


def test_trailing_slashes_go_but_a_root_stays_a_root(tmp_path):
    """``file:///`` became ``file:``, which was read as a relative folder named ``file:``."""
    (tmp_path / "in").mkdir()
    root, store = open_prefix(f"{(tmp_path / 'in').as_uri()}///", what="the landing")
    assert root == (tmp_path / "in").as_uri() and store.root == tmp_path / "in"
    root, store = open_prefix("file:///", what="the landing")
    assert root == "file:///" and str(store.root) == "/"
    root, _ = open_prefix("s3://bucket/music/", what="the landing")
    assert root == "s3://bucket/music"
    with pytest.raises(ConfigError):
        open_prefix("s3://", what="the landing")


def test_a_local_folder_that_is_not_there_is_named(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    for missing in (tmp_path / "nope", tmp_path / "file.txt"):
        with pytest.raises(NotFoundError, match=rf"^the landing {missing.as_uri()} is no folder"):
            open_prefix(missing.as_uri(), what="the landing")


def test_an_object_url_is_told_from_a_path():
    assert is_object_url("s3://b/p") and is_object_url("file:///x") and not is_object_url("/srv/landing")


def test_a_bad_store_url_names_the_setting_or_place_it_came_from(monkeypatch):
    """`MUSIM_OBJECT_STORE=s3://Bad_Bucket` and a landing URL with a bad bucket both said only "object store URL ...":
    a landing setting's mistake read as the object store's."""
    from musim.storage import open_store

    monkeypatch.setenv("MUSIM_OBJECT_STORE", "s3://Bad_Bucket/p")
    with pytest.raises(ConfigError, match=r"^object store URL 's3://Bad_Bucket/p' \(MUSIM_OBJECT_STORE\): 'Bad_Bucket' "
                                          "is not a valid bucket name"):
        open_store()
    with pytest.raises(ConfigError, match=r"^object store URL 'gs://b/landing' \(the landing folder\): unsupported"):
        open_prefix("gs://b/landing", what="the landing folder")
    with pytest.raises(ConfigError, match=r"^object store URL 's3://AK:\*\*\*@bucket/p': the part before '@'"):
        open_store("s3://AK:PLANTED-4821@bucket/p")  # given directly: no source to name
