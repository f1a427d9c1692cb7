"""
### Library scan

Adds the music dropped in the library landing area (`$MUSIM_LIBRARY_LANDING`, default
`$MUSIM_HOME/landing/library`: a folder, or an object-store prefix such as `s3://bucket/music/` like
`lastfm_ingest`'s landing, mirrored locally and downloading only new or changed objects) to the library, as
`musim library add` does: every file is stored (its 30-s analysis excerpt, FLAC), already stored, or skipped
with a reason (`musim library skipped`); artists come from tags, then folders. Library artists need no
listening data.

`scan` → `has_new` → `check_quality` → `emit`: when the scan stored new tracks, the `previews` quality
suite must pass before the **previews** asset is emitted, which schedules feature extraction
(`audio_features`) and, after it, the families that need no listening data. A scan that stores nothing
stops at `has_new` (no asset event, nothing downstream runs).

A `folder` the scan cannot read (no such folder, an `s3://` prefix without credentials; a URL other than `s3://` or
`file://` is refused when the run is triggered) fails `scan` at once in one line naming the param, nothing added. So
does a relative `folder` (`music/new`, which each worker would read from its own working folder): give an absolute
path (`~` is expanded) or an `s3://` URL.

**A failed gate.** The scan commits its tracks before they are judged: a failed `check_quality` leaves them stored
(`musim quality report --dataset previews`, the task's **Data Docs** link) but unannounced, and a later scan that finds
nothing else new announces nothing either (clearing the whole run, `scan` included, ends it green without an event:
its tracks are stored already). Fix the cause, then clear `check_quality` (with its downstream) to re-judge and emit.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task

from musim.assets import FOLDER_OR_PREFIX_PATTERN, asset

PREVIEWS = asset("previews")


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "library", "audio"],
    doc_md=__doc__,
    params={
        "folder": Param(None, type=["null", "string"], pattern=FOLDER_OR_PREFIX_PATTERN,
                        description="Absolute folder path or object-store prefix (s3://bucket/prefix or "
                                    "file:///path) to scan (default: $MUSIM_LIBRARY_LANDING, e.g. "
                                    "/srv/musim/landing/library)"),
        "retry": Param(False, type="boolean", description="Examine files skipped before again, even if unchanged"),
    },
)
def library_scan():
    @task(pool="duckdb_writer")
    def scan(params=None, dag=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from musim.assets import refuse_relative, refused_conf
        from musim.errors import refuse_blank
        from musim.library.landing import UnreadableLanding, scan_landing
        from musim.redact import redact
        from musim.storage import StorageUnavailable

        params = params or {}
        accepted = "a folder or object-store prefix (s3://bucket/prefix, file:///path) the worker can read, or " \
                   "null for $MUSIM_LIBRARY_LANDING"
        def check(p: dict) -> None:
            # "" (a conf made from an unset variable) is no folder, not "the landing folder"
            refuse_blank(p.get("folder"), "the folder param", accepted)
            # a relative folder is read from the worker's working folder, a different one on each worker
            refuse_relative(p.get("folder"), "folder", "an absolute path (~ is expanded), or an s3:// URL "
                            "(s3://bucket/prefix)")

        # a key of the conf that is no param (a typo) is not ignored in silence
        if refused := refused_conf(dag, params, check):
            raise AirflowFailException(refused)
        try:
            return scan_landing(params.get("folder"), retry=bool(params.get("retry")))
        except StorageUnavailable as exc:  # an outage: the next hourly scan tries again
            raise AirflowFailException(redact(f"{exc} (the next scan tries again)")) from None
        except UnreadableLanding as exc:  # no such folder, gs://, an S3 prefix without credentials: no retry mends it
            fix = (f"the folder param cannot be scanned ({exc}): give {accepted}" if params.get("folder") else
                   f"$MUSIM_LIBRARY_LANDING cannot be scanned ({exc}): set it to a folder or object-store prefix the "
                   "worker can read, or give the folder param")
            raise AirflowFailException(redact(f"{fix}; nothing was added (not retried)")) from None

    @task.short_circuit
    def has_new(summary: dict) -> bool:
        from musim.library.landing import has_new_audio

        return has_new_audio(summary)

    @task(pool="duckdb_writer")
    def check_quality(summary: dict) -> dict:
        from musim.quality.gates import PREVIEWS_DATASETS, gate_task

        return gate_task(PREVIEWS_DATASETS, None)

    @task(outlets=[PREVIEWS])
    def emit(summary: dict, quality: dict):
        yield Metadata(PREVIEWS, extra={k: summary[k] for k in ("files", "stored", "already_stored", "reread", "artists")}
                       | {"skipped": len(summary["skipped"]), "source": "library", "quality_run": quality["run_id"]})
        return summary

    summary = scan()
    gate = has_new(summary)
    quality = check_quality(summary)
    gate >> quality
    emit(summary, quality)


library_scan()
