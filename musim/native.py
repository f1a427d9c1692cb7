"""musim's optional C extensions, each with a DuckDB fallback, and how a step chooses between them.

``make install`` builds the extensions (a C compiler and the Python headers are needed); where one cannot be
built its step runs on DuckDB alone and says so once in the log. Each has a setting: ``c``, ``duckdb``, or
``auto`` (``c`` when the extension imports). Used by :mod:`musim.ingest.engines` (the 360K line scanner) and
:mod:`musim.cooccurrence` (the co-occurrence kernels of the similarity build).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from musim.errors import ConfigError

ENGINES = ("c", "duckdb")


@dataclass
class NativeEngine:
    """One optional extension: ``module`` to import, ``what`` it is (for messages, e.g. "the C scanner"),
    the ``variable`` of its setting, the ``step`` it serves ("an ingest engine") and what its ``fallback`` does."""

    module: str
    what: str
    variable: str
    step: str
    fallback: str
    logger: str
    plural: bool = False
    _missing: list[str | None] = field(default_factory=list, repr=False)
    _said: set[str] = field(default_factory=set, repr=False)

    def missing(self) -> str | None:
        """Why the extension cannot be used here (``None`` when it can); tried once per process."""
        if not self._missing:
            try:
                importlib.import_module(self.module)
            except ImportError as exc:
                self._missing.append(str(exc))
            else:
                self._missing.append(None)
        return self._missing[0]

    def reset(self) -> None:
        """Forget what :meth:`missing` found and what was logged (tests that hide the extension)."""
        self._missing.clear()
        self._said.clear()

    def choose(self, requested: str | None, configured: Callable[[], str]) -> str:
        """``c`` or ``duckdb``: ``requested``, else the setting ``configured()`` returns (read only then);
        ``auto`` is ``c`` where the extension is built."""
        wanted = (requested or "").strip().lower() or configured()
        if wanted not in (*ENGINES, "auto"):
            raise ConfigError(f"engine {wanted!r} is not {self.step}: use c, duckdb or auto")
        missing = self.missing()
        verb = "are" if self.plural else "is"
        if wanted == "c" and missing:
            raise ConfigError(f"{self.variable}=c but {self.what} {verb} not built ({missing}); run `make install` "
                              f"(needs a C compiler) or use {self.variable}=duckdb")
        if wanted == "auto":
            if missing:
                if missing not in self._said:
                    self._said.add(missing)
                    logging.getLogger(self.logger).info(
                        "%s %s not built (%s): %s (slower; `make install` builds %s, %s=duckdb silences this)",
                        self.what, verb, missing, self.fallback, "them" if self.plural else "it", self.variable)
                return "duckdb"
            return "c"
        return wanted
