"""Thresholds of the quality suites: one frozen dataclass, every field overridable from the environment.

===============================================  ==========  ==============================================================
variable                                         default     meaning
===============================================  ==========  ==============================================================
``MUSIM_QUALITY_MAX_REJECT_SHARE``               0.01        rejected plays/events lines of a dump, as a share of its lines
``MUSIM_QUALITY_MAX_PROFILE_REJECT_SHARE``       0.01        rejected profile lines, as a share of the profile lines
``MUSIM_QUALITY_PROFILE_MOSTLY``                 0.95        share of profile values that must look sane (age, gender, signup)
``MUSIM_QUALITY_TRAINING_FEATURE_MOSTLY``        0.9         share of catalogue tracks each training feature must cover
``MUSIM_QUALITY_TRAINING_MIN_TEST_ARTISTS``      5           a model run's test side needs this many artists
``MUSIM_QUALITY_TRAINING_MIN_POSITIVE_SHARE``    0.01        share of training pairs that must have co-listeners
``MUSIM_QUALITY_FULL_ROWS_MAX``                  250000      tables up to this many rows are validated row by row entirely
``MUSIM_QUALITY_SAMPLE_ROWS``                    100000      larger tables: rows of the reservoir sample GX validates
``MUSIM_QUALITY_BATCH_ROWS``                     100000      rows per DataFrame handed to GX
``MUSIM_QUALITY_SCORE_TOLERANCE``                1e-9        largest difference between two scores that must be equal
``MUSIM_QUALITY_EXAMPLES``                       5           example bad values kept per failed expectation
``MUSIM_QUALITY_OBJECT_SAMPLE``                  20          stored objects opened per run (feature tensors)
``MUSIM_QUALITY_SEED``                           42          seed of the reservoir samples (same data -> same sample)
===============================================  ==========  ==============================================================

Whole-table invariants (counts, uniqueness, ranges, symmetry) are computed in SQL on *every* row whatever
these say; only GX's row-by-row pass is sampled above ``full_rows_max``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from musim.errors import ConfigError

ENV_PREFIX = "MUSIM_QUALITY_"


@dataclass(frozen=True)
class QualityThresholds:
    """What the suites accept, and how much GX validates row by row."""

    max_reject_share: float = 0.01
    max_profile_reject_share: float = 0.01
    profile_mostly: float = 0.95
    training_feature_mostly: float = 0.9
    training_min_test_artists: int = 5
    training_min_positive_share: float = 0.01
    full_rows_max: int = 250_000
    sample_rows: int = 100_000
    batch_rows: int = 100_000
    score_tolerance: float = 1e-9
    examples: int = 5
    object_sample: int = 20
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("max_reject_share", "max_profile_reject_share", "profile_mostly", "training_feature_mostly",
                     "training_min_positive_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"quality threshold {name} must be between 0 and 1, got {value}")
        for name in ("full_rows_max", "sample_rows", "batch_rows", "examples", "training_min_test_artists"):
            if getattr(self, name) < 1:
                raise ConfigError(f"quality setting {name} must be >= 1, got {getattr(self, name)}")
        if self.object_sample < 0 or self.score_tolerance < 0:
            raise ConfigError("quality settings object_sample and score_tolerance must be >= 0")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> QualityThresholds:
        """Defaults, then ``MUSIM_QUALITY_<FIELD>`` variables, then ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw.strip() == "":
                continue
            kind = int if f.type in ("int", int) else float
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise ConfigError(f"{ENV_PREFIX}{f.name.upper()} must be a{'n integer' if kind is int else ' number'}, "
                                  f"got {raw!r}") from None
        return replace(cls(), **values, **overrides)  # type: ignore[arg-type]
