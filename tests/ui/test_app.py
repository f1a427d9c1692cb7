"""The musim web app (FastAPI TestClient) on snapshots published from a synthetic dump."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from musim import queries, serving
from musim.ui.app import create_app
from tests.ui.conftest import CHALLENGER, CHAMPION, RUN_NEW, use


@pytest.fixture
def minimal(minimal_home, monkeypatch):
    return use(minimal_home, monkeypatch)


@pytest.fixture
def full(full_home, monkeypatch):
    return use(full_home, monkeypatch)


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


def expected_neighbours(artist: str, metric: str, k: int) -> list[tuple[str, float, int]]:
    con = serving.open_snapshot()
    try:
        return con.execute("""SELECT neighbor, score, co_listeners FROM similar_artists
                              WHERE artist = ? AND metric = ? AND rank <= ? ORDER BY rank""", [artist, metric, k]).fetchall()
    finally:
        con.close()


def top_artist() -> str:
    con = serving.open_snapshot()
    try:
        return con.execute("""SELECT a.name FROM artist_listeners l JOIN artist a USING (artist_id)
                              ORDER BY l.listeners DESC LIMIT 1""").fetchone()[0]
    finally:
        con.close()


def test_nothing_published_is_explained_not_an_error(client):
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="not-published"' in page.text
    assert "lastfm_ingest" in page.text and "artist_similarity" in page.text
    assert "library_scan, audio_features, then train_embeddings" in page.text  # a library without listening data
    assert "musim models publish VERSION" in page.text
    for url in ("/api/status", "/api/similar?artist=x", "/api/models", "/api/quality", "/api/tracks?q=x",
                "/api/tracks/similar?q=x"):
        r = client.get(url)
        assert r.status_code == 200 and r.json()["available"] is False, url
    assert client.get("/api/suggest?q=ab").json() == {"names": [], "artists": []}


@pytest.mark.parametrize("metric", ["seed", "jaccard", "lift"])
def test_similar_artists_api_returns_the_snapshot_rows(minimal, client, metric):
    artist = top_artist()
    r = client.get("/api/similar", params={"artist": f"  {artist.upper()} ", "metric": metric, "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["available"] and body["artist"] == artist and body["metric"] == metric
    got = [(row["artist"], row["score"], row["co_listeners"]) for row in body["rows"]]
    assert got == [(a, pytest.approx(s), c) for a, s, c in expected_neighbours(artist, metric, 5)]
    assert [row["rank"] for row in body["rows"]] == [1, 2, 3, 4, 5]
    if metric == "seed":  # the synthetic taste communities show: most neighbours share the artist's
        same = Counter(minimal.community(row["artist"]) == minimal.community(artist) for row in body["rows"])
        assert same[True] >= 3


def test_page_search_renders_the_same_rows(minimal, client):
    artist = top_artist()
    page = client.get("/", params={"artist": artist.lower(), "metric": "cosine", "k": "4"})
    assert page.status_code == 200
    table = re.search(r'<table[^>]*id="colistening-table".*?</table>', page.text, re.S).group(0)
    names = re.findall(r'<tr class="result"><td class="num">\d+</td><td><a [^>]*>([^<]+)</a>', table)
    assert names == [a for a, _, _ in expected_neighbours(artist, "cosine", 4)]
    assert f'id="artist-name">{artist}<' in page.text
    # the later stages are not built: clear notices naming the DAG, never an error
    for table_name, dag in (("artist_neighbors_audio", "train_siamese"), ("track_neighbors", "train_siamese"),
                            ("model_registry", "train_siamese"), ("quality_result", "quality")):
        block = re.search(rf'data-testid="missing-{table_name}">(.*?)</div>', page.text, re.S)
        assert block and "not built yet" in block.group(1) and dag in block.group(1), table_name


def test_unknown_artist_gives_suggestions(minimal, client):
    artist = top_artist()
    typo = artist[:-1] + ("x" if artist[-1] != "x" else "y")
    r = client.get("/api/similar", params={"artist": typo})
    assert r.status_code == 404
    body = r.json()
    assert f"no artist named {typo!r}" in body["detail"] and artist in body["suggestions"]
    page = client.get("/", params={"artist": typo})
    assert page.status_code == 200 and 'data-testid="artist-not-found"' in page.text
    assert re.search(rf'<ul class="suggestions" id="suggestions">.*>{re.escape(artist)}</a>', page.text)


def test_bad_parameters_are_rejected_by_the_api_and_tolerated_by_the_page(minimal, client):
    assert client.get("/api/similar", params={"artist": "a", "metric": "nope"}).status_code == 422
    assert client.get("/api/similar", params={"artist": "a", "k": 0}).status_code == 422
    blank = client.get("/api/similar", params={"artist": "   "})  # not empty to the query check, empty once trimmed
    assert blank.status_code == 422 and "the artist name is empty" in blank.json()["detail"]
    page = client.get("/", params={"artist": top_artist(), "metric": "nope", "k": "many"})
    assert page.status_code == 200 and 'id="colistening-table"' in page.text


def test_a_blank_track_query_or_an_empty_model_is_a_422_not_a_404(full, client):
    """`/api/tracks/similar?q=%20` answered 404 ("give a track title...": a usage error said as "not found"), and an
    empty `model=` 404 "no audio neighbours of model ''", where `artist=%20` and `dump=` are refused (422)."""
    blank = client.get("/api/tracks/similar", params={"q": "   "})
    assert blank.status_code == 422 and "the track query is empty" in blank.json()["detail"], blank.text[:200]
    for url, params in (("/api/similar", {"artist": top_artist(), "source": "audio", "model": ""}),
                        ("/api/tracks/similar", {"q": "song", "model": ""})):
        r = client.get(url, params=params)
        assert r.status_code == 422, (url, r.status_code, r.text[:200])


def test_suggest_and_empty_page_examples(minimal, client):
    artist = top_artist()
    names = client.get("/api/suggest", params={"q": artist[:3].lower()}).json()["names"]
    assert names and names[0].lower().startswith(artist[:3].lower())
    page = client.get("/")
    assert f">{artist}</a>" in re.search(r'id="examples">(.*?)</ul>', page.text, re.S).group(1)


def test_overlong_lookups_are_refused_before_any_work(minimal, client):
    """A 10K-character q or artist went through name_key's quadratic bracket stripping and the fuzzy match."""
    long = "(" * 5000 + ")" * 5000
    for url, params in (("/api/suggest", {"q": long}), ("/api/similar", {"artist": long}),
                        ("/api/tracks", {"q": long}), ("/api/tracks/similar", {"q": long}), ("/", {"artist": long}),
                        ("/", {"track": long})):
        r = client.get(url, params=params)
        assert r.status_code == 422 and "at most 300 characters" in r.text, url
    assert client.get("/api/suggest", params={"q": "x" * 300}).status_code == 200


def test_the_page_s_search_fields_take_no_more_than_a_lookup_takes(minimal, client):
    """The artist and track fields took any length: a longer name pasted in the form was answered by the API's JSON
    422 in place of the page. The browser now stops them at the limit."""
    page = client.get("/").text
    for field in ("artist-input", "track-input"):
        tag = re.search(rf'<input [^>]*id="{field}"[^>]*>', page).group(0)
        assert 'maxlength="300"' in tag, field


def test_an_artist_id_that_is_no_ascii_number_is_ignored_not_a_500(minimal, client):
    for bad in ("\u00b2", "9" * 5000, "\u0663"):  # "²" and 5,000 digits passed isdigit() and int() refused them
        page = client.get("/", params={"artist_id": bad})
        assert page.status_code == 200 and 'id="examples"' in page.text, bad[:5]


def test_missing_later_stages_degrade_in_the_api(minimal, client):
    status = client.get("/api/status").json()
    assert status["available"] and status["sections"]["artist_neighbors"]
    assert not any(status["sections"][t] for t in queries.OPTIONAL_TABLES)
    audio = client.get("/api/similar", params={"artist": top_artist(), "source": "audio"}).json()
    assert audio["available"] is False and "train_siamese" in audio["message"]
    for url in ("/api/models", "/api/quality", "/api/tracks?q=a", "/api/tracks/similar?q=a"):
        r = client.get(url)
        assert r.status_code == 200 and r.json()["available"] is False and "Run " in r.json()["message"], url


def test_audio_neighbours_default_to_the_champion_model(full, client, capsys):
    artist = top_artist()
    body = client.get("/api/similar", params={"artist": artist, "source": "audio", "k": 3}).json()
    assert body["available"] and body["model"] == CHAMPION and set(body["models"]) == {CHAMPION, CHALLENGER}
    con = serving.open_snapshot()
    want = [r[0] for r in con.execute("""SELECT a.name FROM artist_neighbors_audio n JOIN artist a ON a.artist_id =
                n.neighbor_id JOIN artist s ON s.artist_id = n.artist_id WHERE s.name = ? AND model_version = ?
                ORDER BY rank LIMIT 3""", [artist, CHAMPION]).fetchall()]
    con.close()
    assert [r["artist"] for r in body["rows"]] == want and [r["rank"] for r in body["rows"]] == [1, 2, 3]
    other = client.get("/api/similar", params={"artist": artist, "source": "audio", "model": CHALLENGER}).json()
    assert other["model"] == CHALLENGER and other["rows"] != body["rows"]
    assert client.get("/api/similar", params={"artist": artist, "source": "audio", "model": "v9"}).status_code == 404
    by_id = client.get("/api/similar", params={"id": body["artist_id"], "source": "audio", "k": 3}).json()
    assert {**by_id, "query": artist} == body  # an artist picked by id is answered by sound too, as by the CLI
    from musim.cli import main

    capsys.readouterr()
    assert main(["similar", "--id", str(body["artist_id"]), "--audio", "--k", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == body["rows"]
    page = client.get("/", params={"artist": artist}).text
    assert 'id="audio-table"' in page and 'id="colistening-table"' in page


def test_a_title_in_decomposed_unicode_or_with_doubled_spaces_is_found_as_typed(tmp_path, monkeypatch, client):
    """The search normalises the text typed as artist names are (NFC, spaces collapsed, lower case) and compared it
    with the titles lower-cased only: a title as tags and file names from macOS hold it ("Cafe" + U+0301) or with
    two spaces was never found by its own text, nor by the page's or `musim similar-tracks`' search."""
    from tests.ui import conftest

    def odd_titles(con, settings):
        conftest._later_stages(con, settings)
        con.execute("UPDATE track SET title = 'Cafe\u0301 del Mar' WHERE track_id = '0001000000000000'")
        con.execute("UPDATE track SET title = 'Two  Spaces' WHERE track_id = '0002000000000000'")

    use(conftest._build(tmp_path / "home", odd_titles), monkeypatch)
    for typed, track_id in (("Café del", "0001000000000000"), ("two  spaces", "0002000000000000"),
                            ("Two Spaces", "0002000000000000")):
        rows = client.get("/api/tracks", params={"q": typed}).json()["rows"]
        assert [r["track_id"] for r in rows] == [track_id], typed
        found = client.get("/api/tracks/similar", params={"q": typed}).json()
        assert found["track"]["track_id"] == track_id, typed


def test_similar_tracks_by_text_and_by_id(full, client):
    artist = top_artist()
    body = client.get("/api/tracks/similar", params={"q": f"{artist} song 2", "k": 3}).json()
    assert body["available"] and body["track"]["title"] == f"{artist} song 2" and body["model"] == CHAMPION
    assert len(body["rows"]) == 3 and all(r["title"] and r["artist"] for r in body["rows"])
    first = body["rows"][0]["track_id"]
    again = client.get("/api/tracks/similar", params={"track_id": first}).json()
    assert again["track"]["track_id"] == first
    assert client.get("/api/tracks/similar", params={"q": "no such song at all"}).status_code == 404
    found = client.get("/api/tracks", params={"q": artist.lower()}).json()
    assert found["available"] and {r["title"] for r in found["rows"]} == {f"{artist} song 1", f"{artist} song 2"}
    page = client.get("/", params={"track": f"{artist} song 1"}).text
    assert 'id="tracks-table"' in page and f"{artist} song 1" in page


def test_leaderboard_ranks_by_primary_metric_with_baselines_and_cards(full, client):
    body = client.get("/api/models").json()
    assert body["available"] and body["primary_metrics"] == ["ndcg@10"]
    rows = body["rows"]
    assert [r["version"] for r in rows] == [CHALLENGER, CHAMPION, "autoencoder-1", "cnn_classifier-1"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4] and [r["champion"] for r in rows] == [False, True, False, False]
    assert rows[0]["score"] == {"mean": 0.45, "lo": 0.4, "hi": 0.5, "n": 20}
    assert rows[0]["best_baseline"]["name"] == "popularity" and rows[0]["vs_best_baseline"] == pytest.approx(0.2)
    assert rows[2]["best_baseline"]["name"] == "descriptors" and rows[2]["vs_best_baseline"] < 0
    assert rows[3]["score"] is None  # an evaluation without a value is listed last, not an error
    assert rows[1]["card_key"] == f"models/siamese/{CHAMPION}/card.md"
    page = client.get("/").text
    table = re.search(r'<table[^>]*id="models-table".*?</table>', page, re.S).group(0)
    assert "★ champion" in table and f'href="objects/models/siamese/{CHAMPION}/card.md"' in table
    card = client.get(f"/objects/models/siamese/{CHAMPION}/card.md")
    assert card.status_code == 200 and card.headers["content-type"].startswith("text/html")
    assert f"<h1>Model card: {CHAMPION}</h1>" in card.text and "<table>" in card.text
    assert 'href="../../../../static/musim.css"' in card.text


def test_quality_latest_per_dataset_with_data_docs(full, client):
    body = client.get("/api/quality").json()
    assert body["available"] and (body["passed"], body["failed"]) == (1, 1)
    by = {r["dataset"]: r for r in body["rows"]}
    assert by["similarity"]["status"] == "failed" and by["similarity"]["run_id"] == RUN_NEW
    assert by["similarity"]["docs_key"] == f"quality/docs/{RUN_NEW}/index.html"
    assert body["rows"][0]["dataset"] == "similarity"  # failures first
    page = client.get("/").text
    assert f'href="objects/quality/docs/{RUN_NEW}/index.html"' in page and "expect_column_values_to_be_between" in page
    docs = client.get(f"/objects/quality/docs/{RUN_NEW}/")
    assert docs.status_code == 200 and f"Data Docs {RUN_NEW}" in docs.text
    # Data Docs render the data's values unescaped: served as an opaque origin, their scripts reach no session
    assert docs.headers["content-security-policy"].startswith("sandbox allow-scripts")
    assert "allow-same-origin" not in docs.headers["content-security-policy"]
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/objects/models/siamese/{CHAMPION}/card.md").headers["content-security-policy"].startswith("sandbox")


def test_objects_route_serves_only_docs_and_model_cards(full, client):
    assert client.get("/objects/audio/previews/x.mp3").status_code == 404
    assert client.get("/objects/models/../audio/x").status_code == 404
    assert client.get("/objects/models/nope/card.md").status_code == 404


def test_neighbours_are_read_from_the_migrated_tables(full):
    """The questions read artist_neighbors_audio and track_neighbors as migration 008 lays them out: the family's
    rows of one model version, by rank, the query itself left out, neighbours of a track named by their track."""
    con = serving.open_snapshot()
    try:
        snap = queries.inspect(con)
        artist = top_artist()
        result = queries.audio_neighbors(con, snap, artist, k=2, model=CHALLENGER)
        want = con.execute("""SELECT n.neighbor_id, n.score FROM artist_neighbors_audio n JOIN artist s
                              ON s.artist_id = n.artist_id WHERE s.name = ? AND n.model_version = ? ORDER BY n.rank
                              LIMIT 2""", [artist, CHALLENGER]).fetchall()
        assert [(r["artist_id"], r["score"], r["rank"]) for r in result["rows"]] == [(a, s, i) for i, (a, s)
                                                                                     in enumerate(want, start=1)]
        assert result["models"] == [CHAMPION, CHALLENGER]  # the champion first, though the challenger is newer
        track, neighbour = con.execute("SELECT track_id, neighbor_track_id FROM track_neighbors WHERE rank = 1 "
                                       "ORDER BY track_id LIMIT 1").fetchone()
        tracks = queries.similar_tracks(con, snap, track_id=track, k=1)
        assert [r["track_id"] for r in tracks["rows"]] == [neighbour] and tracks["model"] == CHAMPION
        with pytest.raises(queries.NotFoundError, match="no track neighbours of model 'v9'; models: siamese-1"):
            queries.similar_tracks(con, snap, track_id=track, model="v9")
    finally:
        con.close()


def test_a_new_snapshot_is_served_without_a_restart(tmp_path, client):
    from musim import warehouse
    from musim.ingest.lastfm import ingest_lastfm
    from musim.similarity.build import SimilarityParams, build_similarity
    from tests.lastfm_files import tiny_dump

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    names = []
    for _ in range(3):
        with warehouse.writer() as con:
            build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
            serving.publish(con)
        status = client.get("/api/status").json()
        names.append(status["snapshot"])
        assert status["snapshot"] == serving.current_path().name
        rows = client.get("/api/similar", params={"artist": "artist b", "k": 2}).json()["rows"]
        assert [r["artist"] for r in rows] == ["Artist C", "Artist A"]
    assert len(set(names)) == 3
    assert len(client.app.state.snapshots._open) <= 2  # older snapshots' connections are let go


def test_head_is_answered_like_get_without_a_body(minimal, client):
    """HEAD on the page and the API answered 405 (monitoring probes and `curl -I` use it)."""
    for path in ("/", "/api/status", f"/api/similar?artist={top_artist()}", "/api/similar?artist=nobody-at-all"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code and head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]


def test_an_artist_without_neighbours_is_told_why(tmp_path, client):
    """The page said "fewer than N listeners (the build's min_listeners) or no shared listeners" of every such
    artist, the placeholder [unknown] (never compared) too."""
    from musim import warehouse
    from musim.ingest.lastfm import ingest_lastfm
    from musim.similarity.build import SimilarityParams, build_similarity
    from tests.lastfm_files import U1, tiny_dump

    plays = tiny_dump(tmp_path / "d.tsv")  # listeners: A 3, B 3, C 2
    with open(plays, "a") as fh:
        fh.write(f"{U1}\t\t[unknown]\t4\n")
    ingest_lastfm(plays)
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=3, min_co_listeners=1, k=5))
        serving.publish(con)
    body = client.get("/api/similar", params={"artist": "artist c"}).json()
    assert body["rows"] == [] and (body["build_k"], body["metric"], len(body["dump_id"])) == (5, "seed", 64)
    assert body["reason"] == (f"Artist C has 2 listeners in dump {body['dump_id'][:12]}, fewer than the build's "
                              "min_listeners=3: it was not compared with other artists")
    for artist, says in (("artist c", "fewer than the build&#x27;s min_listeners=3"),
                         ("[unknown]", "is a placeholder name (Last.FM&#x27;s for plays of an unknown artist")):
        notice = re.search(r'id="no-neighbours">(.*?)</div>', client.get("/", params={"artist": artist}).text, re.S)
        assert notice and says in notice.group(1), artist


def _namesakes_published(tmp_path) -> dict[str, int]:
    """A dump with two bands called "Nirvana" (MB_A: 4 listeners, MB_B: 2), "OaktamSoljun" and "Björk"; the ids of
    the two Nirvanas by MBID."""
    from musim import warehouse
    from musim.ingest.lastfm import ingest_lastfm
    from musim.similarity.build import SimilarityParams, build_similarity
    from tests.lastfm_files import MB_A, MB_B, write_lines

    users = [f"{i:040x}" for i in range(6)]
    lines = [f"{u}\t{MB_A}\tNirvana\t5" for u in users[:4]] + [f"{u}\t{MB_B}\tNirvana\t5" for u in users[4:]]
    lines += [f"{u}\t\t{name}\t3" for u in users[::2] for name in ("OaktamSoljun", "Björk")]
    ingest_lastfm(write_lines(tmp_path / "d.tsv", lines))
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        serving.publish(con)
        return dict(con.execute("SELECT CAST(mbid AS VARCHAR), artist_id FROM artist WHERE name = 'Nirvana'").fetchall())


def test_suggest_uses_the_name_keys_and_tells_namesakes_apart_by_id(tmp_path, client):
    """The autocomplete matched normalised names only (`bjork` suggested no Björk) and gave two bands called
    "Nirvana" as one name, so the other could not be picked; the CLI's "did you mean" was another rule."""
    from tests.lastfm_files import MB_A, MB_B

    ids = _namesakes_published(tmp_path)
    for typed, first in (("bjork", "Björk"), ("oaktam-soljun", "OaktamSoljun"), ("oaktam sol", "OaktamSoljun")):
        found = client.get("/api/suggest", params={"q": typed}).json()
        assert found["artists"][0]["name"] == first and found["names"][0] == first, typed
        assert not found["artists"][0]["shared"]
    nirvanas = client.get("/api/suggest", params={"q": "nirv"}).json()
    assert nirvanas["names"] == ["Nirvana"]
    assert [(a["artist_id"], a["shared"], a["detail"]) for a in nirvanas["artists"]] == [
        (ids[MB_A], True, "MBID 11111111…, 4 listeners"), (ids[MB_B], True, "MBID 22222222…, 2 listeners")]
    # picked, the other band is asked for by its id: /api/similar takes what `musim similar --id/--mbid` takes
    other = client.get("/api/similar", params={"id": ids[MB_B], "k": 5}).json()
    assert (other["artist_id"], other["mbid"]) == (ids[MB_B], MB_B)
    assert {**client.get("/api/similar", params={"mbid": MB_B, "k": 5}).json(), "query": None} == {**other, "query": None}
    assert client.get("/api/similar", params={"artist": "Nirvana"}).json()["artist_id"] == ids[MB_A]
    both = client.get("/api/similar", params={"artist": "Nirvana", "id": ids[MB_B]})
    assert both.status_code == 422 and "not artist and id together" in both.json()["detail"]
    # a misspelt shared name: the same rule, each band with its id
    missing = client.get("/api/similar", params={"artist": "nirvanna"})
    assert missing.status_code == 404 and [a["artist_id"] for a in missing.json()["artists"][:2]] == [ids[MB_A], ids[MB_B]]
    assert (f"did you mean: 'Nirvana' (--id {ids[MB_A]}: MBID 11111111…, 4 listeners), 'Nirvana' (--id {ids[MB_B]}: "
            "MBID 22222222…, 2 listeners)") in missing.json()["detail"]


def test_the_page_answers_the_artist_picked_by_id_and_links_its_namesakes(tmp_path, client):
    from tests.lastfm_files import MB_A, MB_B

    ids = _namesakes_published(tmp_path)
    page = client.get("/", params={"artist": "Nirvana (MBID 22222222…, 2 listeners)", "artist_id": ids[MB_B]}).text
    assert re.search(rf'id="artist-id" value="{ids[MB_B]}"\s+data-name="Nirvana"', page)
    namesakes = re.search(r'id="namesakes">(.*?)</p>', page, re.S).group(1)
    assert f"this is id {ids[MB_B]} (MBID 22222222…)" in namesakes
    assert f'artist_id={ids[MB_A]}' in namesakes and "4 listeners" in namesakes
    # an id left behind by a name typed since (no script to clear it): the name is asked for
    page = client.get("/", params={"artist": "Björk", "artist_id": ids[MB_B]}).text
    assert re.search(r'id="artist-name">Björk<', page) and 'id="artist-id" value=""' in page


def test_suggest_keeps_the_librarys_artists_once_a_dump_is_ingested(tmp_path, client):
    """Once a dump was ingested, the autocomplete and "did you mean" suggested only artists with listeners in it: an
    artist of the music library (no listening data, audio neighbours) was no longer suggested."""
    from tests.audio_catalogue import publish_audio_catalogue

    ids = publish_audio_catalogue(tmp_path)
    found = client.get("/api/suggest", params={"q": "dj ka"}).json()
    assert [(a["artist_id"], a["detail"]) for a in found["artists"]] == [(ids[("DJ Ka", None)], "no MBID, 2 tracks")]
    fenlovens = client.get("/api/suggest", params={"q": "fenlov"}).json()["artists"]
    assert len(fenlovens) == 3 and all(a["shared"] for a in fenlovens)
    assert client.get("/api/suggest", params={"q": "quiet"}).json()["artists"] == []  # nothing to answer with
    missing = client.get("/api/similar", params={"artist": "dj kaa", "source": "audio"})
    assert missing.status_code == 404 and missing.json()["suggestions"] == ["DJ Ka"]


def test_audio_neighbours_of_a_shared_name_answer_as_colistening_does(tmp_path, client):
    """/api/similar?source=audio answered a shared name for its lowest id, without `namesakes`, and did not say why
    an artist had no audio neighbours."""
    from tests.audio_catalogue import publish_audio_catalogue
    from tests.lastfm_files import MB_C

    ids = publish_audio_catalogue(tmp_path)
    body = client.get("/api/similar", params={"artist": "fenloven", "source": "audio", "k": 3}).json()
    assert (body["artist_id"], body["mbid"]) == (ids[("Fenloven", MB_C)], MB_C)
    assert [n["tracks"] for n in body["namesakes"]] == [8, 3, 1]
    page = client.get("/", params={"artist": "Fenloven"}).text
    assert re.search(r'id="namesakes">3 artists are named Fenloven: this is id \d+ \(MBID 33333333…\)', page)
    assert f'(id {ids[("Nirvana", None)]})' in re.search(r'id="audio-table".*?</table>', page, re.S).group(0)
    placeholder = client.get("/api/similar", params={"artist": "unknown artist", "source": "audio"}).json()
    assert placeholder["rows"] == [] and "it is never compared with other artists" in placeholder["reason"]
    page = client.get("/", params={"artist": "Unknown artist"}).text
    assert "placeholder name" in re.search(r'id="no-audio-neighbours">(.*?)</div>', page, re.S).group(1)


def test_a_guarded_app_answers_no_route_without_its_guard(tmp_path):
    """FastAPI's /api/docs and /api/openapi.json skip app-level dependencies: they answered 200 without an Airflow
    login while every other route said 401."""
    from fastapi import Depends, HTTPException
    from fastapi.routing import APIRoute

    def deny() -> None:
        raise HTTPException(status_code=401, detail="log in")

    app = create_app(dependencies=[Depends(deny)])
    paths = [r.path.replace("{key:path}", "models/x/card.md") for r in app.routes if hasattr(r, "methods")]
    assert {"/", "/api/status", "/api/similar"} <= set(paths) and len(paths) > 5
    with TestClient(app) as guarded:
        for path in paths:
            assert guarded.get(path).status_code == 401, path
        for path in ("/api/docs", "/api/openapi.json", "/api/docs/oauth2-redirect"):
            assert guarded.get(path).status_code in (401, 404), path
        assert guarded.get("/static/musim.css").status_code == 200  # assets only
    assert all(isinstance(r, APIRoute) for r in app.routes if hasattr(r, "methods"))
    with TestClient(create_app()) as open_app:  # the standalone page (no guard) keeps its API docs
        assert open_app.get("/api/openapi.json").status_code == 200


@pytest.mark.parametrize("store", ["gs://bucket/musim", "s3://KEY:PLANTED-SECRET-7f3a@bucket/musim"])
def test_a_misconfigured_object_store_is_named_and_the_page_still_answers(full, client, monkeypatch, store):
    """A MUSIM_OBJECT_STORE the API server cannot use (an unsupported scheme, keys in the URL) made the whole page,
    /api/quality and /objects a bare 500: the quality results link their Data Docs in the store configured now."""
    monkeypatch.setenv("MUSIM_OBJECT_STORE", store)
    page = client.get("/", params={"artist": top_artist()})
    assert page.status_code == 200 and 'id="colistening-table"' in page.text and 'id="models-table"' in page.text
    assert 'data-testid="quality-error"' in page.text and "object store URL" in page.text
    for url in ("/api/quality", f"/objects/quality/docs/{RUN_NEW}/"):
        r = client.get(url)
        assert r.status_code == 503, url
        detail = r.json()["detail"]
        assert detail.startswith("object store URL") and "\n" not in detail, url
    for r in (page, client.get("/api/quality")):
        assert "PLANTED-SECRET-7f3a" not in r.text


def test_the_pages_leaderboard_shows_the_best_and_every_champion_not_every_version(full):
    """Every training run registers versions and every search reloads the page: it rendered them all (3,000 versions:
    1.8 MB and 1.7 s a search). It shows the best by each primary metric and every champion; api/models has all."""
    from musim.ui import page as html
    from musim.ui.snapshot import SnapshotCache

    with SnapshotCache().open() as s:
        result = queries.leaderboard(s.con, s.snap)
        chosen = queries.leaderboard(s.con, s.snap, limit=1)  # as the page reads it: chosen in SQL
    assert [r["version"] for r in result["rows"]] == [CHALLENGER, CHAMPION, "autoencoder-1", "cnn_classifier-1"]
    one = html.leaderboard_result(result, limit=1)
    assert html.leaderboard_result(chosen, limit=1) == one and len(chosen["rows"]) == 2
    shown = re.findall(r"<td><strong>([^<]+)</strong></td>", one)
    assert shown == [CHALLENGER, CHAMPION]  # the best, and the champion although ranked below it
    assert "Showing the best 1 by each primary metric and every champion of 4 models; 2 more in" in one
    assert '<a href="api/models">api/models</a>' in one
    everything = html.leaderboard_result(result)  # under the default limit: every version, no note
    assert len(re.findall(r"<td><strong>", everything)) == 4 and "Showing the best" not in everything


def test_an_artist_only_in_an_older_served_dump_can_be_asked_there(tmp_path, client):
    """The answer pointed web users at `musim similar 'Artist C' --dump X`: /api/similar took no dump."""
    from musim import warehouse
    from musim.ingest.lastfm import ingest_lastfm
    from musim.similarity.build import SimilarityParams, build_similarity
    from tests.lastfm_files import U1, U2, U3, tiny_dump, write_lines

    params = SimilarityParams(min_listeners=1, min_co_listeners=1, k=5)
    first = ingest_lastfm(tiny_dump(tmp_path / "d1.tsv")).dump_id  # Artist C: 2 listeners
    with warehouse.writer() as con:
        build_similarity(con, None, params)
    ingest_lastfm(write_lines(tmp_path / "d2.tsv", [f"{u}\t\t{name}\t2" for u in (U1, U2, U3)
                                                    for name in ("Artist A", "Artist B")]))
    with warehouse.writer() as con:
        build_similarity(con, None, params)
        serving.publish(con)
    latest = client.get("/api/similar", params={"artist": "Artist C"}).json()
    assert latest["rows"] == [] and latest["dump_id"] != first and f"--dump {first[:12]}" in latest["reason"]
    there = client.get("/api/similar", params={"artist": "Artist C", "dump": first[:12]}).json()
    assert there["dump_id"] == first and {r["artist"] for r in there["rows"]} == {"Artist A", "Artist B"}
    missing = client.get("/api/similar", params={"artist": "Artist C", "dump": "ffffffff"})
    assert missing.status_code == 404 and "has no similarity build" in missing.json()["detail"]
    audio = client.get("/api/similar", params={"artist": "Artist C", "dump": first[:12], "source": "audio"})
    assert audio.status_code == 422


def test_a_name_with_a_c1_control_character_is_refused_by_every_lookup(minimal, client):
    """`musim similar` refuses a name holding a C1 control character (Windows-1252 text read as Latin-1: no artist
    name holds one); the autocomplete answered the name without it, and the page answered the API's JSON (422) in
    place of the page. Each now refuses it with the same line (musim.similarity.query, the one check)."""
    artist = top_artist()
    bad = artist + "\x92"
    said = "holds U+0092, a C1 control character"
    for url, params in (("/api/similar", {"artist": bad}), ("/api/similar", {"artist": bad, "source": "audio"}),
                        ("/api/suggest", {"q": bad})):
        r = client.get(url, params=params)
        assert r.status_code == 422 and said in r.json()["detail"], (url, r.status_code, r.text[:200])
    page = client.get("/", params={"artist": bad})
    assert page.status_code == 200 and 'data-testid="artist-not-found"' in page.text and said in page.text
    assert 'id="colistening-table"' not in page.text
    assert client.get("/api/suggest", params={"q": artist}).json()["names"]  # the name as it reads is still found


def test_a_namesake_found_by_the_name_key_is_linked_by_its_own_name(tmp_path, client):
    """"Motley-Crue" answers "Motley Crue" and lists "Mötley Crüe" (the same name key): the page linked the other
    artist as `artist=Motley Crue&artist_id=<Mötley Crüe's id>`, whose id the page then dropped (the name typed is
    not the id's), so following the link answered "Motley Crue" again."""
    from musim import warehouse
    from musim.ingest.lastfm import ingest_lastfm
    from musim.similarity.build import SimilarityParams, build_similarity
    from tests.lastfm_files import write_lines

    users = [f"{i:040x}" for i in range(8)]
    heard = {"Motley Crue": 5, "Mötley Crüe": 4, "Poison": 6}
    ingest_lastfm(write_lines(tmp_path / "d.tsv", [f"{u}\t\t{a}\t2" for a, n in heard.items() for u in users[:n]]))
    with warehouse.writer() as con:
        build_similarity(con, None, SimilarityParams(min_listeners=1, min_co_listeners=1, k=5))
        serving.publish(con)
        ids = dict(con.execute("SELECT name, artist_id FROM artist").fetchall())
    page = client.get("/", params={"artist": "Motley-Crue"}).text
    caption = re.search(r'id="namesakes">(.*?)</p>', page, re.S).group(1)
    link = re.search(rf'href="\?([^"]*artist_id={ids["Mötley Crüe"]}[^"]*)"', caption).group(1)
    followed = client.get("/?" + link.replace("&amp;", "&")).text
    assert re.search(rf'id="artist-id" value="{ids["Mötley Crüe"]}"', followed)
    assert re.search(r'id="artist-name">Mötley Crüe<', followed)
    # the caption says the two names differ: not "2 artists are named Motley Crue"
    assert f"2 artists match this name: this is id {ids['Motley Crue']} (Motley Crue, no MBID)" in caption
    assert f">id {ids['Mötley Crüe']}</a> (Mötley Crüe, no MBID, 4 listeners)" in caption
