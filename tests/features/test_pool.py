"""The feature build's process pool (the one pool of the audio path) gives what one process gives."""

from __future__ import annotations

import numpy as np

from musim.features import BuildOptions, build, load_tensor
from musim.features.extract import extractors_for, plan_build, select_views
from musim.features.pool import compute


def _run(items, extractors, store, workers: int) -> dict[str, tuple]:
    """audio id -> (rejection, {extractor hash: array}) computed with ``workers`` processes."""
    out = {}
    for r in compute(items, extractors, store=store, options=BuildOptions(workers=workers, progress=False)):
        arrays = {h: load_tensor(store, o["object_key"]) for h, o in r.outputs.items()}
        out[r.item.audio_id] = (r.reject, arrays)
    return out


def test_two_workers_compute_what_one_process_computes(catalogue, con, store):
    for i in range(5):
        catalogue.add_clip(f"t{i}", 1 + i % 2, community=i, fmt="mp3" if i % 2 else "wav")
    catalogue.add("junk", 2, b"not audio at all" * 50, fmt="mp3", duration_s=6.0)
    extractors = extractors_for(select_views(["track_log_mel", "track_slices"]))
    items = plan_build(con, extractors).items
    assert len(items) == 6

    one, two = _run(items, extractors, store, 1), _run(items, extractors, store, 2)
    assert sorted(one) == sorted(two) == sorted(i.audio_id for i in items)
    assert sorted(r[0][0] for r in two.values() if r[0]) == ["not_audio"]
    for audio_id, (reject, arrays) in one.items():
        assert (two[audio_id][0] or [None])[0] == (reject or [None])[0]  # the reason (details name the bytes)
        assert arrays.keys() == two[audio_id][1].keys()
        for h, a in arrays.items():
            np.testing.assert_array_equal(a, two[audio_id][1][h])

    result = build(["track_log_mel"], con=con, store=store, options=BuildOptions(workers=2, progress=False),
                   publish=False)
    assert (result.computed, result.rejects_by_reason) == (5, {"not_audio": 1})
