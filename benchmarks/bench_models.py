"""Siamese training throughput on CPU, and the input pipeline's throughput against the model's consumption.

Three numbers, each measured in a fresh process on planted data (``musim.models.toy.planted_data``: 256 x 64
float16 log-mels, 3 clips per artist, pairs from the stratified sampler), with the default network
(``HyperParams()``: Conv1D 32-64-64, Dense 64) and batch 64:

- **model consumption**: training steps fed from one batch held in memory (``Dataset.from_tensors(batch)
  .repeat()``): what a step consumes when input costs nothing;
- **input pipeline**: :func:`musim.models.pairs.make_dataset` iterated alone (shuffle, batch, gather from the
  float16 array, cast, prefetch), no model: what the pipeline can deliver;
- **training**: ``model.fit`` on the real pipeline: pairs per second end to end (the headline number).

Target: the pipeline delivers >= 3x what a training step consumes. Each rate is the best of its timed
epochs after a warm-up epoch (tracing, thread pools); on a shared 2-core machine the pipeline and the model
compete for the same cores during ``fit``, which the end-to-end ratio shows.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks._util import measure, row

BENCH = "models"


def _child(*, artists: int, steps: int, epochs: int, batch: int, pipeline_batches: int) -> dict:
    """Runs inside the measured process."""
    import keras
    import numpy as np
    import tensorflow as tf

    from musim.models.pairs import build_training_set, make_dataset
    from musim.models.siamese import build_siamese
    from musim.models.toy import planted_data
    from musim.models.train import HyperParams

    hp = HyperParams(batch_size=batch)
    toy = planted_data(communities=max(2, artists // 10), artists_per_community=min(10, artists), seed=0)
    ts = build_training_set(toy.x, toy.track_artist, toy.targets, sampling=hp.pair_sampling(), seed=0)
    keras.utils.set_random_seed(0)

    # the input pipeline alone
    ds = make_dataset(toy.x, ts.train, batch_size=batch, repeat=True, seed=0)
    it = iter(ds)
    for _ in range(20):
        next(it)
    best_pipe = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(pipeline_batches):
            next(it)
        best_pipe = max(best_pipe, pipeline_batches * batch / (time.perf_counter() - t0))

    class Epochs(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times, self._t = [], 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t)

    def rate(dataset) -> float:
        model = build_siamese(hp.siamese_config())
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        cb = Epochs()
        model.fit(dataset, epochs=epochs + 1, steps_per_epoch=steps, callbacks=[cb], verbose=0)
        return steps * batch / min(cb.times[1:])

    inputs, y = next(iter(make_dataset(toy.x, ts.train, batch_size=batch, seed=1)))
    fixed = tf.data.Dataset.from_tensors((inputs, y)).repeat()
    consume = rate(fixed)
    end_to_end = rate(make_dataset(toy.x, ts.train, batch_size=batch, repeat=True, seed=0))
    params = build_siamese(hp.siamese_config()).count_params()
    return {"consume": consume, "pipeline": best_pipe, "fit": end_to_end, "params": int(params),
            "train_examples": len(ts.train), "clips": int(toy.x.shape[0]), "threads": tf.config.threading
            .get_inter_op_parallelism_threads(), "cpus": __import__("os").cpu_count(),
            "numpy": np.__version__}


def run(*, quick: bool, workdir: Path) -> list[dict]:
    cfg = dict(artists=40, steps=15, epochs=2, batch=64, pipeline_batches=60) if quick else \
        dict(artists=200, steps=60, epochs=3, batch=64, pipeline_batches=300)
    code = (f"from benchmarks.bench_models import _child\n"
            f"RESULT.update(_child(**{cfg!r}))\n")
    wall, rss, r = measure(code, env={"TF_CPP_MIN_LOG_LEVEL": "3"})
    ratio = r["pipeline"] / r["consume"]
    note = (f"default siamese ({r['params']:,} weights), batch {cfg['batch']}, {r['clips']} clips, "
            f"{r['train_examples']:,} training pairs; {r['cpus']} CPUs; best of {cfg['epochs']} timed epochs "
            f"of {cfg['steps']} steps; peak RSS {rss:.0f} MiB")
    return [
        row(BENCH, "training pairs/s (fit on the tf.data pipeline, CPU)", r["fit"], "pairs/s",
            baseline="model alone (batch in memory)", baseline_value=r["consume"], ratio=r["fit"] / r["consume"],
            notes=note + "; ratio < 1 = pipeline and model share the cores"),
        row(BENCH, "model consumption (train step, input in memory)", r["consume"], "pairs/s", notes=note),
        row(BENCH, "input pipeline throughput (no model)", r["pipeline"], "pairs/s",
            baseline="model consumption", baseline_value=r["consume"], ratio=ratio, target=">= 3x",
            met=ratio >= 3, notes="shuffle + batch + gather from float16 array + cast + prefetch"),
    ]
