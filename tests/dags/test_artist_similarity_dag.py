"""Which dumps an artist_similarity run builds: each one its triggering lastfm_plays events announce."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from musim import warehouse
from musim.assets import announced_dumps
from musim.ingest.lastfm import ingest_lastfm
from tests.lastfm_files import tiny_dump

REPO = Path(__file__).resolve().parents[2]

# The DAG's `dumps` task, called with Airflow's own accessor of triggering events (as the task runner builds it)
CHILD = r"""
import datetime as dt, json, sys
from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor
sys.path.insert(0, "dags")
import artist_similarity as module

def event(name, dump_id, minute):
    return AssetEventDagRunReferenceResult(
        asset={"name": name, "uri": f"musim://warehouse/{name}", "extra": {}}, extra={"dump_id": dump_id},
        source_task_id="emit", source_dag_id="lastfm_ingest", source_run_id="r", source_map_index=-1,
        source_aliases=[], timestamp=dt.datetime(2026, 12, 5, 1, minute, tzinfo=dt.UTC))

dumps = module.artist_similarity().get_task("dumps").python_callable
events = TriggeringAssetEventsAccessor.build([event("lastfm_plays", "b" * 64, 7), event("lastfm_plays", "a" * 64, 3),
                                              event("lastfm_plays", "b" * 64, 9)])
print(json.dumps([dumps(params={"dump_id": None}, triggering_asset_events=events),
                  dumps(params={"dump_id": "c1"}, triggering_asset_events=events),
                  dumps(params={"dump_id": None}, triggering_asset_events=TriggeringAssetEventsAccessor.build([]))]))
"""


def _child_answer(tmp_path, code: str, *, timeout: int, env: dict[str, str] | None = None):
    """Run ``code`` in a child Python with an Airflow home of its own (no metadata DB is used) and return the JSON
    of its last stdout line (``env``: its environment, default this process's)."""
    env = dict(env or os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'never-used.db'}", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_run_builds_every_dump_its_events_announce(tmp_path):
    from_events, by_hand, no_event = _child_answer(tmp_path, CHILD, timeout=180)
    assert from_events == ["a" * 64, "b" * 64]  # both dumps, oldest first, once each (not only the latest)
    assert by_hand == ["c1"] and no_event == [None]  # the param wins; a run started by hand: the latest dump


def test_announced_dumps_orders_by_event_time_and_skips_events_without_a_dump():
    t = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    events = [SimpleNamespace(extra={"dump_id": "new"}, timestamp=t + dt.timedelta(minutes=5)),
              SimpleNamespace(extra={}, timestamp=t), SimpleNamespace(extra=None, timestamp=t),
              SimpleNamespace(extra={"dump_id": "old"}, timestamp=t),
              SimpleNamespace(extra={"dump_id": "late"}, timestamp=None)]
    assert announced_dumps(events) == ["old", "new", "late"]
    assert announced_dumps(None) == [] and announced_dumps([]) == []


# The DAG's build, check_quality and publish tasks on a dump built, checked and published already, as a rerun calls
# them: with the `force` param false, then true.
RERUN = r"""
import json, sys
from airflow.sdk.exceptions import AirflowSkipException
sys.path.insert(0, "dags")
import artist_similarity as module
import musim.models.serve as serve

mended = []  # each publish moves the online lookup pointers to what it serves
serve.mend_online_pointers = lambda con, settings=None, _real=serve.mend_online_pointers: mended.append(1) or \
    _real(con, settings)

dag = module.artist_similarity()
build, check, publish = (dag.get_task(t).python_callable for t in ("build", "check_quality", "publish"))
params = {"min_listeners": 1, "min_co_listeners": 1, "k": 5, "catalogue_size": 1000}
rerun = build(None, params=params | {"force": False})
checked = check(rerun)
try:
    next(publish([rerun], [checked]))
    skipped = False
except AirflowSkipException:
    skipped = True
forced = build(None, params=params | {"force": True})
print(json.dumps([rerun, checked, skipped, forced, len(mended)]))
"""


def test_a_rerun_builds_nothing_unless_forced(tmp_path):
    """A cleared and rerun artist_similarity DAG rebuilt, re-checked and republished the same build."""
    from musim.cli import main

    dump = ingest_lastfm(tiny_dump(tmp_path / "d.tsv")).dump_id
    assert main(["similarity", "build", "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5"]) == 0
    with warehouse.writer() as con:
        built, check_run = con.execute("SELECT built_at, check_run_id FROM similarity_build_state").fetchone()
    rerun, checked, skipped, forced, mended = _child_answer(tmp_path, RERUN, timeout=300)
    assert rerun["dump_id"] == dump and rerun["built_before"] and rerun["check_run"] == check_run
    assert checked["run_id"] == check_run and skipped  # no new check, no publish (no asset event downstream)
    assert mended == 0
    assert forced["built_before"] is None
    with warehouse.writer() as con:
        assert con.execute("SELECT built_at FROM similarity_build").fetchone()[0] > built


def test_a_rerun_after_an_upgrade_builds_checks_and_publishes_again(tmp_path):
    """The no-op compared parameters only: a build that other code made (before an upgrade) stood on every rerun."""
    from musim.cli import main

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    assert main(["similarity", "build", "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5"]) == 0
    with warehouse.writer() as con:
        con.execute("UPDATE similarity_build SET code_fingerprint = ?", ["0" * 64])  # made by other code
        built, check_run = con.execute("SELECT built_at, check_run_id FROM similarity_build_state").fetchone()
    rerun, checked, skipped, _, mended = _child_answer(tmp_path, RERUN, timeout=300)
    assert rerun["built_before"] is None and "built by other code (fingerprint 000000000000… vs " in \
        rerun["rebuilt_because"]
    assert checked["run_id"] != check_run and not skipped  # checked and published again
    assert mended == 1  # the DAG's publish moved the online lookup pointers too


# The DAG's publish task while a rollback pins the served snapshot: what it raises, and what musim.serving said.
PINNED = r"""
import json, logging, sys
from airflow.sdk.exceptions import AirflowSkipException
sys.path.insert(0, "dags")
import artist_similarity as module

said = []
handler = logging.Handler()
handler.emit = lambda record: said.append(record.getMessage())
logging.getLogger("musim.serving").addHandler(handler)
dag = module.artist_similarity()
build, check, publish = (dag.get_task(t).python_callable for t in ("build", "check_quality", "publish"))
params = {"min_listeners": 1, "min_co_listeners": 1, "k": 5, "catalogue_size": 1000, "force": False}
built = build(None, params=params)
checked = check(built)
try:
    next(publish([built], [checked]))
    outcome = "an asset event"
except AirflowSkipException as exc:
    outcome = "skipped: " + str(exc)
print(json.dumps([outcome, said]))
"""


def test_a_publish_under_a_rollback_pin_writes_its_snapshot_and_skips_without_an_event(tmp_path):
    """The nightly publish switched current straight back from the snapshot an operator had rolled back to. Under
    the pin it writes its snapshot, says so in one line and ends skipped: no failure, no artist_similarity event
    for a state that is not served."""
    from musim import serving
    from musim.cli import main

    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))
    assert main(["publish"]) == 0  # the dump, before any build
    before = serving.current_path()
    assert main(["similarity", "build", "--min-listeners", "1", "--min-co-listeners", "1", "--k", "5"]) == 0
    assert main(["publish", "--rollback", before.name]) == 0  # the build was bad: back, and pinned
    outcome, said = _child_answer(tmp_path, PINNED, timeout=300)
    newest = max(before.parent.glob("snapshot-*.duckdb"))
    assert outcome == (f"skipped: {newest.name} is written but not served (a rollback pins the current snapshot): "
                       "no artist_similarity event")
    assert len(said) == 1 and said[0].startswith(f"wrote {newest.name}, but current stays on {before.name}")
    assert serving.current_path() == before


# The DAG's build task as the task runner calls it: an unknown dump, then (the warehouse held by another process) the
# latest; what each raised.
BUILD = r"""
import json, sys
sys.path.insert(0, "dags")
import artist_similarity as module

build = module.artist_similarity().get_task("build").python_callable
params = {"min_listeners": 1, "min_co_listeners": 1, "k": 5, "catalogue_size": 1000, "force": False}
try:
    build(sys.argv[1] or None, params=params)
    print(json.dumps(["built", ""]))
except Exception as exc:
    print(json.dumps([type(exc).__name__, str(exc)]))
"""


def test_a_busy_warehouse_is_retried_and_an_unknown_dump_is_not(tmp_path):
    """A command holding the warehouse past the writer's wait failed the build for good (no retries): the lastfm_plays
    event that started the run is not sent again, so the dump stayed unbuilt. A busy warehouse is retried now, and an
    error no retry can mend (an unknown dump) fails at once, without spending the retries."""
    ingest_lastfm(tiny_dump(tmp_path / "d.tsv"))

    def child(dump: str) -> list[str]:
        env = dict(os.environ, MUSIM_WAREHOUSE_LOCK_WAIT_S="0.2")
        return _child_answer(tmp_path, BUILD.replace("sys.argv[1]", repr(dump)), timeout=300, env=env)

    kind, message = child("nope")
    assert kind == "AirflowFailException"
    assert message.startswith("dump id 'nope' matches no dump; known dumps: ") and message.endswith(" (not retried)")
    with warehouse.writer():  # another process holds the warehouse (a long command)
        kind, message = child("")
    assert kind == "BusyError" and "is held by pid" in message
    assert child("")[0] == "built"  # once it is free


# A whole run (dag.test()) whose events announce two dumps, the first without a co-listened pair at these params.
TWO_DUMPS = r"""
import json, sys
sys.path.insert(0, "dags")
import musim.assets
musim.assets.announced_dumps = lambda events: DUMPS  # what the run's two lastfm_plays events announce
import artist_similarity as module

module.artist_similarity().test(run_conf={"min_listeners": 1, "min_co_listeners": 2, "k": 5})
print(json.dumps("ran"))
"""


@pytest.mark.slow
def test_a_dump_without_pairs_fails_the_run_but_the_other_dumps_build_is_published(tmp_path, airflow):
    """Two dumps announced, one with no co-listened pair: its build failed, so check_quality and publish were
    upstream_failed and the good dump's build stayed unpublished until a later run. Now the good build is checked and
    published (the artist_similarity event says so), and the run still fails: its failed build, in one line."""
    from musim import serving
    from musim.similarity.query import similar_artists
    from tests.dags.airflow_db import airflow_db
    from tests.lastfm_files import U1, U2, U3, write_lines

    env, _ = airflow
    lonely = ingest_lastfm(write_lines(tmp_path / "lonely.tsv", [f"{U1}\t\tSolo X\t3", f"{U1}\t\tSolo Y\t2",
                                                                   f"{U2}\t\tSolo Z\t4", f"{U3}\t\tSolo X\t1"])).dump_id
    good = ingest_lastfm(tiny_dump(tmp_path / "d.tsv")).dump_id
    proc = subprocess.run([sys.executable, "-c", TWO_DUMPS.replace("DUMPS", repr([lonely, good]))], cwd=REPO,
                          env=dict(env, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip().endswith('"ran"'), proc.stderr[-3000:]
    said = proc.stdout + proc.stderr
    assert f"no co-listened pairs in dump {lonely[:12]}" in said and "(not retried)" in said
    states = dict(((t, i), s) for t, i, s in airflow_db(env, "SELECT task_id, map_index, state FROM task_instance"))
    assert states[("build", 0)] == "failed" and states[("build", 1)] == "success", states
    assert states[("check_quality", 0)] == "success" and states[("publish", -1)] == "success", states
    assert states[("failed", -1)] == "failed", states
    assert airflow_db(env, "SELECT state FROM dag_run") == [("failed",)]
    extra = airflow_db(env, "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                            "WHERE a.name = 'artist_similarity'")
    assert len(extra) == 1 and json.loads(extra[0][0])["dumps"] == [good]
    with serving.open_snapshot() as con:
        assert [n.artist for n in similar_artists(con, "Artist A", k=5).neighbors] == ["Artist B"]
        assert con.execute("SELECT dump_id FROM similarity_build").fetchall() == [(good,)]


# publish (trigger rule all_done) after a build whose check_quality failed: it pushed no result for that dump
UNCHECKED = r"""
import json, sys
from airflow.sdk.exceptions import AirflowSkipException
sys.path.insert(0, "dags")
import artist_similarity as module

dag = module.artist_similarity()
build, publish = (dag.get_task(t).python_callable for t in ("build", "publish"))
built = build(None, params={"min_listeners": 1, "min_co_listeners": 1, "k": 5, "catalogue_size": 1000, "force": False})
try:
    next(publish([built], []))
    print(json.dumps("published"))
except AirflowSkipException as exc:
    print(json.dumps(str(exc)))
"""


def test_publish_after_a_failed_check_publishes_nothing(tmp_path):
    """publish runs once every build and check is done (all_done, so that one dump's failed build keeps no other back):
    a build whose check failed (no check_quality result for it) is not published, and publish says which."""
    from musim import snapshots

    dump = ingest_lastfm(tiny_dump(tmp_path / "d.tsv")).dump_id
    said = _child_answer(tmp_path, UNCHECKED, timeout=300)
    assert said == (f"the quality check of dump {dump[:12]} did not pass: nothing is published (its check_quality "
                    "task says why)")
    assert snapshots.list_snapshots() == []
