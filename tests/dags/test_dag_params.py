"""A run's conf key that is none of the DAG's params (a typo) fails the run's first task in one line, before anything
is written: Airflow merges any key into the params, so `{"min_listener": 3}` built with the default in silence. So
does an empty `dump_id` or `folder` (a conf made from an unset variable), which was read as the default, and an empty
track id to `recompute` (as `--recompute ""` is refused)."""

from __future__ import annotations

import json

from musim.assets import unknown_params
from tests.dags.dag_child import child_env, run_child

# Each DAG's first task, called as the task runner calls it: its params (the DAG's, with the conf merged in) and the
# DAG (the `dag` of the task's context).
CHILD = r"""
import json, sys
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import artist_similarity, audio_features, library_scan

out = {}
for module, first, args, typo in ((artist_similarity, "dumps", (), {"min_listener": 3}),
                                  (audio_features, "plan", ("audio_features/r1",), {"batchsize": 8, "Views": []}),
                                  (library_scan, "scan", (), {"folders": "/music"})):
    dag = getattr(module, module.__name__)()
    params = {k: dag.params[k] for k in dag.params}
    try:
        getattr(dag.get_task(first), "python_callable")(*args, params=params | typo, dag=dag)
        out[dag.dag_id] = "ran"
    except AirflowFailException as exc:
        out[dag.dag_id] = str(exc)
dag = artist_similarity.artist_similarity()
out["known"] = dag.get_task("dumps").python_callable(params={k: dag.params[k] for k in dag.params} | {"dump_id": "abc"},
                                                     dag=dag)
# an empty value (a conf made from an unset variable: -c '{"dump_id": "$DUMP"}') is refused, not taken as the default
for module, first, args, key, value in ((artist_similarity, "dumps", (), "dump_id", ""),
                                        (library_scan, "scan", (), "folder", ""),
                                        (audio_features, "plan", ("audio_features/r1",), "recompute", ["t1", " "]),
                                        (audio_features, "plan", ("audio_features/r1",), "views", [])):
    dag = getattr(module, module.__name__)()
    try:
        dag.get_task(first).python_callable(*args, params={k: dag.params[k] for k in dag.params} | {key: value}, dag=dag)
        out["blank " + key] = "ran"
    except AirflowFailException as exc:
        out["blank " + key] = str(exc)
print(json.dumps(out))
"""


def test_a_conf_key_that_is_no_param_fails_the_first_task_and_writes_nothing(tmp_path):
    home = tmp_path / "home"
    out = run_child(CHILD, env=child_env(tmp_path, MUSIM_HOME=str(home)))
    assert out["artist_similarity"] == (
        "artist_similarity has no param 'min_listener' (a typo?): it takes catalogue_size, dump_id, force, k, "
        "min_co_listeners, min_listeners; nothing was done, trigger it again with those")
    assert out["audio_features"].startswith("audio_features has no param 'Views', 'batchsize' (a typo?): it takes ")
    assert "batch_size" in out["audio_features"] and "views" in out["audio_features"]
    assert out["library_scan"].startswith("library_scan has no param 'folders' (a typo?): it takes folder, retry;")
    assert all("\n" not in line for line in out.values() if isinstance(line, str))
    assert out["known"] == ["abc"]  # the DAG's own params pass
    assert out["blank dump_id"].startswith("the dump_id param is empty (an unset variable?): give a dump id or unique ")
    assert out["blank folder"].startswith("the folder param is empty (an unset variable?): give a folder or ")
    assert out["blank recompute"].startswith("a track id of the recompute param is empty (an unset variable?): give ")
    assert out["blank views"].startswith("the views param is empty (an unset variable?): give feature views")  # not all
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))  # no warehouse, no object written


def test_unknown_params_names_only_the_keys_that_are_no_param():
    assert unknown_params("d", ["a", "b"], ["a", "b", "c"]) is None
    assert unknown_params("d", [], ["a"]) is None
    assert unknown_params("d", ["b", "zz", "a"], ["a", "b"]) == (
        "d has no param 'zz' (a typo?): it takes a, b; nothing was done, trigger it again with those")


# The other DAGs' first tasks: a typo in the conf, then each empty value, called as the task runner calls them.
CHILD_OTHERS = r"""
import json, sys
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import audio_acquire, lastfm_ingest, train_embeddings, train_siamese

out = {}
for module, first, args, conf in (
        (lastfm_ingest, "find_new_dumps", (), {"settle": 0}),
        (lastfm_ingest, "find_new_dumps", (), {"landing": ""}),
        (train_siamese, "prepare", ("train_siamese/r1",), {"epoch": 1}),
        (train_siamese, "prepare", ("train_siamese/r1",), {"dump_id": " "}),
        (train_embeddings, "prepare", ("train_embeddings/r1",), {"family": ["autoencoder"]}),
        (train_embeddings, "prepare", ("train_embeddings/r1",), {"dump_id": ""}),
        (audio_acquire, "plan", (), {"topn": 5}),
        (audio_acquire, "plan", (), {"local_path": ""}),
        (audio_acquire, "plan", (), {"providers": []})):
    dag = getattr(module, module.__name__)()
    key = dag.dag_id + " " + ",".join(conf)
    try:
        dag.get_task(first).python_callable(*args, params={k: dag.params[k] for k in dag.params} | conf, dag=dag)
        out[key] = "ran"
    except AirflowFailException as exc:
        out[key] = str(exc)
print(json.dumps(out))
"""


def test_the_other_dags_refuse_a_conf_key_that_is_no_param_and_an_empty_value(tmp_path):
    home = tmp_path / "home"
    out = run_child(CHILD_OTHERS, env=child_env(tmp_path, MUSIM_HOME=str(home), MUSIM_LANDING=str(tmp_path / "landing")))
    assert out["lastfm_ingest settle"] == ("lastfm_ingest has no param 'settle' (a typo?): it takes landing, settle_s; "
                                           "nothing was done, trigger it again with those")
    assert out["train_siamese epoch"].startswith("train_siamese has no param 'epoch' (a typo?): it takes ")
    assert "epochs" in out["train_siamese epoch"] and "hparams" in out["train_siamese epoch"]
    assert out["train_embeddings family"].startswith("train_embeddings has no param 'family' (a typo?): it takes ")
    assert "families" in out["train_embeddings family"]
    assert out["audio_acquire topn"].startswith("audio_acquire has no param 'topn' (a typo?): it takes ")
    assert "top_n" in out["audio_acquire topn"]
    assert out["lastfm_ingest landing"].startswith("the landing param is empty (an unset variable?): give ")
    assert out["train_siamese dump_id"].startswith("the dump_id param is empty (an unset variable?): give ")
    assert out["train_embeddings dump_id"].startswith("the dump_id param is empty (an unset variable?): give ")
    assert out["audio_acquire local_path"].startswith("the local_path param is empty (an unset variable?): give ")
    assert out["audio_acquire providers"].startswith("the providers param is empty (an unset variable?): give ")
    assert all("\n" not in line for line in out.values())
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))  # no warehouse, no object written


# A float for a whole-number param: JSON Schema counts 8.0 an integer, so Airflow took {"batch_size": 8.0} and the
# float reached range() as a TypeError traceback (audio_features), a slice (its limit), or the registry (a seed).
CHILD_FLOATS = r"""
import copy, json, sys
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import audio_features, train_embeddings, train_siamese

out = {}
for module, first, args, conf in ((audio_features, "plan", ("audio_features/r1",), {"batch_size": 8.0}),
                                  (audio_features, "plan", ("audio_features/r1",), {"limit": 3.0}),
                                  (train_embeddings, "prepare", ("train_embeddings/r1",), {"seed": 1.0}),
                                  (train_siamese, "prepare", ("train_siamese/r1",), {"epochs": 2.0})):
    dag = getattr(module, module.__name__)()
    (name, value), = conf.items()
    copy.deepcopy(dag.params.get_param(name)).resolve(value)  # Airflow's own check takes it (resolve keeps it)
    key = dag.dag_id + " " + ",".join(conf)
    try:
        dag.get_task(first).python_callable(*args, params={k: dag.params[k] for k in dag.params} | conf, dag=dag)
        out[key] = "ran"
    except AirflowFailException as exc:
        out[key] = str(exc)
    except Exception as exc:
        out[key] = type(exc).__name__
print(json.dumps(out))
"""


def test_a_float_given_to_a_whole_number_param_fails_the_first_task_in_one_line(tmp_path):
    home = tmp_path / "home"
    out = run_child(CHILD_FLOATS, env=child_env(tmp_path, MUSIM_HOME=str(home)))
    assert out["audio_features batch_size"] == ("the batch_size param is 8.0, a float: give it as a whole number (8); "
                                                "nothing was done, trigger it again")
    assert out["audio_features limit"].startswith("the limit param is 3.0, a float: give it as a whole number (3);")
    assert out["train_embeddings seed"].startswith("the seed param is 1.0, a float: ")
    assert out["train_siamese epochs"].startswith("the epochs param is 2.0, a float: ")
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))  # no warehouse, no object written


# NaN passes every bound of a param's schema (no comparison with it is true), and `--conf` or the REST API take it: a
# NaN test_share ended train_embeddings skipped ("not trained") rather than refused; a NaN learning_rate (or one in the
# hparams object) or min_duration_s failed deep in the task with a ParameterError traceback.
CHILD_NAN = r"""
import copy, json, sys
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
sys.path.insert(0, "dags")
import audio_features, train_embeddings, train_siamese

nan = float("nan")
out = {}
for module, first, args, conf in ((train_embeddings, "prepare", ("train_embeddings/r1",), {"test_share": nan}),
                                  (train_siamese, "prepare", ("train_siamese/r1",), {"learning_rate": nan}),
                                  (train_siamese, "prepare", ("train_siamese/r1",), {"hparams": {"l2": float("inf")}}),
                                  (audio_features, "plan", ("audio_features/r1",), {"min_duration_s": nan})):
    dag = getattr(module, module.__name__)()
    (name, value), = conf.items()
    if name != "hparams":
        copy.deepcopy(dag.params.get_param(name)).resolve(value)  # Airflow's own check takes it
    key = dag.dag_id + " " + name
    try:
        dag.get_task(first).python_callable(*args, params={k: dag.params[k] for k in dag.params} | conf, dag=dag)
        out[key] = "ran"
    except AirflowFailException as exc:
        out[key] = str(exc)
    except AirflowSkipException as exc:
        out[key] = "skipped: " + str(exc)
    except Exception as exc:
        out[key] = type(exc).__name__
print(json.dumps(out))
"""


def test_nan_in_a_param_fails_the_first_task_in_one_line(tmp_path):
    home = tmp_path / "home"
    out = run_child(CHILD_NAN, env=child_env(tmp_path, MUSIM_HOME=str(home)))
    then = "which is no number: give a finite one (or leave it out for its default); nothing was done, trigger it again"
    assert out["train_embeddings test_share"] == f"the test_share param holds nan, {then}"
    assert out["train_siamese learning_rate"] == f"the learning_rate param holds nan, {then}"
    assert out["train_siamese hparams"] == f"the hparams param holds 'l2' = inf, {then}"
    assert out["audio_features min_duration_s"] == f"the min_duration_s param holds nan, {then}"
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))  # no warehouse, no object written


# The object params' fields are checked by the families' records: a bad one was a ParameterError traceback.
CHILD_OBJECTS = r"""
import json, sys
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import train_embeddings, train_siamese

out = {}
for module, conf in ((train_siamese, {"hparams": {"epochs": "ten"}}), (train_siamese, {"hparams": {"nope": 1}}),
                     (train_siamese, {"hparams": {"conv_filters": {"a": 1}}}),
                     (train_embeddings, {"classifier": {"epochs": "ten"}}), (train_embeddings, {"contrastive": {"x": 1}})):
    dag = getattr(module, module.__name__)()
    key = dag.dag_id + " " + json.dumps(conf)
    try:
        dag.get_task("prepare").python_callable(dag.dag_id + "/r1", params={k: dag.params[k] for k in dag.params} | conf,
                                                dag=dag)
        out[key] = "ran"
    except AirflowFailException as exc:
        out[key] = str(exc)
    except Exception as exc:
        out[key] = type(exc).__name__
print(json.dumps(out))
"""


def test_a_bad_field_of_an_object_param_fails_prepare_in_one_line(tmp_path):
    home = tmp_path / "home"
    out = run_child(CHILD_OBJECTS, env=child_env(tmp_path, MUSIM_HOME=str(home)))
    then = " (not retried: trigger it again with that fixed)"
    assert out['train_siamese {"hparams": {"epochs": "ten"}}'] == (
        "hyperparameter epochs: input should be a valid integer, unable to parse string as an integer ('ten' given)"
        + then)
    assert out['train_siamese {"hparams": {"nope": 1}}'].startswith("unknown hyperparameter(s) nope; known: ")
    assert out['train_siamese {"hparams": {"conv_filters": {"a": 1}}}'].startswith("hyperparameter conv_filters: ")
    assert out['train_embeddings {"classifier": {"epochs": "ten"}}'].startswith("classifier parameter epochs: ")
    assert out['train_embeddings {"contrastive": {"x": 1}}'].startswith("unknown contrastive parameter(s) x; known: ")
    assert all(line.endswith(then) and "\n" not in line for line in out.values())
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))  # no warehouse, no object written


# A value the schema took but the scan or the plan could not use ended the first task with a traceback (and, for the
# scan, left it to retries that cannot mend it): an unknown feature view, a folder that is a URL musim cannot open, one
# that does not exist, an S3 prefix the worker has no credentials for. The schema refuses what it can say when the run
# is triggered; the rest fails the first task in one line naming the param.
CHILD_UNUSABLE = r"""
import copy, json, sys
from airflow.sdk.exceptions import AirflowFailException, ParamValidationError
sys.path.insert(0, "dags")
import audio_features, library_scan

out = {}
for module, first, args, name, value in (
        (library_scan, "scan", (), "folder", "gs://bucket/music"),
        (library_scan, "scan", (), "folder", "/music/http://x"),
        (library_scan, "scan", (), "folder", sys.argv[1]),
        (library_scan, "scan", (), "folder", "s3://user:hunter2@bucket/music"),
        (library_scan, "scan", (), "folder", "s3://bucket/music"),  # no credentials
        (audio_features, "plan", ("audio_features/r1",), "views", ["track_log_mel", "nope"]),
        (audio_features, "plan", ("audio_features/r1",), "views", ["track_log_mel:9"])):
    dag = getattr(module, module.__name__)()
    key = f"{dag.dag_id} {value}"
    try:
        copy.deepcopy(dag.params.get_param(name)).resolve(value)
        out["schema " + key] = "took"
    except ParamValidationError:
        out["schema " + key] = "refused"
    try:
        dag.get_task(first).python_callable(*args, params={k: dag.params[k] for k in dag.params} | {name: value},
                                            dag=dag)
        out[key] = "ran"
    except AirflowFailException as exc:
        out[key] = str(exc)
    except Exception as exc:
        out[key] = type(exc).__name__
for name, value in (("folder", "s3://bucket/music"), ("folder", "file:///srv/music"), ("folder", "/srv/music/new"),
                    ("views", ["track_descriptors", "track_log_mel:1"])):
    module = library_scan if name == "folder" else audio_features
    dag = getattr(module, module.__name__)()
    copy.deepcopy(dag.params.get_param(name)).resolve(value)  # what the scan and the plan take, the schema takes
print(json.dumps(out))
"""


def test_a_folder_or_view_the_task_cannot_use_is_refused_in_one_line_naming_the_param(tmp_path):
    home, missing = tmp_path / "home", tmp_path / "no-such-folder"
    out = run_child(CHILD_UNUSABLE, missing, env=child_env(tmp_path, MUSIM_HOME=str(home), AWS_ACCESS_KEY_ID="",
                                                           AWS_SECRET_ACCESS_KEY="", AIRFLOW_CONN_MUSIM_S3=""))
    assert out["schema library_scan gs://bucket/music"] == out["schema library_scan /music/http://x"] == "refused"
    assert out["schema audio_features ['track_log_mel', 'nope']"] == "refused"
    assert out["schema audio_features ['track_log_mel:9']"] == "refused"
    assert out[f"schema library_scan {missing}"] == "took"
    for value in ("gs://bucket/music", missing, "s3://user:hunter2@bucket/music", "s3://bucket/music"):
        line = out[f"library_scan {value}"]
        assert line.startswith("the folder param cannot be scanned (") and line.endswith(
            "give a folder or object-store prefix (s3://bucket/prefix, file:///path) the worker can read, or null "
            "for $MUSIM_LIBRARY_LANDING; nothing was added (not retried)"), line
    assert "unsupported scheme 'gs'" in out["library_scan gs://bucket/music"]
    assert f"{missing}: no such folder" in out[f"library_scan {missing}"]
    assert "cannot list s3://bucket/music: no S3 credentials" in out["library_scan s3://bucket/music"]
    assert "hunter2" not in out["library_scan s3://user:hunter2@bucket/music"]
    for value in (["track_log_mel", "nope"], ["track_log_mel:9"]):
        assert out[f"audio_features {value}"].startswith("the views param holds what is no feature view: no feature view ")
    assert "defined: track_log_mel:1, " in out["audio_features ['track_log_mel:9']"]
    assert all("\n" not in line for line in out.values())
    assert not home.exists() or not any(p.is_file() for p in home.rglob("*"))  # no warehouse, no object written


CHILD_SCAN = r"""
import json, sys
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import library_scan

dag = library_scan.library_scan()
try:
    dag.get_task("scan").python_callable(params={k: dag.params[k] for k in dag.params} | json.loads(sys.argv[1]), dag=dag)
    print(json.dumps("ran"))
except AirflowFailException as exc:
    print(json.dumps(str(exc)))
"""


def test_a_landing_setting_the_scan_cannot_read_or_a_store_outage_fails_scan_in_one_line(tmp_path):
    """An unusable $MUSIM_LIBRARY_LANDING is named as the setting to fix (not the folder param); a store that cannot be
    reached is an outage, not a bad folder: its line says the next scan tries again."""
    env = child_env(tmp_path, MUSIM_HOME=str(tmp_path / "home"), MUSIM_LIBRARY_LANDING="gs://bucket/music")
    line = run_child(CHILD_SCAN, "{}", env=env)
    assert line.startswith("$MUSIM_LIBRARY_LANDING cannot be scanned (object store URL 'gs://bucket/music' ")
    assert line.endswith("set it to a folder or object-store prefix the worker can read, or give the folder param; "
                         "nothing was added (not retried)")
    env |= {"MUSIM_S3_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
            "MUSIM_S3_MAX_ATTEMPTS": "1"}
    line = run_child(CHILD_SCAN, json.dumps({"folder": "s3://bucket/music"}), env=env)
    assert line.startswith("cannot reach the S3 endpoint ") and line.endswith("(the next scan tries again)"), line
    assert "\n" not in line


# The other DAGs' values their schema took but the first task crashed on, with a traceback: a local_path that is no
# folder (the provider's ConfigError named `--path`), no MUSIM_LOCAL_MUSIC_DIR for the local provider, a recompute track
# id the warehouse lacks, an S3 landing without credentials (its retries spent on what no retry mends).
CHILD_CRASHES = r"""
import copy, json, sys
from airflow.sdk.exceptions import AirflowFailException, ParamValidationError
sys.path.insert(0, "dags")
import audio_acquire, audio_features, lastfm_ingest

out = {}
for module, first, args, conf in (
        (audio_acquire, "plan", (), {"local_path": sys.argv[1], "providers": ["local"]}),
        (audio_acquire, "plan", (), {"local_path": sys.argv[2], "providers": ["local"]}),
        (audio_acquire, "plan", (), {"providers": ["local"]}),
        (audio_features, "plan", ("audio_features/r1",), {"recompute": ["no-such-track"]}),
        (lastfm_ingest, "find_new_dumps", (), {"landing": "s3://bucket/dumps"})):
    dag = getattr(module, module.__name__)()
    key = dag.dag_id + " " + json.dumps(conf)
    try:
        dag.get_task(first).python_callable(*args, params={k: dag.params[k] for k in dag.params} | conf, dag=dag)
        out[key] = "ran"
    except AirflowFailException as exc:
        out[key] = str(exc)
    except Exception as exc:
        out[key] = type(exc).__name__
for module, name, value in ((audio_acquire, "local_path", "s3://bucket/music"),
                            (lastfm_ingest, "landing", "ftp://host/landing"), (lastfm_ingest, "landing", "s3://b/p"),
                            (lastfm_ingest, "landing", "/srv/landing")):
    try:
        copy.deepcopy(getattr(module, module.__name__)().params.get_param(name)).resolve(value)
        out[f"schema {name} {value}"] = "took"
    except ParamValidationError:
        out[f"schema {name} {value}"] = "refused"
print(json.dumps(out))
"""


def test_a_value_the_schema_took_but_the_first_task_cannot_use_fails_it_in_one_line(tmp_path):
    missing, a_file = tmp_path / "no-such-folder", tmp_path / "song.mp3"
    a_file.write_bytes(b"x")
    env = child_env(tmp_path, MUSIM_HOME=str(tmp_path / "home"), MUSIM_LOCAL_MUSIC_DIR="", AWS_ACCESS_KEY_ID="",
                    AWS_SECRET_ACCESS_KEY="", AIRFLOW_CONN_MUSIM_S3="")
    out = run_child(CHILD_CRASHES, missing, a_file, env=env)
    for path in (missing, a_file):
        assert out[f'audio_acquire {{"local_path": "{path}", "providers": ["local"]}}'] == (
            f"the local_path param '{path}' is no folder on the worker: give a local music folder the worker can "
            "read, or null for $MUSIM_LOCAL_MUSIC_DIR; nothing was done, trigger it again")
    assert out['audio_acquire {"providers": ["local"]}'].startswith("no audio provider can run with providers=")
    assert out['audio_acquire {"providers": ["local"]}'].endswith(
        "(not retried: fix it, then trigger audio_acquire again)")
    assert out['audio_features {"recompute": ["no-such-track"]}'].startswith(
        "the recompute param: no track no-such-track in the warehouse: ")
    assert out['lastfm_ingest {"landing": "s3://bucket/dumps"}'].startswith("cannot list s3://bucket/dumps: no S3 ")
    assert out['lastfm_ingest {"landing": "s3://bucket/dumps"}'].endswith("(not retried)")
    assert out["schema local_path s3://bucket/music"] == out["schema landing ftp://host/landing"] == "refused"
    assert out["schema landing s3://b/p"] == out["schema landing /srv/landing"] == "took"
    assert all("\n" not in line for line in out.values())


# A dump_id that matches no dump passes every schema (any string may be a prefix): the training DAGs' prepare let the
# warehouse's NotFoundError through as a traceback.
CHILD_NO_DUMP = r"""
import json, sys
from airflow.sdk.exceptions import AirflowFailException
sys.path.insert(0, "dags")
import train_embeddings, train_siamese
import musim.models.families as families
from musim.errors import NotFoundError

def plan_job(run, **kwargs):  # what musim.models.data raises for it, once the features are there
    raise NotFoundError(f"dump id {kwargs['dump_id']!r} matches no dump; known dumps: abc123")
families.plan_job = plan_job
out = {}
for module in (train_embeddings, train_siamese):
    dag = getattr(module, module.__name__)()
    try:
        dag.get_task("prepare").python_callable(dag.dag_id + "/r1",
                                                params={k: dag.params[k] for k in dag.params} | {"dump_id": "zzz"}, dag=dag)
        out[dag.dag_id] = "ran"
    except AirflowFailException as exc:
        out[dag.dag_id] = str(exc)
    except Exception as exc:
        out[dag.dag_id] = type(exc).__name__
print(json.dumps(out))
"""


def test_a_dump_id_that_matches_no_dump_fails_prepare_in_one_line(tmp_path):
    out = run_child(CHILD_NO_DUMP, env=child_env(tmp_path, MUSIM_HOME=str(tmp_path / "home")))
    assert out == dict.fromkeys(("train_embeddings", "train_siamese"), "dump id 'zzz' matches no dump; known dumps: "
                                "abc123 (not retried: trigger it again with that fixed)")
