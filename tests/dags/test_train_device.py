"""The training DAGs' train task on a GPU worker whose TensorFlow sees no GPU (this machine has none): it says so
in one log line naming the queue and the host, and trains on the CPU; on queue ``default`` it says nothing, nor does
the CPU fallback's train_cpu (queue ``default``, whatever MUSIM_TRAIN_QUEUE is)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musim.storage import open_store

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import logging, sys
sys.path.insert(0, "dags")
import importlib
module = importlib.import_module(sys.argv[1])
dag = getattr(module, sys.argv[1])()
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="LOG %(levelname)s %(message)s", force=True)
item = {"family": "siamese", "manifest": "models/runs/device-test/inputs.npz"}
for task_id in ("train_cpu", "train"):  # the fallback first: the lines after TASK train are train's
    print("TASK", task_id, flush=True)
    out = dag.get_task(task_id).python_callable(item)
    print("RETURNED", out["prefix"])
"""


@pytest.mark.parametrize("dag_id", ["train_siamese", "train_embeddings"])
@pytest.mark.parametrize("queue", ["gpu", "default"])
def test_train_on_a_gpu_queue_without_a_visible_gpu_says_so(dag_id, queue, musim_home):
    # an item trained before (a retry after success): the task returns it without training again
    open_store().put_bytes("models/runs/device-test/siamese/trained.json", json.dumps({"family": "siamese"}).encode())
    done = subprocess.run([sys.executable, "-c", CHILD, dag_id], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "MUSIM_TRAIN_QUEUE": queue, "CUDA_VISIBLE_DEVICES": ""}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("RETURNED models/runs/device-test/siamese/") == 2
    fallback, train = done.stdout.split("TASK train\n")
    assert "sees no GPU" not in fallback + done.stderr  # train_cpu: the CPU queue, nothing to say
    lines = [line for line in train.splitlines() if "sees no GPU" in line]
    if queue == "default":
        assert lines == []
    else:
        assert len(lines) == 1, done.stdout + done.stderr
        assert "queue 'gpu' (MUSIM_TRAIN_QUEUE)" in lines[0] and "training on the CPU" in lines[0]
        assert os.uname().nodename in lines[0] or __import__("socket").gethostname() in lines[0]
