"""Log-mel extraction from 30-second mp3 previews: the feature build musim runs vs a plain librosa loop.

Both sides decode the same mp3 files (synthesised demo previews, 44.1 kHz stereo like Deezer's), resample to
22050 Hz and compute the default 256 x 64 log-mel (``MelParams()``):

- **musim**: the code path of ``musim features build --view track_log_mel`` -- :func:`musim.features.build`
  on a warehouse whose ``track`` rows point at the previews in a local object store: plan, read each preview
  from the store, decode and compute in the build's process pool (one worker per core), write float16
  ``.npy`` objects, record the rows. It runs in a fresh process per round on a fresh copy of the same
  warehouse and store (a build skips what it has), so pool start-up, object writes and recording count;
- **baseline**: one process, ``librosa.load(path, sr=22050)`` + ``librosa.feature.melspectrogram`` +
  ``librosa.power_to_db(ref=np.max, top_db=80)``.

Warm-up is excluded from both timings the same way: each side computes one clip untimed first (librosa's
lazy imports, the mel filterbank, numba; the build's :func:`~musim.features.pool.warm_up`), so the
pool's workers are forked warm. Each side runs twice, interleaved, and the best round counts (the machine
may be shared); CPU seconds per preview (all processes, per core-second) are reported for both, since they
do not depend on what else runs.

The baseline runs with BLAS limited to one thread (threadpoolctl). Left at its default, OpenBLAS runs the
mel product of ``melspectrogram`` on every core with spinning threads, which made the plain loop about 1.6x
*slower* on a busy 2-core machine; comparing against that would flatter the pool. That default-threads
number is reported in the notes. (musim applies the mel filterbank as a sparse matrix and uses no BLAS.)
The float32 log-mels the build's workers compute (:func:`musim.audio.load_audio` + :func:`musim.audio.log_mel`)
are compared element-wise with librosa's; the stored arrays are float16 (their difference is reported too).

Also reported: the numpy time to synthesise one 30 s clip, and the cost of encoding one as mp3. The previews
are written once into ``workdir`` and reused by later runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

N_FULL = 200
N_QUICK = 16
GEN_VERSION = 1  # bump when the generated previews change (files are reused between runs otherwise)


def _reference_one(path: Path) -> np.ndarray:
    import librosa

    from musim.audio import MelParams

    p = MelParams()
    y, _ = librosa.load(path, sr=p.sr)
    S = librosa.feature.melspectrogram(y=y, sr=p.sr, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels)
    return librosa.power_to_db(S, ref=np.max, top_db=p.top_db).T


def _cpu() -> float:
    """CPU seconds of this process plus its waited-for children (pool workers once shut down)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _row(metric: str, value: float, unit: str, *, baseline: str | None = None,
         baseline_value: float | None = None, ratio: float | None = None, target: str | None = None,
         met: bool | None = None, notes: str = "") -> dict:
    return {"benchmark": "features", "metric": metric, "value": value, "unit": unit, "baseline": baseline,
            "baseline_value": baseline_value, "ratio": ratio, "target": target, "met": met, "notes": notes}


def _prepare_home(home: Path, paths: list[Path]) -> None:
    """A MUSIM_HOME whose warehouse lists ``paths`` as previews in its local object store."""
    import datetime as dt
    import hashlib

    from musim import warehouse
    from musim.config import get_settings
    from musim.storage import open_store

    settings = get_settings({"MUSIM_HOME": str(home)})
    settings.ensure_dirs()
    store = open_store(settings.storage.object_store)
    with warehouse.writer(settings) as con:
        for i, path in enumerate(paths):
            data = path.read_bytes()
            info = store.put_content_addressed(data, prefix="audio/previews", ext="mp3")
            con.execute(
                """INSERT INTO track (track_id, artist_id, title, provider, provider_track_id, provider_rank,
                                      object_key, sha256, format, duration_s, sample_rate, channels,
                                      excerpt_offset_s, excerpt_duration_s, added_at)
                   VALUES (?, ?, ?, 'bench', ?, 1, ?, ?, 'mp3', 30.0, 44100, 2, 0.0, 30.0, ?)""",
                [f"bench-{i}", 1 + i % 50, path.stem, hashlib.sha1(data).hexdigest(), info.key, info.sha256,
                 dt.datetime.now(dt.UTC)])


_BUILD = """
import resource, shutil, sys
from musim.features import BuildOptions, build
from musim.features.extract import extractors_for, select_views
from musim.features.pool import warm_up

def cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

warm_up(extractors_for(select_views(["track_log_mel"])))
c0, t0 = cpu(), time.perf_counter()
res = build(["track_log_mel"], options=BuildOptions(workers=WORKERS, progress=False), materialise=False,
            publish=False)
RESULT["_wall"] = time.perf_counter() - t0
RESULT["cpu"] = cpu() - c0
RESULT["computed"], RESULT["rejected"] = res.computed, res.rejected
"""


def _stored_arrays(home: Path) -> dict[str, np.ndarray]:
    from musim import warehouse
    from musim.config import get_settings
    from musim.features import load_tensor
    from musim.storage import open_store

    settings = get_settings({"MUSIM_HOME": str(home)})
    store = open_store(settings.storage.object_store)
    con = warehouse.connect(settings.warehouse.path, read_only=True, settings=settings)
    try:
        rows = con.execute("SELECT track_id, object_key FROM track_mel WHERE kind = 'log_mel'").fetchall()
    finally:
        con.close()
    return {track: load_tensor(store, key) for track, key in rows}


def run(*, quick: bool, workdir: Path) -> list[dict]:
    import shutil

    from threadpoolctl import threadpool_limits

    from benchmarks._util import measure
    from musim.audio import MelParams, default_workers, load_audio, log_mel
    from musim.synth.files import write_clip
    from musim.synth.folders import write_previews
    from musim.synth.sound import synthesize_clip

    n = N_QUICK if quick else N_FULL
    rounds = 2
    workers = default_workers()
    folder = Path(workdir) / f"previews_mp3_v{GEN_VERSION}"
    existing = len(list(folder.glob("preview_*.mp3"))) if folder.exists() else 0
    t0 = time.perf_counter()
    paths = write_previews(folder, n, fmt="mp3", sr=44100, workers=workers)
    gen_s = time.perf_counter() - t0
    params = MelParams()
    template = Path(workdir) / f"features_home_{n}"
    shutil.rmtree(template, ignore_errors=True)
    _prepare_home(template, paths)

    # Synthesis speed (numpy work only), best of a few, CPU time of this process.
    synth_ms = []
    for k in range(5):
        t0 = time.process_time()
        synthesize_clip(community=k, artist_seed=k, track_no=1, sr=22050, duration=30.0)
        synth_ms.append((time.process_time() - t0) * 1000)

    # Cost of writing one 30 s 44.1 kHz stereo mp3 (LAME via soundfile), CPU time.
    y = synthesize_clip(community=0, artist_seed=0, track_no=1, sr=44100, duration=30.0)
    t0 = time.process_time()
    write_clip(Path(workdir) / "encode_probe.mp3", np.stack([y, y]), sr=44100)
    mp3_s = time.process_time() - t0

    _reference_one(paths[0])  # the baseline's warm-up, untimed (the build warms up in its own process)
    best_ours = best_ref = float("inf")
    cpu_ours = cpu_ref = float("inf")
    computed = rejected = -1
    home = Path(workdir) / "features_home_run"
    ref: list[np.ndarray] = []
    for _ in range(rounds):
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(template, home)
        wall, _rss, res = measure(f"WORKERS = {workers}\n" + _BUILD, env={"MUSIM_HOME": str(home)})
        best_ours, cpu_ours = min(best_ours, wall), min(cpu_ours, res["cpu"])
        computed, rejected = res["computed"], res["rejected"]
        c0, t0 = _cpu(), time.perf_counter()
        with threadpool_limits(1):  # a fair baseline: see the module docstring
            ref = [_reference_one(p) for p in paths]
        best_ref = min(best_ref, time.perf_counter() - t0)
        cpu_ref = min(cpu_ref, _cpu() - c0)
    t0 = time.perf_counter()
    for p in paths:  # the librosa loop once more, with the BLAS threads it starts by default
        _reference_one(p)
    default_threads_s = time.perf_counter() - t0

    # what the build's workers compute, in float32, against librosa; and the stored float16 arrays
    diff = max(float(np.max(np.abs(log_mel(load_audio(p, sr=params.sr)[0], params=params) - r)))
               for p, r in zip(paths, ref, strict=True))
    stored = _stored_arrays(home)
    by_title = {p.stem: r for p, r in zip(paths, ref, strict=True)}
    titles = dict(enumerate(p.stem for p in paths))
    diff16 = max(float(np.max(np.abs(a.astype(np.float32) - by_title[titles[int(t.split("-")[1])]])))
                 for t, a in stored.items())
    rate, rate_ref = n / best_ours, n / best_ref
    ratio = rate / rate_ref
    rows = [
        _row("log_mel_previews_per_s", round(rate, 2), "previews/s", baseline="librosa loop, 1 process",
             baseline_value=round(rate_ref, 2), ratio=round(ratio, 3), target=">= 1.8x", met=ratio >= 1.8,
             notes=f"`musim features build --view track_log_mel` path over {n} x 30 s mp3 previews (44.1 kHz "
                   f"stereo -> 22050 Hz -> 256x64 log-mel, stored float16, rows recorded); {workers} workers; "
                   f"best of {rounds} rounds; computed {computed}, rejected {rejected}; the librosa loop with "
                   f"default BLAS threads: {n / default_threads_s:.2f} previews/s"),
        _row("log_mel_cpu_per_preview", round(cpu_ours / n, 4), "CPU s/preview", baseline="librosa loop, 1 process",
             baseline_value=round(cpu_ref / n, 4), ratio=round((cpu_ours / n) / (cpu_ref / n), 3),
             notes="CPU seconds of all processes (parent, pool workers) per preview, i.e. core-seconds per preview; "
                   "the build's include reading the store, writing .npy objects and recording rows"),
        _row("log_mel_max_abs_diff", diff, "dB", baseline="librosa loop, 1 process", target="<= 1e-3 dB",
             met=diff <= 1e-3, notes=f"max |musim - librosa| of the float32 log-mels over all previews and bins; "
                                     f"the stored float16 arrays differ by at most {diff16:.3f} dB"),
        _row("synth_clip_cpu", round(min(synth_ms), 1), "ms", target="< 100 ms", met=min(synth_ms) < 100,
             notes=f"numpy CPU time for one 30 s clip at 22050 Hz (best of 5; median {np.median(synth_ms):.1f})"),
        _row("mp3_encode_cpu", round(mp3_s, 3), "s/clip",
             notes="writing one 30 s 44.1 kHz stereo mp3 with soundfile (LAME), CPU time; this run generated "
                   f"{max(0, n - existing)} previews in {gen_s:.1f} s wall ({workers} processes)"),
    ]
    return rows


if __name__ == "__main__":
    import sys

    from benchmarks._util import run_alone

    sys.exit(run_alone(__spec__.name))
