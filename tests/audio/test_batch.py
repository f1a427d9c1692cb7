"""The audio path's process pool: pool_map in order, imap_unordered bounded and complete, errors raised here."""

from __future__ import annotations

import pytest

from musim.audio.batch import imap_unordered, pool_map


def _square_or_fail(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def test_pool_map_keeps_the_order_in_and_out_of_the_pool():
    items = list(range(7))
    assert pool_map(_square_or_fail, items, workers=2) == [x * x for x in items]
    assert pool_map(_square_or_fail, items, workers=1) == [x * x for x in items]
    assert pool_map(_square_or_fail, [], workers=2) == []


def test_pool_map_raises_what_a_worker_raised():
    with pytest.raises(ValueError, match="negative: -3"):
        pool_map(_square_or_fail, [1, -3, 2], workers=2)


def test_imap_unordered_gives_every_result_with_its_index_in_and_out_of_the_pool():
    items = list(range(11))
    for workers in (1, 2):
        got = dict(imap_unordered(_square_or_fail, iter(items), workers=workers, in_flight=3))
        assert got == {i: x * x for i, x in enumerate(items)}
    assert list(imap_unordered(_square_or_fail, [], workers=2)) == []


def test_imap_unordered_takes_no_more_items_than_it_may_hold():
    taken: list[int] = []

    def source():
        for i in range(10):
            taken.append(i)
            yield i

    results = imap_unordered(_square_or_fail, source(), workers=2, in_flight=3)
    next(results)
    assert len(taken) <= 4  # three in flight, and the one that finished replaced by at most one more
    assert len(list(results)) == 9


def test_imap_unordered_raises_what_a_worker_raised():
    with pytest.raises(ValueError, match="negative: -3"):
        list(imap_unordered(_square_or_fail, [1, -3, 2], workers=2))
