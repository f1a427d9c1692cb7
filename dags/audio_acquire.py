"""
### Audio acquisition

Downloads up to `per_artist` audio previews for each of the top `top_n` artists by listeners (latest
published snapshot) from the providers (Deezer, iTunes, Spotify for matching, or a local music folder)
into the object store (`audio/previews/<sha256>.<ext>`), with the state in the warehouse (`acquire_artist`,
`preview`, `track`). `plan` records the catalogue and cuts the artists with work left into batches;
`fetch` runs per batch (network and object store only, pool `audio_fetch`, one at a time so the
providers' rate limits hold); `record` applies the fetch journals. A rerun does only what is left.

When every provider refuses musim (Spotify's token URL refusing the client credentials, an API answering 401 or
403), `fetch` fails at once, without its retries, in one line naming the providers and what to set
(`MUSIM_SPOTIFY_CLIENT_ID`/`_SECRET` or the connection `musim_spotify`, `MUSIM_DEEZER_API_URL`, ...); the artists
not done stay pending. Any other error of `fetch` (the object store unreachable) is retried, twice, a minute apart;
if every try fails the run fails.

A provider that is down is no artist's failure: one that answered nothing in a batch but server errors (5xx), rate
limits (429) or network errors (connection refused, a name that does not resolve, a timeout: not reached at all), or
`MUSIM_OUTAGE_AFTER` (5) calls in a row that ended so (its circuit breaker; its API or its audio host). `fetch`
succeeds, the artists it left are not journaled (no attempt counted, they stay pending), `record` applies what was
fetched, the quality check and `emit` run as for any partial run (the **previews** event only for what was stored),
and `outage` fails the run, not retried, with the line of `musim acquire`: "deezer unavailable since 2026-01-02
03:04:05 UTC (...), N artists left for the next run (not counted as failed attempts) (not retried: the next
audio_acquire run asks them again)". Each `fetch` task has its own providers, and asks nothing of a provider an
earlier batch of the run found down: it fetches from the others (an artist only the provider down could give is
left too), and once every one of its providers is down it asks nothing at all.

`record` → `check_quality` → `emit`: the `previews` quality suite (`musim quality check --dataset previews`:
one track per stored object, content-addressed keys, durations and sample rates in range, no sha256 under two
tracks) must pass before the **previews** asset is emitted, which schedules feature extraction; if it fails,
the task log names the failed expectations with examples and links the **Data Docs**. A run that stored no
preview ends `emit` skipped, with no **previews** event.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Metadata, Param, dag, task

from musim.assets import FOLDER_PATTERN, asset
from musim.config import KNOWN_PROVIDERS
from musim.params import MAX_COUNT

PREVIEWS = asset("previews")


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["musim", "audio", "acquire"],
    doc_md=__doc__,
    params={
        "top_n": Param(1000, type="integer", minimum=1, maximum=MAX_COUNT, description="Catalogue: the top N artists by listeners"),
        "providers": Param(None, type=["null", "array"], items={"enum": list(KNOWN_PROVIDERS)}, uniqueItems=True,
                           description="Providers in order, e.g. [\"deezer\", \"itunes\"] or [\"local\"] "
                                       "(default: $MUSIM_ACQUIRE_PROVIDERS)"),
        "per_artist": Param(3, type="integer", minimum=1, maximum=1000,
                            description="Previews per artist, most popular first (a local folder: its tracks)"),
        "local_path": Param(None, type=["null", "string"], pattern=FOLDER_PATTERN,  # an absolute folder: no URL
                            description="Absolute path of the local music folder for the local provider (default: "
                                        "$MUSIM_LOCAL_MUSIC_DIR)"),
        "batch_size": Param(25, type="integer", minimum=1, maximum=MAX_COUNT, description="Artists per mapped fetch task"),
        "concurrency": Param(4, type="integer", minimum=1, maximum=256, description="Artists fetched at once per task"),
        "max_attempts": Param(3, type="integer", minimum=1, maximum=1000, description="Retry failures while attempts are below this"),
        "retry": Param(False, type="boolean",
                       description="Also re-plan artists given up (no match, no preview, only rejects) or failed "
                                   "past max_attempts, as `musim acquire --retry`"),
    },
)
def audio_acquire():
    @task(pool="duckdb_writer")
    def plan(params=None, dag=None) -> list[dict]:
        from pathlib import Path

        from airflow.sdk.exceptions import AirflowFailException

        from musim.acquire.pipeline import plan
        from musim.assets import expand_folder, refuse_relative, refused_conf
        from musim.errors import ConfigError, ParameterError, refuse_blank

        def check(p: dict) -> None:  # "" or [] (a conf made from an unset variable) is not "the default"
            give = "a local music folder the worker can read, or null for $MUSIM_LOCAL_MUSIC_DIR"
            refuse_blank(p["local_path"], "the local_path param", give)
            # a relative folder is read from the worker's working folder, a different one on each worker
            refuse_relative(p["local_path"], "local_path", "an absolute path (~ is expanded)")
            # no such folder (an s3:// URL is none): the provider's ConfigError traceback named `--path`
            if p["local_path"] is not None and not Path(p["local_path"]).expanduser().is_dir():
                raise ParameterError(f"the local_path param {p['local_path']!r} is no folder on the worker: give "
                                     f"{give}; nothing was done, trigger it again")
            if p["providers"] is not None and not p["providers"]:
                raise ParameterError("the providers param is empty (an unset variable?): give providers in order, "
                                     "e.g. [\"deezer\", \"itunes\"], or null for $MUSIM_ACQUIRE_PROVIDERS")

        if refused := refused_conf(dag, params, check):  # a key that is no param (a typo) is not ignored in silence
            raise AirflowFailException(refused)
        try:
            return plan(params["top_n"], per_artist=params["per_artist"], batch_size=params["batch_size"],
                        max_attempts=params["max_attempts"], providers=params["providers"] or None,
                        local_dir=expand_folder(params["local_path"]) or None,
                        retry=bool(params.get("retry")))
        except ConfigError as exc:  # a setting no provider can run with ($MUSIM_LOCAL_MUSIC_DIR missing): one line
            raise AirflowFailException(f"{exc} (not retried: fix it, then trigger audio_acquire again)") from None

    @task(pool="audio_fetch", max_active_tis_per_dag=1, retries=2, retry_delay=pendulum.duration(minutes=1))
    def fetch(batch: dict, params=None, ti=None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from musim.acquire.errors import task_then
        from musim.acquire.outage import fetch_in_run
        from musim.errors import ConfigError, ParameterError

        # an outage's message says whether this try is retried (not on the last: what to do then)
        then = task_then(ti.try_number, ti.max_tries) if ti is not None else None
        # the batches fetched before this one (one at a time, in no set order): every map index's summary so far;
        # a provider they found down is asked nothing more (once every one is, nothing at all)
        pull = getattr(ti, "xcom_pull", None)
        earlier = pull(task_ids="fetch") if pull is not None else None
        try:
            return fetch_in_run(batch, [earlier] if isinstance(earlier, dict) else list(earlier or []),
                                concurrency=params["concurrency"], then=then)
        except (ConfigError, ParameterError) as exc:  # every provider refused musim (NoProviderLeft), a bad setting:
            # no retry can pass until it is fixed, so none is spent (a provider down, unreachable included, is no
            # error here: its artists are left and the `outage` task fails the run)
            raise AirflowFailException(f"{exc} (not retried: fix it, then trigger audio_acquire again)") from None

    @task(pool="duckdb_writer", trigger_rule="none_failed")
    def record(fetched, params=None) -> dict:
        from musim.acquire.outage import left_over
        from musim.acquire.pipeline import record, status_counts

        fetched = list(fetched or [])
        applied = record(fetched, max_attempts=params["max_attempts"])
        totals = status_counts()
        return {"batches": len(fetched), "journals": applied["journals"], **applied["previews"],
                "tracks": totals["tracks"], "artists_with_tracks": totals["artists_with_tracks"],
                **{f"artists_{k}": v for k, v in totals["artists"].items()}, **left_over(fetched)}

    @task(pool="duckdb_writer")
    def check_quality(recorded: dict) -> dict:
        from musim.quality.gates import PREVIEWS_DATASETS, gate_task

        return gate_task(PREVIEWS_DATASETS, None)

    @task(outlets=[PREVIEWS])
    def emit(recorded: dict, quality: dict):
        from airflow.sdk.exceptions import AirflowSkipException

        from musim.acquire.pipeline import has_new_previews

        if not has_new_previews(recorded):  # a success would announce the asset all the same
            raise AirflowSkipException("no preview was stored: no previews event")
        yield Metadata(PREVIEWS, extra={**recorded, "quality_run": quality["run_id"]})
        return recorded

    @task(retries=0)
    def outage(recorded: dict) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from musim.acquire.errors import ProvidersUnavailable
        from musim.acquire.outage import refuse_left_over

        try:
            refuse_left_over(recorded)
        except ProvidersUnavailable as exc:  # no retry can bring the provider back: the next run asks them again
            raise AirflowFailException(f"{exc} (not retried: the next audio_acquire run asks them again)") from None

    recorded = record(fetch.expand(batch=plan()))
    emit(recorded, check_quality(recorded))
    outage(recorded)  # beside the gate and the event: what was stored is announced, the run still fails

audio_acquire()
