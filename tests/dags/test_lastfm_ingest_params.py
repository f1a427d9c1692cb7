"""The lastfm_ingest DAG's landing folder that does not exist (its `landing` param, or $MUSIM_LANDING): the run's
first task fails at once in one line, not retried, nothing written; so does a settle time that is no number of
seconds in range."""

from __future__ import annotations

from tests.dags.dag_child import child_env, run_child
from tests.lastfm_files import U1, write_lines

# The DAG's first task, called as the task runner calls it (its params, the conf merged in; the DAG); a retry is
# told by the exception's type: AirflowFailException fails the task without spending its retries.
CHILD = r"""
import json, sys
sys.path.insert(0, "dags")
import lastfm_ingest as module

dag = module.lastfm_ingest()
out = {"retries": dag.get_task("find_new_dumps").retries}
for name, conf in (("param", {"landing": sys.argv[1]}), ("a file", {"landing": sys.argv[2]}), ("default", {})):
    try:
        dag.get_task("find_new_dumps").python_callable(params={k: dag.params[k] for k in dag.params} | conf, dag=dag)
        out[name] = ["ran", ""]
    except Exception as exc:
        out[name] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def test_a_landing_folder_that_does_not_exist_fails_at_once_in_one_line(tmp_path):
    """It raised NotFoundError, which the task's retries (meant for a busy warehouse) ran twice more, a minute apart,
    before the run failed."""
    home, missing, a_file = tmp_path / "home", tmp_path / "no-such-landing", tmp_path / "plays.tsv"
    a_file.write_text("x\n")
    env = child_env(tmp_path, MUSIM_HOME=str(home), MUSIM_LANDING=str(tmp_path / "no-default-landing"))
    out = run_child(CHILD, missing, a_file, env=env)
    assert out.pop("retries") > 0  # the task is retried, for a busy warehouse
    for name, folder in (
        ("param", missing),
        ("a file", a_file),
        ("default", tmp_path / "no-default-landing"),
    ):
        kind, message = out[name]
        assert kind == "AirflowFailException", (name, kind, message)
        assert message.startswith(
            f"the landing folder {folder} is no folder: create it, or set MUSIM_LANDING"
        )
        assert message.endswith(" (not retried)") and "\n" not in message
    assert not home.exists() or not any(
        p.is_file() for p in home.rglob("*")
    )  # no warehouse, no object written


# settle_s as a run's conf gives it: merged into the DAG's params and validated by Airflow's own schema check, then the
# first task called as the task runner calls it.
CHILD_SETTLE = r"""
import json, math, sys
sys.path.insert(0, "dags")
from airflow.sdk.definitions.param import process_params
import lastfm_ingest as module

dag = module.lastfm_ingest()
task = dag.get_task("find_new_dumps")
out = {}
for name, value in (("nan", float("nan")), ("negative", -1), ("text", "60")):
    conf = {"landing": sys.argv[1], "settle_s": value}
    try:
        params = process_params(dag, task, conf, suppress_exception=False)  # the task runner's merge and check
        out[name + " schema"] = "valid"
    except Exception as exc:
        out[name + " schema"] = type(exc).__name__
        params = {k: dag.params[k] for k in dag.params} | conf  # a direct caller: the task checks it itself
    try:
        found = task.python_callable(params=params, dag=dag)
        out[name] = ["ran", [d["plays"] for d in found]]
    except Exception as exc:
        out[name] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def test_a_settle_time_that_is_not_a_number_of_seconds_is_refused_before_the_scan(tmp_path):
    """NaN passes the param's schema (minimum 0, maximum 86400: no comparison with NaN is true), and the scan then
    took every dump at once, one still being copied included, as if settle_s were 0."""
    home, landing = tmp_path / "home", tmp_path / "landing"
    write_lines(
        landing / "d1" / "usersha1-artmbid-artname-plays.tsv", [f"{U1}\t\tArtist A\t3"]
    )  # changed just now
    out = run_child(CHILD_SETTLE, landing, env=child_env(tmp_path, MUSIM_HOME=str(home)))
    assert out["nan schema"] == "valid"  # Airflow lets it through
    assert out["negative schema"] != "valid" and out["text schema"] != "valid"
    for name, shown in (("nan", "nan"), ("negative", "-1"), ("text", "'60'")):
        kind, message = out[name]
        assert kind == "AirflowFailException", (name, out[name])
        assert message == (
            "the settle_s param must be seconds from 0 to 86400, or null for $MUSIM_LANDING_SETTLE_S; "
            f"got {shown}: nothing was done"
        )
    assert not home.exists() or not any(
        p.is_file() for p in home.rglob("*")
    )  # no warehouse, no object written


def test_a_landing_url_that_cannot_be_one_fails_at_once_in_one_line(tmp_path):
    """A landing object-store URL with a bad bucket or scheme raised ConfigError, which the task's retries (meant for a
    busy warehouse) ran twice more, a minute apart, before the run failed."""
    home = tmp_path / "home"
    env = child_env(tmp_path, MUSIM_HOME=str(home), MUSIM_LANDING="ftp://host/landing")
    out = run_child(CHILD, "s3://Bad_Bucket/landing", "s3://", env=env)
    for name, url in (("param", "s3://Bad_Bucket/landing"), ("a file", "s3://"), ("default", "ftp://host/landing")):
        kind, message = out[name]
        assert kind == "AirflowFailException", (name, kind, message)
        assert message.startswith(f"object store URL {url!r} (the landing folder): "), (name, message)
        assert message.endswith(" (not retried)") and "\n" not in message
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))  # no warehouse, no object written
