"""Settings from the environment, with defaults that work on one machine.

Every path lives under ``MUSIM_HOME`` (default ``./.musim``) unless its own variable overrides it:

==========================  ====================================  ===========================================
variable                    default                               meaning
==========================  ====================================  ===========================================
``MUSIM_HOME``              ``./.musim``                          root of everything local
``MUSIM_WAREHOUSE``         ``$MUSIM_HOME/warehouse.duckdb``      the writer's DuckDB file (one writer at a time)
``MUSIM_SERVING_DIR``       ``$MUSIM_HOME/serving``               published read-only snapshots + ``CURRENT``
``MUSIM_OBJECT_STORE``      ``file://$MUSIM_HOME/objects``        object store URL (``file://…`` or ``s3://bucket/prefix``)
``MUSIM_LANDING``           ``$MUSIM_HOME/landing/lastfm``        where new Last.FM dumps are dropped
``MUSIM_TMP``               ``$MUSIM_HOME/tmp``                   DuckDB spill directory and scratch files
``MUSIM_DUCKDB_MEMORY``     ``60%`` of RAM                        DuckDB ``memory_limit`` (e.g. ``8GB``)
``MUSIM_DUCKDB_THREADS``    number of CPUs                        DuckDB ``threads``
==========================  ====================================  ===========================================

Settings are read on every call to :func:`get_settings` so that tests and Airflow tasks can change the
environment; nothing is cached at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from musim.errors import ConfigError


def _total_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024**3


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one musim installation."""

    home: Path
    warehouse_path: Path
    serving_dir: Path
    object_store_url: str
    landing: str
    tmp_dir: Path
    duckdb_memory_limit: str
    duckdb_threads: int
    promotion_min_test_artists: int = 10
    promotion_min_queries: int = 10

    def ensure_dirs(self) -> None:
        """Create the local folders the settings point to (never touches remote stores)."""
        for path in (self.home, self.warehouse_path.parent, self.serving_dir, self.tmp_dir):
            path.mkdir(parents=True, exist_ok=True)
        if "://" not in self.landing:
            Path(self.landing).mkdir(parents=True, exist_ok=True)


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    """The integer variable ``name`` of ``env`` (``default`` when unset or empty); ConfigError below ``minimum``."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
        if value < minimum:
            raise ValueError
    except ValueError:
        what = "a positive integer" if minimum == 1 else ("a non-negative integer" if minimum == 0
                                                           else f"an integer >= {minimum}")
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    return value


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    home = Path(env.get("MUSIM_HOME") or ".musim").expanduser().absolute()
    threads = env_int(env, "MUSIM_DUCKDB_THREADS", os.cpu_count() or 1)
    memory = env.get("MUSIM_DUCKDB_MEMORY") or f"{int(_total_memory_bytes() * 0.6 / 1024**2)}MB"
    return Settings(
        home=home,
        warehouse_path=Path(env.get("MUSIM_WAREHOUSE") or home / "warehouse.duckdb").expanduser().absolute(),
        serving_dir=Path(env.get("MUSIM_SERVING_DIR") or home / "serving").expanduser().absolute(),
        object_store_url=env.get("MUSIM_OBJECT_STORE") or (home / "objects").as_uri(),
        landing=env.get("MUSIM_LANDING") or str(home / "landing" / "lastfm"),
        tmp_dir=Path(env.get("MUSIM_TMP") or home / "tmp").expanduser().absolute(),
        duckdb_memory_limit=memory,
        duckdb_threads=threads,
        promotion_min_test_artists=env_int(env, "MUSIM_PROMOTION_MIN_TEST_ARTISTS", 10),
        promotion_min_queries=env_int(env, "MUSIM_PROMOTION_MIN_QUERIES", 10),
    )
