"""The DAGs' params default to the library's defaults, and a DAG run trains with the parameters the command
line gives for the same inputs (the DAGs run in a subprocess: they import Airflow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musim.models.hyperparams import HyperParams, job_params
from musim.params import defaults
from musim.similarity.params import SimilarityParams
from tests.dags.test_dag_integrity import cli_option
from tests.models.test_hyperparams import train_call

pytestmark = pytest.mark.airflow
REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys
sys.path.insert(0, "dags")
import artist_similarity, train_siamese
import musim.models.families as families

out = {}
for name, module in (("artist_similarity", artist_similarity), ("train_siamese", train_siamese)):
    dag = getattr(module, name)()
    out[name] = {k: dag.params[k] for k in dag.params}
    out[name + ".descriptions"] = {k: dag.params.get_param(k).description for k in dag.params}

seen = []
def plan_job(run, **kwargs):
    seen.append(kwargs)
    return []
families.plan_job = plan_job
dag = train_siamese.train_siamese()
for conf in json.loads(sys.argv[1]):  # a run's params: the DAG's defaults, then its conf
    dag.get_task("prepare").python_callable("run-1", params={**out["train_siamese"], **conf})
out["plan_job"], out["plan_job_hparams_only"] = seen
print(json.dumps(out))
"""

#: A run triggered with these params, and the command line that asks for the same.
CONF = {"epochs": 2, "embedding_size": 16, "seed": 3, "learning_rate": 0.003, "batch_size": 32, "train_pairs": 240,
        "sampling": "natural", "hparams": {"conv_filters": [8, 16], "test_share": 0.4, "validation_pairs": 60}}
ARGV = ["--epochs", "2", "--embedding-size", "16", "--seed", "3", "--learning-rate", "0.003", "--batch-size", "32",
        "--train-pairs", "240", "--sampling", "natural",
        "--hparams", json.dumps({"conv_filters": [8, 16], "test_share": 0.4, "validation_pairs": 60})]
#: A run that sets the named hyperparameters in ``hparams`` only (the named Params left at their defaults).
HPARAMS_ONLY = {"epochs": 1, "learning_rate": 0.01, "batch_size": 8, "sampling": "natural", "train_pairs": 50,
                "seed": 4, "dense_units": 8}


@pytest.fixture(scope="module")
def dags(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("dag_defaults")
    env = dict(os.environ, AIRFLOW_HOME=str(tmp / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp / 'never-used.db'}", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps([CONF, {"hparams": HPARAMS_ONLY}])], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_similarity_defaults_are_written_once(dags):
    library = defaults(SimilarityParams)
    assert {k: dags["artist_similarity"][k] for k in library} == library
    for name, value in library.items():
        assert cli_option(["similarity", "build"], "--" + name.replace("_", "-")).default == value, name


def test_siamese_defaults_are_the_hyperparameters(dags):
    """The hyperparameter Params default to null, as the command's options do (null: the hparams' value, else the
    library's default, which their descriptions show)."""
    library, dag, said = defaults(HyperParams), dags["train_siamese"], dags["train_siamese.descriptions"]
    for name in ("epochs", "learning_rate", "batch_size", "sampling", "train_pairs", "seed", "embedding_size"):
        assert dag[name] is None, name
        assert cli_option(["models", "train"], "--" + name.replace("_", "-")).default is None, name
        field = "dense_units" if name == "embedding_size" else name
        assert said[name].endswith(f"null: the hparams' {field}, else {library[field]}"), said[name]


def test_hparams_set_what_the_params_leave_unset_as_on_the_command_line(dags, monkeypatch):
    """conf `hparams: {"epochs": 1}` trained 10 epochs: the DAG passed its Params' non-null defaults, which won over
    hparams, while `musim models train --hparams '{"epochs": 1}'` trained 1."""
    planned = dags["plan_job_hparams_only"]
    seen = train_call(monkeypatch, ["--hparams", json.dumps(HPARAMS_ONLY)])
    assert planned["params"]["siamese"] == seen["params"] == HPARAMS_ONLY
    assert planned["seed"] == seen["load"]["seed"] == 4


def test_the_dag_and_the_command_train_with_the_same_parameters(dags, monkeypatch):
    planned = dags["plan_job"]
    seen = train_call(monkeypatch, ARGV)
    assert planned["params"]["siamese"] == seen["params"]  # the shares went to the split in both
    split = {k: planned[k] for k in ("validation_share", "test_share", "seed") if k in planned}
    assert split == {k: seen["load"][k] for k in split} == {"test_share": 0.4, "seed": 3}
    assert (seen["params"], split) == job_params("siamese", CONF["hparams"], embedding_size=16, epochs=2, seed=3,
                                                 learning_rate=0.003, batch_size=32, train_pairs=240,
                                                 sampling="natural")
