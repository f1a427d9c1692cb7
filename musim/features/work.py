"""What a feature build works on and gives: build options, work items (one distinct audio each), the plan, one
item's result and the build's summary."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from musim.audio.formats import MIN_DURATION_S
from musim.features.params import Extractor
from musim.params import Count, NonNegativeFloat, NonNegativeInt, NotBool, params_record

log = logging.getLogger(__name__)

__all__ = ["BuildOptions", "BuildResult", "ItemResult", "MANIFEST_PREFIX", "MISSING_OBJECT", "Plan", "WorkItem"]

MISSING_OBJECT = "missing object"
MANIFEST_PREFIX = "features/runs"


@params_record("build option")
class BuildOptions:
    """How a build runs (none of this changes the features, so none of it is in a parameter hash).

    Parameters
    ----------
    workers : int or None
        Worker processes (default: every CPU this process may use; 1 = compute in this process).
    batch_size : int
        Audio items per batch: per recorded transaction (CLI) or per mapped task (DAG).
    min_duration_s : float
        Reject audio shorter than this (after the excerpt window) as too short.
    silence_db : float or None
        Reject audio quieter than this RMS level (dBFS) as silent.
    limit : int or None
        Compute at most this many audio items in this run (the rest waits for the next one).
    progress : bool or None
        Show a tqdm progress bar (default: when stderr is a terminal).
    """

    workers: Count | None = None
    batch_size: Count = 64
    min_duration_s: NonNegativeFloat = MIN_DURATION_S
    silence_db: Annotated[float, NotBool] | None = -60.0
    limit: NonNegativeInt | None = None
    progress: bool | None = None


@dataclass(frozen=True)
class WorkItem:
    """One distinct audio to analyse: where it is, which window, which extractors, which tracks it serves."""

    audio_id: str
    sha256: str
    object_key: str
    offset_s: float
    duration_s: float | None  # None: the whole stored file
    track_ids: tuple[str, ...]
    extractors: tuple[str, ...]  # params hashes

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["track_ids"], d["extractors"] = list(self.track_ids), list(self.extractors)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> WorkItem:
        return cls(d["audio_id"], d["sha256"], d["object_key"], float(d["offset_s"]),
                   None if d["duration_s"] is None else float(d["duration_s"]), tuple(d["track_ids"]),
                   tuple(d["extractors"]))


@dataclass
class Plan:
    """What a run will compute."""

    run_id: str
    extractors: list[Extractor]
    items: list[WorkItem]
    tracks: int
    reused: int
    preview_set: str
    dump_id: str | None
    views: list[str] = field(default_factory=list)

    def batches(self, size: int, options: BuildOptions | None = None) -> list[dict[str, Any]]:
        """The items cut into JSON batches (the DAG's mapped-task inputs)."""
        opts = options or BuildOptions()
        return [{"run_id": self.run_id, "batch_no": i // size,
                 "extractors": [e.to_json() for e in self.extractors],
                 "min_duration_s": opts.min_duration_s, "silence_db": opts.silence_db,
                 "items": [it.to_json() for it in self.items[i:i + size]]}
                for i in range(0, len(self.items), size)]


@dataclass
class ItemResult:
    """What one work item gave: per extractor hash, a tensor's stored object or a descriptor row; or a rejection."""

    item: WorkItem
    outputs: dict[str, dict[str, Any]]
    reject: tuple[str, str] | None = None


@dataclass
class BuildResult:
    run_id: str
    tracks: int
    planned: int
    computed: int
    reused: int
    rejected: int
    rejects_by_reason: dict[str, int]
    materialised: dict[str, int]
    published: list[str]
    seconds: float
    views: list[str]
    #: The features quality gate the publish passed (run id, Data Docs URL, status per dataset); None when
    #: nothing was published or the gate was skipped.
    quality: dict[str, Any] | None = None
    #: The tracks rejected per reason, each once (``rejected`` and ``rejects_by_reason`` count rows: one per track
    #: and extractor, so one bad file is 3 rejections of a build of every view).
    rejected_tracks: dict[str, int] = field(default_factory=dict)
    #: Feature rows a recompute (``recompute=``) found unchanged: kept as they were (their build and moment), not
    #: counted in ``computed``, which counts the rows written anew.
    unchanged: int = 0
    #: Tracks a recompute could not compute again (their preview is missing from the object store): their rows stay.
    skipped: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


