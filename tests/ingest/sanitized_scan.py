"""Run the C scanner built with AddressSanitizer and UndefinedBehaviorSanitizer over the quirk file and a
hypothesis-generated fuzz corpus (run by tests/ingest/test_scan360k_sanitizers.py in its own process,
with the sanitizer runtimes preloaded). Usage: ``python -m tests.ingest.sanitized_scan EXTENSION EXAMPLES``.

Only numpy is imported beside the extension (no DuckDB, no Arrow): a report can only come from the scanner.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.sanitizers import load_extension


def scan(path: Path, chunk: int) -> int:
    """The C engine's scan of ``path`` in blocks of ``chunk`` bytes, and the merge of its rows (both ways)."""
    import numpy as np

    from musim.ingest import _scan360k, prescan

    prescan.CHUNK_BYTES = chunk
    scanner = _scan360k.Scanner()
    found = prescan.Prescan(path=path, sha256="", bytes=0, lines=0)

    def check(block: memoryview) -> None:
        found.lines += scanner.feed(block, found.lines + 1)

    prescan.read_blocks(path, found, check)
    events = scanner.take_events()
    result = scanner.result()
    users = np.frombuffer(result["row_user"], dtype=np.int32).copy()
    spellings = np.frombuffer(result["row_spelling"], dtype=np.int32).copy()
    plays = np.frombuffer(result["row_plays"], dtype=np.int64)
    for data, offsets in (result["users"], result["names"], result["mbids"]):
        assert np.frombuffer(offsets, dtype=np.int64)[-1] == len(memoryview(data))
    _scan360k.merge_runs(users, spellings, plays)  # users as they come: maybe not grouped
    if users.size:
        spellings[::3] = -1  # rows of rejected spellings and users are skipped
        users[1::4] = -1
        _scan360k.merge_runs(np.sort(users), spellings, plays)
    return found.lines + len(events)


def main(extension: str, examples: int) -> None:
    load_extension(extension, "musim.ingest._scan360k")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.ingest.corpus import QUIRK_LINES, plays_file

    with tempfile.TemporaryDirectory() as tmp:
        quirks = Path(tmp) / "quirks.tsv"
        for ending in (b"\n", b"\r\n"):
            quirks.write_bytes(ending.join(QUIRK_LINES))
            for chunk in (3, 64, 1 << 20):
                scan(quirks, chunk)

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(data=plays_file(), chunk=st.sampled_from([1, 7, 256, 1 << 20]))
        def fuzz(data: bytes, chunk: int) -> None:
            path = Path(tmp) / "fuzz.tsv"
            path.write_bytes(data)
            scan(path, chunk)

        fuzz()
    print(f"scanned the quirk file and {examples} fuzz examples under the sanitizers")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
