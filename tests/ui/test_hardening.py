"""The web app against hostile input: links out of the object store, large objects, framing, ambiguous queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from musim.storage import open_store
from musim.ui.app import STATIC, create_app
from tests.ui.conftest import use


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def full(full_home, monkeypatch):
    return use(full_home, monkeypatch)


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch) -> Path:
    """A local object store (``MUSIM_OBJECT_STORE``) with one model card in it."""
    root = tmp_path / "store"
    monkeypatch.setenv("MUSIM_OBJECT_STORE", root.as_uri())
    open_store(root.as_uri()).put_bytes("models/m/v1/card.md", b"# Model card: v1\n")
    return root


def test_objects_refuses_a_link_in_the_store_to_a_file_outside_it(store_dir: Path, tmp_path: Path, client) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (store_dir / "models" / "m" / "v1" / "leak.txt").symlink_to(secret)
    (store_dir / "models" / "up").symlink_to(tmp_path, target_is_directory=True)
    for url in ("/objects/models/m/v1/leak.txt", "/objects/models/up/passwd"):
        r = client.get(url)
        assert r.status_code == 404 and "root:x" not in r.text, url
    assert client.get("/objects/models/m/v1/card.md").status_code == 200


def test_objects_are_served_from_a_store_folder_reached_through_links(tmp_path: Path, monkeypatch, client) -> None:
    real = tmp_path / "disk" / "musim-store"
    open_store(real.as_uri()).put_bytes("quality/docs/r1/index.html", b"<h1>Data Docs r1</h1>")
    (tmp_path / "mnt").symlink_to(tmp_path / "disk", target_is_directory=True)
    monkeypatch.setenv("MUSIM_OBJECT_STORE", (tmp_path / "mnt" / "musim-store").as_uri())
    r = client.get("/objects/quality/docs/r1/")
    assert r.status_code == 200 and "Data Docs r1" in r.text


def test_objects_are_streamed_in_chunks_not_read_whole(store_dir: Path, monkeypatch, client) -> None:
    """/objects read the whole object into memory (get_bytes) before sending a byte of it."""
    from musim.storage.base import ObjectChunks, ObjectStore
    from musim.storage.local import LocalStore

    data = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB and a bit: four chunks of at most 1 MiB
    open_store(store_dir.as_uri()).put_bytes("quality/docs/big/data.bin", data)

    def whole(self, key):
        raise AssertionError(f"{key} was read whole")

    sent: list[int] = []
    real_next = ObjectChunks.__next__

    def next_chunk(self):
        chunk = real_next(self)
        sent.append(len(chunk))
        return chunk

    monkeypatch.setattr(LocalStore, "get_bytes", whole)
    monkeypatch.setattr(ObjectStore, "get_bytes", whole)
    monkeypatch.setattr(ObjectChunks, "__next__", next_chunk)
    r = client.get("/objects/quality/docs/big/data.bin")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-length"] == str(len(data)) and r.headers["x-content-type-options"] == "nosniff"
    assert len(sent) == 4 and max(sent) <= 1024 * 1024
    head = client.head("/objects/quality/docs/big/data.bin")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(data))
    card = client.get("/objects/models/m/v1/card.md")  # a model card is still rendered as a page
    assert card.status_code == 200 and "<h1>Model card: v1</h1>" in card.text


def test_similar_tracks_given_both_track_id_and_q_is_a_422_not_a_guess(client) -> None:
    """`/api/tracks/similar?track_id=A&q=B` answered for track_id and ignored q; the CLI refuses both."""
    r = client.get("/api/tracks/similar", params={"track_id": "0101000000000000", "q": "another song"})
    assert r.status_code == 422
    assert r.json() == {"detail": "give the track's title or artist words, q=WORDS, or track_id=TRACK_ID "
                                  "(one of them, not both)"}
    neither = client.get("/api/tracks/similar")
    assert neither.status_code == 422 and "\n" not in neither.json()["detail"]
    assert neither.json()["detail"].endswith("(one of them)")


def _policy(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def test_every_response_forbids_framing_by_other_sites_and_sniffing(full, store_dir, client) -> None:
    """The page and the API had no X-Frame-Options, Content-Security-Policy or X-Content-Type-Options."""
    for url in ("/", "/?artist=nobody-at-all", "/api/status", "/api/similar?artist=nobody-at-all", "/api/similar",
                "/static/musim.js", "/static/musim.css", "/no/such/route", "/objects/models/m/v1/card.md"):
        for r in (client.get(url), client.head(url)):
            assert r.headers["x-frame-options"] == "SAMEORIGIN", url  # Airflow's UI frames it from its own origin
            assert r.headers["x-content-type-options"] == "nosniff", url
            assert _policy(r.headers["content-security-policy"])["frame-ancestors"] == ["'self'"], url
    page = _policy(client.get("/").headers["content-security-policy"])
    assert page["default-src"] == page["script-src"] == page["style-src"] == page["connect-src"] == ["'self'"]
    assert page["object-src"] == page["base-uri"] == ["'none'"]
    card = client.get("/objects/models/m/v1/card.md").headers["content-security-policy"]
    assert card.startswith("sandbox allow-scripts")  # a stored object keeps its own, stricter policy


def test_the_page_needs_nothing_its_policy_forbids(full, client) -> None:
    """The page renders and loads only same-origin files: no inline script, style or event handler, and no other
    origin (what `script-src 'self'; style-src 'self'` would block)."""
    r = client.get("/", params={"artist": "a"})
    assert r.status_code == 200 and 'id="artist-form"' in r.text and 'id="models-table"' in r.text
    text = r.text
    assert re.findall(r"<script\b([^>]*)>(.*?)</script>", text, re.S) == [(' src="static/musim.js" defer', "")]
    assert "<style" not in text and not re.search(r"\sstyle=", text) and not re.search(r"\son[a-z]+=", text)
    assert not re.search(r"""(?:src|href|action)=["'](?:https?:)?//""", text)
    assert not re.search(r"javascript:", text, re.I)
    static = {p.name for p in STATIC.iterdir()}
    for ref in re.findall(r"""(?:src|href)="static/([^"]+)\"""", text):
        assert ref in static and client.get(f"/static/{ref}").status_code == 200
    assert not re.search(r"url\(|@import", (STATIC / "musim.css").read_text())
    js = (STATIC / "musim.js").read_text()
    assert "eval(" not in js and "innerHTML" not in js and re.findall(r'fetch\("([^"]+)"', js) == ["api/suggest?limit=10&q="]


def test_static_files_are_checked_before_reuse(client) -> None:
    """static/ had validators but no Cache-Control: a browser reused its copy unchecked for a tenth of its age, the old
    script with a new page after an upgrade."""
    r = client.get("/static/musim.js")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    again = client.get("/static/musim.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_405_allows_head_where_get_is_allowed(client) -> None:
    """A 405 said ``Allow: GET`` of routes that answer HEAD too."""
    for method, url in (("OPTIONS", "/api/status"), ("POST", "/"), ("PUT", "/objects/models/m/v1/card.md")):
        refused = client.request(method, url)
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD", (method, url)
        assert client.head(url).status_code != 405, url
    assert client.request("DELETE", "/static/musim.js").headers["allow"] == "GET, HEAD"  # said so already
