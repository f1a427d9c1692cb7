"""A folder param given as a relative path (library_scan's `folder`, lastfm_ingest's `landing`, audio_acquire's
`local_path`) was read from the Airflow worker's working folder, a different place on each worker: the run scanned
whatever folder of that name the worker happened to run in. It is refused when the run is triggered (the param's
schema) and by the first task (a conf that skipped the schema), in one line naming the param; `~` is expanded, as the
command line and the library scan expand it. The command line keeps taking relative paths."""

from __future__ import annotations

from tests.dags.dag_child import child_env, run_child

# Each DAG's first task, called as the task runner calls it, from a working folder where the relative folders exist
# (the old tasks went on with them), and the params' schemas on the same values; after each, whether anything was
# written under $MUSIM_HOME.
CHILD = r"""
import copy, json, os, sys
from pathlib import Path
from airflow.sdk.exceptions import AirflowFailException, ParamValidationError
sys.path.insert(0, "dags")
import audio_acquire, lastfm_ingest, library_scan

os.chdir(sys.argv[1])
out = {}
for module, first, name, value in ((library_scan, "scan", "folder", "music"),
                                   (library_scan, "scan", "folder", "./music"),
                                   (library_scan, "scan", "folder", "~no-such-user-of-musim/music"),
                                   (lastfm_ingest, "find_new_dumps", "landing", "landing"),
                                   (audio_acquire, "plan", "local_path", "music"),
                                   (lastfm_ingest, "find_new_dumps", "landing", "~/landing"),  # writes: the last two
                                   (audio_acquire, "plan", "local_path", "~/music")):
    dag = getattr(module, module.__name__)()
    key = f"{name} {value}"
    try:
        copy.deepcopy(dag.params.get_param(name)).resolve(value)
        out["schema " + key] = "took"
    except ParamValidationError:
        out["schema " + key] = "refused"
    conf = {name: value} | ({"providers": ["local"]} if module is audio_acquire else {})
    try:
        dag.get_task(first).python_callable(params={k: dag.params[k] for k in dag.params} | conf, dag=dag)
        out[key] = "ran"
    except AirflowFailException as exc:
        out[key] = str(exc)
    except Exception as exc:
        out[key] = type(exc).__name__ + ": " + str(exc)
    out["wrote " + key] = any(p.is_file() for p in Path(os.environ["MUSIM_HOME"]).rglob("*"))
print(json.dumps(out))
"""


def test_a_relative_folder_param_is_refused_at_trigger_and_by_the_first_task_in_one_line(tmp_path):
    work, user = tmp_path / "worker-cwd", tmp_path / "user"
    for folder in (work / "music", work / "landing", user / "music", user / "landing"):
        folder.mkdir(parents=True)
    home = tmp_path / "home"
    out = run_child(CHILD, work, env=child_env(tmp_path, MUSIM_HOME=str(home), HOME=str(user),
                                               MUSIM_LOCAL_MUSIC_DIR=""))
    relative = {"folder": ("music", "./music", "~no-such-user-of-musim/music"), "landing": ("landing",),
                "local_path": ("music",)}
    for name, values in relative.items():
        give = "an absolute path (~ is expanded)" + (", or an s3:// URL (s3://bucket/prefix)"
                                                     if name != "local_path" else "")
        for value in values:
            # a `~user` the schema cannot tell from a home: the task finds no such user, so no home
            assert out[f"schema {name} {value}"] == ("took" if value.startswith("~") else "refused"), value
            assert out[f"{name} {value}"] == (
                f"the {name} param {value!r} is a relative path, which each worker would read from its own working "
                f"folder: give {give}; nothing was done, trigger it again")
            assert not out[f"wrote {name} {value}"]  # nothing scanned, nothing written
    # `~` is the worker's home: taken by the schema and the check, and the task goes on with the folder it names
    for name in ("landing", "local_path"):
        assert out[f"schema {name} ~/{name.replace('local_path', 'music')}"] == "took"
    assert "relative path" not in out["landing ~/landing"] and "no folder" not in out["landing ~/landing"]
    assert "relative path" not in out["local_path ~/music"] and "no folder" not in out["local_path ~/music"]
