"""A user's own music folder with hostile files: each bad file costs only itself, with its reason, and the rest is
stored."""

from __future__ import annotations

import pytest

from musim import warehouse
from musim.library import add
from tests.library.conftest import write_audio, write_tags


def rows(query: str, *params):
    with warehouse.writer() as con:
        return con.execute(query, list(params)).fetchall()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_track_number_tag_of_any_size_stores_the_file(tmp_path, workers):
    # A TRACKNUMBER of 5,000 digits stopped the whole add (Python refuses to convert a string of over 4,300 digits),
    # and one past 2^31-1 too, at the end, when the warehouse refused the row: nothing of the folder was stored. Now
    # such a tag is no track number and every file is stored.
    root = tmp_path / "music"
    numbers = {"huge.flac": "9" * 5000, "big.flac": "99999999999", "padded.flac": "0" * 40 + "7/12", "ok.flac": "3"}
    for i, (name, number) in enumerate(numbers.items()):
        path = write_audio(root / "Band" / name, "flac", seconds=6, freq=220 + 70 * i, seed=i)
        write_tags(path, "flac", artist="Band", title=name, tracknumber=number)
    summary = add([root], workers=workers).to_json()
    assert (summary["files"], summary["stored"], summary["skipped"]) == (4, 4, [])
    got = dict(rows("SELECT title, tracknumber FROM library_track"))
    assert got == {"huge.flac": None, "big.flac": None, "padded.flac": 7, "ok.flac": 3}
