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
