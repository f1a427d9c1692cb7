"""A provider outage across a DAG run's batches: each mapped ``fetch`` task of ``audio_acquire`` has its own providers,
so the run merges what its batches found down (:func:`left_over`), asks nothing of a provider an earlier batch found
down (:func:`fetch_in_run`: the batch is fetched from the others, and not at all once every one of its providers is
down), and ends as ``musim acquire`` does, with the same line (:func:`refuse_left_over`), once what was fetched is
recorded."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from musim.acquire.errors import ProvidersUnavailable
from musim.acquire.fetch import DEFAULT_CONCURRENCY, fetch_batch
from musim.config import AcquireSettings
from musim.storage import ObjectStore

__all__ = ["fetch_in_run", "left_over", "refuse_left_over"]

log = logging.getLogger(__name__)


def fetch_in_run(batch: Mapping[str, Any], earlier: Iterable[Mapping[str, Any] | None] = (), *,
                 concurrency: int = DEFAULT_CONCURRENCY, then: str | None = None,
                 settings: AcquireSettings | None = None, store: ObjectStore | None = None) -> dict[str, Any]:
    """:func:`fetch_batch` for one batch of a DAG run (a mapped ``fetch`` task, with its own providers), given the
    summaries of the run's batches fetched before it (``earlier``; ``None`` for one not fetched yet). A provider they
    found down is asked nothing, as :func:`~musim.acquire.pipeline.acquire` does within one process: the batch is
    fetched from the providers that are up, and an artist only a provider down could have answered is left for the
    next run (not journaled, no attempt counted), counted ``artists_left`` under its outage. Once every provider of the
    batch is down nothing is opened or asked: every artist is left."""
    down = left_over(s for s in earlier if s)["unavailable"]
    names = list(batch.get("providers") or ())
    skip = {name: down[name] for name in names if name in down}
    if not names or len(skip) < len(names):
        if skip:
            log.warning("acquire: batch %s does not ask %s (down since an earlier batch)", batch["batch_id"],
                        ", ".join(skip))
        return fetch_batch(batch, settings=settings, store=store, concurrency=concurrency, then=then, down=skip)
    left = len(batch.get("artists") or ())
    log.warning("acquire: batch %s not tried: %s down since an earlier batch", batch["batch_id"], ", ".join(names))
    return {"batch_id": str(batch["batch_id"]), "journals": [], "artists": 0, "counts": {"artists_left": left},
            "errors": [], "seconds": 0.0,
            "unavailable": {name: {"since": down[name]["since"], "reason": down[name]["reason"], "left": left}
                            for name in names}}


def left_over(fetched: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What providers down left of a DAG run's batches, merged over their :func:`fetch_batch` summaries (each
    mapped ``fetch`` task has its own providers, so each batch meets the outage anew): ``artists_left`` and
    ``unavailable``, provider -> ``{"since", "reason", "left"}`` (the earliest ``since`` and its reason, the artists
    left summed), as in :class:`~musim.acquire.pipeline.AcquireSummary`. JSON-serialisable, for the DAG's ``record`` summary."""
    left = 0
    unavailable: dict[str, dict[str, Any]] = {}
    for summary in fetched:
        left += int((summary.get("counts") or {}).get("artists_left", 0))
        for name, outage in (summary.get("unavailable") or {}).items():
            known = unavailable.get(name)
            if known is None or (outage.get("since") and (not known["since"] or _utc(outage["since"])
                                                          < _utc(known["since"]))):
                unavailable[name] = {"since": outage.get("since"), "reason": outage.get("reason"),
                                     "left": known["left"] if known else 0}
            unavailable[name]["left"] += int(outage.get("left") or 0)
    return {"artists_left": left, "unavailable": unavailable}


def _utc(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC)


def refuse_left_over(recorded: Mapping[str, Any]) -> None:
    """End a DAG run that left artists for the next run (a provider down: see :func:`left_over`) as ``musim acquire``
    does: raise :class:`~musim.acquire.errors.ProvidersUnavailable`, whose message is the CLI's line (``deezer
    unavailable since ... UTC (...), N artists left for the next run (not counted as failed attempts)``). Called once
    the run's journals are applied (``recorded``: the ``record`` task's summary), so nothing fetched is lost, and
    apart from the quality check and the asset event, which announce what was stored as for any partial run."""
    if recorded.get("artists_left"):
        raise ProvidersUnavailable(dict(recorded.get("unavailable") or {}))
