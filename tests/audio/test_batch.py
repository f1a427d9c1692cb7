"""Batch extraction with a process pool: same numbers as one at a time, errors as values."""

from __future__ import annotations

import io

import numpy as np
import pytest

from musim.audio import MelParams, compute_log_mels, log_mel_of
from musim.errors import AudioError, ParameterError
from musim.synth.audio import write_clip

from .conftest import SR, sine


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    return [write_clip(d / f"t{i}.{fmt}", sine(220.0 * (i + 1), 4.0), sr=SR)
            for i, fmt in enumerate(["mp3", "flac", "m4a"])]


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_matches_single(files, workers):
    p = MelParams(frames=64)
    sources = [*files, b"not audio at all" * 100, io.BytesIO(files[0].read_bytes())]
    results = dict(compute_log_mels(sources, params=p, workers=workers, max_in_flight=2))
    assert sorted(results) == [0, 1, 2, 3, 4]
    for i, path in enumerate(files):
        np.testing.assert_array_equal(results[i], log_mel_of(path, params=p))
        assert results[i].shape == (64, 64)
    assert isinstance(results[3], AudioError) and "item 3" in str(results[3])
    np.testing.assert_array_equal(results[4], results[0])


def test_load_kwargs_and_bad_workers(files):
    out = dict(compute_log_mels(files[:1], params=MelParams(frames=None), workers=1,
                                load_kwargs={"duration": 1.0}))
    assert out[0].shape[0] == 1 + SR // 2584
    with pytest.raises(ParameterError):
        compute_log_mels(files, workers=0)
