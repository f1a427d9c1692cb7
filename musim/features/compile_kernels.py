"""``python -m musim.features.compile_kernels``: compile librosa's numba kernels once, in one process.

librosa caches its numba-compiled kernels on disk (``cache=True``, beside its sources in the virtualenv). A
fresh install starts with none, and the first parallel work compiles the same kernels in several processes at
once: ``make test``'s pytest-xdist workers, the Airflow tasks and feature pools of ``make demo``. numba writes
a guvectorize kernel's two cache files without a lock (numba/numba#10128), so processes compiling one at the
same moment can leave a mismatched pair, and every process that loads it afterwards runs a broken kernel (seen
here as a feature task spinning for 15 minutes in ``librosa.util.localmax``). ``make install`` (and the
image) runs this once, before anything runs in parallel: every extractor on a short clip, which compiles and
caches every kernel the features use; later processes only read the cache.
"""

from __future__ import annotations

import time

from musim.features.extract import extractors_for, select_views
from musim.features.pool import warm_up


def main(argv: list[str] | None = None) -> int:
    from musim.terminal import Parser

    Parser(prog="python -m musim.features.compile_kernels", description=__doc__.splitlines()[0]).parse_args(argv)
    started = time.perf_counter()
    warm_up(extractors_for(select_views(None)))
    print(f"compiled the feature kernels in {time.perf_counter() - started:.0f} s (cached for every later process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
