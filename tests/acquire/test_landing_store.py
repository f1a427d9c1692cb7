"""The landing area on object storage: dumps listed under an S3 (moto) or file:// prefix, ingested once."""

from __future__ import annotations

import pytest

from musim import warehouse
from musim.ingest.landing import ingest_landed, new_dumps, scan_landing
from tests.lastfm_files import MB_A, MB_B, U1, U2, tiny_dump, write_lines

PLAYS = "usersha1-artmbid-artname-plays.tsv"


@pytest.mark.server
def test_landing_on_s3_lists_pairs_downloads_ingests_once(s3_env, tmp_path, monkeypatch):
    client, bucket = s3_env.client, s3_env.bucket
    plays = tiny_dump(tmp_path / PLAYS)
    profiles = write_lines(tmp_path / "usersha1-profile.tsv", [f"{U1}\tm\t22\tSweden\tFeb 1, 2007", f"{U2}\tf\t\t\t"])
    client.upload_file(str(plays), bucket, f"landing/lastfm/2026-11-01/{PLAYS}")
    client.upload_file(str(profiles), bucket, "landing/lastfm/2026-11-01/usersha1-profile.tsv")
    client.put_object(Bucket=bucket, Key="landing/lastfm/2026-11-01/README.txt", Body=b"not a dump")
    landing = f"s3://{bucket}/landing/lastfm"
    monkeypatch.setenv("MUSIM_LANDING", landing)

    (found,) = scan_landing()
    assert found.plays == f"{landing}/2026-11-01/{PLAYS}"
    assert found.profiles == f"{landing}/2026-11-01/usersha1-profile.tsv"
    assert found.size == plays.stat().st_size and found.mtime > 0

    (todo,) = new_dumps()
    result = ingest_landed(todo.to_json())  # as the DAG passes it (JSON through XCom)
    assert (result.lines, result.loaded, result.file_name) == (9, 9, PLAYS)
    assert result.profile_lines == 2
    with warehouse.writer() as con:
        assert con.execute("SELECT location, size FROM landing_file ORDER BY location").fetchall() == [
            (found.plays, found.size), (found.profiles, profiles.stat().st_size)]  # a later profiles file: taken
    assert new_dumps() == []  # remembered by URL, size and last-modified time

    client.put_object(Bucket=bucket, Key=f"landing/lastfm/2026-12-01/{PLAYS}.gz", Body=_gz_dump(tmp_path))
    (second,) = new_dumps()
    assert second.plays.endswith(f"2026-12-01/{PLAYS}.gz") and second.profiles is None
    assert ingest_landed(second).lines == 2
    assert list((tmp_path.parent).glob("**/landing-*")) == []  # temp downloads removed


def _gz_dump(tmp_path) -> bytes:
    path = write_lines(tmp_path / "second.tsv.gz", [f"{U1}\t{MB_A}\tArtist A\t1", f"{U2}\t{MB_B}\tArtist B\t2"],
                       gz=True)
    return path.read_bytes()


def test_landing_as_file_url(tmp_path, monkeypatch):
    root = tmp_path / "landing"
    tiny_dump(root / "one" / PLAYS)
    monkeypatch.setenv("MUSIM_LANDING", root.as_uri())
    (todo,) = new_dumps()
    assert todo.plays == f"{root.as_uri()}/one/{PLAYS}"
    assert ingest_landed(todo).loaded == 9 and new_dumps() == []
