"""The sources index of a run: an older run's index goes, a run's still fetching beside it stays."""

from __future__ import annotations

import os
import time

from musim.acquire.journal import SOURCES_PREFIX, read_sources_index, write_sources_index
from musim.storage import open_store


def test_a_young_index_of_a_run_beside_this_one_is_kept_and_a_day_old_one_goes(tmp_path):
    """Each run deleted every index: a run started beside another deleted the other's, which then downloaded
    every known source again."""
    store = open_store(tmp_path.as_uri())
    source = [{"source_key": "https://x/1.mp3", "object_key": "audio/previews/a.mp3", "sha256": "a"}]
    old = write_sources_index(store, "20261201T000000Z-aaaaaa", source)
    day_ago = time.time() - 2 * 86400
    os.utime(tmp_path / old, (day_ago, day_ago))
    beside = write_sources_index(store, "20261205T000000Z-bbbbbb", source)
    mine = write_sources_index(store, "20261205T000001Z-cccccc", source)
    assert sorted(o.key for o in store.list(SOURCES_PREFIX)) == [beside, mine]
    assert read_sources_index(store, beside)["https://x/1.mp3"]["object_key"] == "audio/previews/a.mp3"


def test_a_progress_or_journal_of_another_shape_is_damaged_not_a_crash(tmp_path, caplog):
    """A progress or journal object that is JSON but no artist's (another version's fields, a list, a stray file)
    raised TypeError or AttributeError: the progress failed its artist on every run until it was given up, the
    journal every fetch of its batch and every record. Now each is damaged: the progress is ignored (its previews
    fetched again), the journal left in place, with a warning."""
    from musim.acquire.journal import JOURNAL_PREFIX, progress_key, read_journals, read_progress

    store = open_store(tmp_path.as_uri())
    for doc in (b"[1, 2]", b'{"previews": [{"bogus": 1}]}', b'{"previews": [3]}', b'{"previews": {"a": 1}}'):
        store.put_bytes(progress_key(7), doc)
        assert read_progress(store, 7) == {}
    keys = []
    for i, doc in enumerate((b"[]", b'{"artist_id": 5}', b'{"artist_id": 5, "name": "x", "previews": [1]}')):
        keys.append(f"{JOURNAL_PREFIX}b/{i}.json")
        store.put_bytes(keys[-1], doc)
    assert read_journals(store, keys) == []
    assert "is not an artist's outcome; left in place" in caplog.text
    assert "is not an artist's progress; its previews are fetched again" in caplog.text
