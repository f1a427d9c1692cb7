"""
### Last.FM ingest

Looks for new Last.FM dumps in the landing area (`$MUSIM_LANDING`, one dump per folder: the 360K
`usersha1-artmbid-artname-plays.tsv[.gz]` with its `usersha1-profile.tsv[.gz]`, or the 1K events file, or
an archive as distributed, `lastfm-dataset-360K.tar.gz`)
and ingests each new one into the DuckDB warehouse, once. Every line is loaded or rejected with a reason
(`musim rejects`). Emits the **lastfm_plays** asset, which schedules `artist_similarity`.

Per dump: `ingest` → `check_quality` → `emit`.

A landing folder that does not exist (the `landing` param, or `$MUSIM_LANDING`), or an object-store URL that cannot be
one (`s3://Bad_Bucket/`, `ftp://...`: a `landing` param other than `s3://` or `file://` is refused when the run is
triggered) or cannot be listed (no credentials), fails `find_new_dumps` at once in one line ending "(not retried)": its
retries are for a warehouse held by another writer, and a store that cannot be reached. A relative `landing` param
(`landing/lastfm`, which each worker would read from its own working folder) is refused the same way: give an absolute
path (`~` is expanded) or an `s3://` URL.

**Files it does not take.** The scan goes by file names (the CLI, `musim ingest lastfm FILE`, also by content): a
file in the landing area that is no dump's (`plays.tsv`, `...plays.tsv.bz2`, `.tsv.xz`) is named in
`find_new_dumps`'s log with a warning saying what to do (rename, gzip, or ingest it with the CLI), once, by the
scan that first finds it. A gunzipped copy beside its `.gz` is the same dump, taken once (one `ingest` task; both
files are remembered); two different dumps sharing one profiles file are refused (their `ingest` task
fails naming them) rather than ingested without it.

**Quality gate.** The ingest commits on its own (one transaction per dump), so a dump is in the warehouse
before it is judged. `check_quality` then runs the `lastfm_plays`, `lastfm_profiles` and `artists` suites
(`musim quality check`); only if they pass does `emit` announce the **lastfm_plays** asset. A dump that
fails stays in the warehouse for inspection (`musim quality report`, `musim rejects`, the task's
**Data Docs** link) but is *quarantined*: no asset event, so `artist_similarity` does not run, no new
similarity is built from it and the published snapshot keeps serving the previous build. The landing
file is remembered, so the next hourly run does not ingest it again; fix the cause (e.g. raise
`MUSIM_QUALITY_MAX_REJECT_SHARE` if the rejects are acceptable) and clear `check_quality` to re-judge and
emit. Each dump is gated on its own: one bad dump does not hold back another.

**Nothing new, no event.** A landed dump whose content was ingested and judged before (the same dump dropped
again under another name or folder) is found "already ingested": `check_quality` and `emit` end *skipped*, and no
**lastfm_plays** event triggers `artist_similarity` for nothing. A profiles file loaded into a dump ingested
before is new: it is judged and announced; so is a dump the gate never judged (ingested by hand, or a run cut off
after its ingest committed: clear its `ingest` task).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task, task_group

from musim.assets import FOLDER_OR_PREFIX_PATTERN, asset

LASTFM_PLAYS = asset("lastfm_plays")
SETTLE_MAX_S = 86400


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "lastfm", "ingest"],
    doc_md=__doc__,
    params={
        "landing": Param(None, type=["null", "string"], pattern=FOLDER_OR_PREFIX_PATTERN,
                         description="Absolute landing folder path or object-store prefix (s3://bucket/prefix or "
                                     "file:///path) to scan (default: $MUSIM_LANDING, e.g. "
                                     "/srv/musim/landing/lastfm)"),
        "settle_s": Param(None, type=["null", "number"], minimum=0, maximum=SETTLE_MAX_S,
                          description="Take dumps whose files have not changed for this many seconds (default: "
                                      "$MUSIM_LANDING_SETTLE_S, 60); 0 once a copy is known to be complete"),
    },
)
def lastfm_ingest():
    # it reads the warehouse (and writes it to remember files it reports): in the pool, so it waits for a build
    # rather than failing on its lock, and retries a busy lock
    @task(pool="duckdb_writer", retries=2, retry_delay=pendulum.duration(minutes=1))
    def find_new_dumps(params=None, dag=None) -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException

        from musim.assets import expand_folder, refuse_relative, refused_conf
        from musim.errors import ConfigError, NotFoundError, ParameterError, StorageError, refuse_blank
        from musim.ingest.landing import new_dumps
        from musim.storage import StorageUnavailable

        def check(p: dict) -> None:
            refuse_blank(p.get("landing"), "the landing param", "a landing folder, or null for $MUSIM_LANDING")
            # a relative folder is read from the worker's working folder, a different one on each worker
            refuse_relative(p.get("landing"), "landing", "an absolute path (~ is expanded), or an s3:// URL "
                            "(s3://bucket/prefix)")
            settle = p.get("settle_s")  # NaN passes the param's schema (no bound compares true) and took every dump
            if settle is not None and (isinstance(settle, bool) or not isinstance(settle, int | float)
                                       or not 0 <= settle <= SETTLE_MAX_S):
                raise ParameterError(f"the settle_s param must be seconds from 0 to {SETTLE_MAX_S}, or null for "
                                     f"$MUSIM_LANDING_SETTLE_S; got {settle!r}: nothing was done")

        params = params or {}
        # a key of the conf that is no param (a typo) is not ignored in silence; "" (a conf made from an unset
        # variable) is no folder, not "the landing folder"
        if refused := refused_conf(dag, params, check):
            raise AirflowFailException(refused)
        try:
            landing = expand_folder(params.get("landing"))
            return [d.to_json() for d in new_dumps(landing, settle_s=params.get("settle_s"))]
        except StorageUnavailable:
            raise  # the store cannot be reached: retried
        except (ConfigError, NotFoundError, StorageError) as exc:  # no such landing folder, a bad landing URL
            # (`s3://Bad_Bucket`, an ftp:// one), an S3 prefix without credentials or with no such bucket: no retry
            # mends it, so none is spent (a busy warehouse is retried)
            raise AirflowFailException(f"{exc} (not retried)") from None

    @task(pool="duckdb_writer", max_active_tis_per_dag=1)
    def ingest(dump: dict) -> dict:
        from musim.ingest.landing import ingest_landed

        return ingest_landed(dump).to_json()

    @task(pool="duckdb_writer")
    def check_quality(summary: dict) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from musim.ingest.landing import nothing_new
        from musim.quality.gates import INGEST_DATASETS, gate_task

        if why := nothing_new(summary):  # a dump ingested and judged before: nothing downstream to do
            raise AirflowSkipException(why)
        return gate_task(INGEST_DATASETS, summary["dump_id"])

    @task(outlets=[LASTFM_PLAYS])
    def emit(summary: dict, quality: dict):
        yield Metadata(LASTFM_PLAYS, extra={k: summary[k] for k in (
            "dump_id", "format", "lines", "loaded", "rejected", "users", "artists", "already_ingested")}
            | {"quality_run": quality["run_id"]})
        return summary

    @task_group(prefix_group_id=False)
    def per_dump(dump: dict):
        summary = ingest(dump)
        emit(summary, check_quality(summary))

    per_dump.expand(dump=find_new_dumps())


lastfm_ingest()
