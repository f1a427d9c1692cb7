"""Every DAG file: imports with no errors, parsing opens no connection, house conventions hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
WRITERS = {"ingest", "build", "publish", "plan", "record", "find_new_dumps"}
#: Writer tasks that may meet a writer outside Airflow's pool (a long command) and retry it after a while.
RETRYING_WRITERS = {("lastfm_ingest", "find_new_dumps"), ("artist_similarity", "build")}
#: DAGs whose data must pass a quality gate before their asset is announced.
GATED = {"lastfm_ingest", "artist_similarity", "audio_acquire", "audio_features", "library_scan"}
#: DAG params and the command-line options they mirror: a run triggered from the Airflow UI takes the same range
#: of values as the command (a seed the command refuses failed only on the GPU worker; a local folder's 50 tracks
#: per artist could be fetched by the command but not by the DAG).
CLI_TWINS = {("audio_acquire", "per_artist"): (["acquire"], "--per-artist"),
             ("audio_acquire", "concurrency"): (["acquire"], "--concurrency"),
             ("audio_acquire", "max_attempts"): (["acquire"], "--max-attempts"),
             ("audio_acquire", "top_n"): (["acquire"], "--top"),
             ("artist_similarity", "min_listeners"): (["similarity", "build"], "--min-listeners"),
             ("artist_similarity", "k"): (["similarity", "build"], "--k"),
             ("train_embeddings", "seed"): (["models", "train"], "--seed"),
             ("train_siamese", "seed"): (["models", "train"], "--seed"),
             ("train_siamese", "epochs"): (["models", "train"], "--epochs"),
             ("train_siamese", "batch_size"): (["models", "train"], "--batch-size"),  # took 1e9, the command 1e6
             ("train_siamese", "embedding_size"): (["models", "train"], "--embedding-size"),
             ("train_siamese", "train_pairs"): (["models", "train"], "--train-pairs"),
             ("train_siamese", "k"): (["models", "train"], "--k"),
             ("train_embeddings", "k"): (["models", "train"], "--k"),
             ("train_embeddings", "primary_metric"): (["models", "train"], "--primary-metric"),
             ("train_siamese", "primary_metric"): (["models", "train"], "--primary-metric"),
             ("train_embeddings", "metric"): (["models", "train"], "--metric"),
             # took 1e9: its resamples (n_boot x test artists) ran out of memory in evaluate, after the training
             ("train_embeddings", "n_boot"): (["models", "evaluate"], "--n-boot"),
             ("train_siamese", "metric"): (["models", "train"], "--metric"),
             ("audio_features", "batch_size"): (["features", "build"], "--batch-size"),
             ("audio_features", "workers"): (["features", "build"], "--workers"),
             ("audio_features", "min_duration_s"): (["features", "build"], "--min-duration"),
             ("audio_features", "limit"): (["features", "build"], "--limit")}


def cli_option(command: list[str], option: str):
    """The argparse action of ``musim COMMAND... OPTION``."""
    import argparse

    from musim.cli import build_parser

    parser = build_parser()
    for word in command:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return next(a for a in parser._actions if option in a.option_strings)


def accepts(parse, value: int) -> bool:
    import argparse

    try:
        parse(str(value))
    except argparse.ArgumentTypeError:
        return False
    return True


def parse(path: Path, tmp_path: Path, **extra_env: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MUSIM_TRAIN_QUEUE"}  # the default unless extra_env says
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'never-used.db'}",
               PYTHONPATH=str(REPO), **extra_env)
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("guarded_parse.py")), str(path)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", DAG_FILES, ids=[p.stem for p in DAG_FILES])
def test_dag_file_parses_cleanly_and_follows_conventions(path, tmp_path):
    result = parse(path, tmp_path)
    assert result["errors"] == {}
    assert list(result["dags"]) == [path.stem], "one DAG per file, dag_id = file name"
    dag = result["dags"][path.stem]
    assert dag["catchup"] is False and dag["doc_md"] and "musim" in dag["tags"]
    assert dag["tz"] in ("UTC", "Timezone('UTC')") and dag["start_date"].endswith("+00:00")
    assert all(desc for desc in dag["params"].values()), "every Param has a description for the trigger form"
    for task_id, task in dag["tasks"].items():
        if task_id in WRITERS:
            assert task["pool"] == "duckdb_writer", f"{task_id} writes the warehouse: pool duckdb_writer"
        if (path.stem, task_id) in RETRYING_WRITERS:
            assert task["retries"] >= 1 and task["retry_delay_s"] >= 30, f"{task_id} retries a busy warehouse later"
    if path.stem in GATED:
        emitters = [t for t in dag["tasks"].values() if t["outlets"]]
        assert emitters and all("check_quality" in t["upstream"] for t in emitters), \
            "the asset is announced only after the check_quality gate passed"
    if path.stem == "audio_acquire":  # as `musim acquire --provider` takes them
        from musim.config import KNOWN_PROVIDERS

        assert dag["schemas"]["providers"]["items"] == {"enum": list(KNOWN_PROVIDERS)}
    if path.stem == "audio_features":  # the views `musim features build --view` takes, so the plan never refuses one
        from musim.features.definitions import VIEWS

        assert dag["schemas"]["views"]["items"] == {"enum": [v.name for v in VIEWS] + [v.ref for v in VIEWS]}
    for (dag_id, name), (command, option) in CLI_TWINS.items():
        if dag_id != path.stem:
            continue
        schema, action = dag["schemas"][name], cli_option(command, option)
        default = dag["defaults"][name]
        if default is not None and action.default is not None:  # a run from the trigger form as the command's
            assert default == action.default, f"{name} defaults to {default}, {option} to {action.default}"
        if "enum" in schema:
            assert schema["enum"] == list(action.choices), f"{name} takes what {option} takes"
            continue
        option_type = action.type
        low, high = schema["minimum"], schema.get("maximum")
        assert accepts(option_type, low) and not accepts(option_type, low - 1), f"{name}: lowest value as {option}'s"
        if high is not None:
            assert accepts(option_type, high) and not accepts(option_type, high + 1), f"{name}: highest as {option}'s"
        else:
            assert accepts(option_type, 10**9), f"{name} has no maximum, nor should {option}"
    assert not (tmp_path / "never-used.db").exists() or (tmp_path / "never-used.db").stat().st_size == 0


@pytest.mark.parametrize("dag_id", ["train_siamese", "train_embeddings"])
def test_training_runs_on_the_queue_the_deployment_names(dag_id, tmp_path):
    """A deployment without a GPU worker (docker compose's CPU setup) consumes only `default`: training sent to
    queue gpu sat queued until it failed. MUSIM_TRAIN_QUEUE (default `default`) names the queue of train and
    evaluate; their CPU fallback (train_cpu, evaluate_cpu, which route follows while no worker consumes that
    queue) is on `default` whatever it names."""
    path = REPO / "dags" / f"{dag_id}.py"
    for env, queue in (({}, "default"), ({"MUSIM_TRAIN_QUEUE": "gpu"}, "gpu")):
        tasks = parse(path, tmp_path, **env)["dags"][dag_id]["tasks"]
        assert {t: tasks[t]["queue"] for t in tasks if tasks[t]["pool"] == "gpu"} == {
            "train": queue, "evaluate": queue, "train_cpu": "default", "evaluate_cpu": "default"}
        assert tasks["route"]["upstream"] == ["prepare"] and tasks["route"]["queue"] == "default"
