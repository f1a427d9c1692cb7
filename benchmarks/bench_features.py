"""Batch log-mel extraction from 30-second mp3 previews: musim's process pool vs a plain librosa loop.

Both sides decode the same mp3 files (synthesised demo previews, 44.1 kHz stereo like Deezer's), resample to
22050 Hz and compute the default 256 x 64 log-mel (``MelParams()``):

- **musim**: :func:`musim.audio.batch.compute_log_mels` with one worker process per core;
- **baseline**: one process, ``librosa.load(path, sr=22050)`` + ``librosa.feature.melspectrogram`` +
  ``librosa.power_to_db(ref=np.max, top_db=80)``.

Warm-up is excluded from both timings the same way: each side computes one file untimed first (librosa's
lazy imports, the mel filterbank, numba); the pool's workers are forked afterwards and inherit that warm
state, while pool start-up itself is inside the timed region. Each side runs twice, interleaved, and the
best round counts (the machine may be shared); CPU seconds per preview are reported too, since they do not
depend on what else runs.

The baseline runs with BLAS limited to one thread (threadpoolctl). Left at its default, OpenBLAS runs the
mel product of ``melspectrogram`` on every core with spinning threads, which made the plain loop about 1.6x
*slower* on a busy 2-core machine; comparing against that would flatter the pool. That default-threads
number is reported in the notes. (musim applies the mel filterbank as a sparse matrix and uses no BLAS.) The arrays of both sides are compared element-wise.

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


def run(*, quick: bool, workdir: Path) -> list[dict]:
    from threadpoolctl import threadpool_limits

    from musim.audio import MelParams
    from musim.audio.batch import compute_log_mels, default_workers, log_mel_of
    from musim.synth.audio import synthesize_clip, write_clip, write_previews

    n = N_QUICK if quick else N_FULL
    rounds = 2
    workers = default_workers()
    folder = Path(workdir) / f"previews_mp3_v{GEN_VERSION}"
    existing = len(list(folder.glob("preview_*.mp3"))) if folder.exists() else 0
    t0 = time.perf_counter()
    paths = write_previews(folder, n, fmt="mp3", sr=44100, workers=workers)
    gen_s = time.perf_counter() - t0
    params = MelParams()

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

    # Warm-up, untimed, for both sides (imports, filterbank, numba caches).
    _reference_one(paths[0])
    log_mel_of(paths[0], params=params)

    best_ours = best_ref = float("inf")
    cpu_ours = cpu_ref = float("inf")
    ours: dict[int, np.ndarray] = {}
    ref: list[np.ndarray] = []
    for _ in range(rounds):
        c0, t0 = _cpu(), time.perf_counter()
        got = dict(compute_log_mels(paths, params=params, workers=workers))  # workers are joined at the end
        best_ours = min(best_ours, time.perf_counter() - t0)
        cpu_ours = min(cpu_ours, _cpu() - c0)
        c0, t0 = _cpu(), time.perf_counter()
        with threadpool_limits(1):  # a fair baseline: see the module docstring
            ref = [_reference_one(p) for p in paths]
        best_ref = min(best_ref, time.perf_counter() - t0)
        cpu_ref = min(cpu_ref, _cpu() - c0)
        ours = got
    t0 = time.perf_counter()
    for p in paths:  # the librosa loop once more, with the BLAS threads it starts by default
        _reference_one(p)
    default_threads_s = time.perf_counter() - t0

    errors = [i for i, v in ours.items() if not isinstance(v, np.ndarray)]
    diff = max(float(np.max(np.abs(ours[i] - ref[i]))) for i in range(n) if i not in errors)
    rate, rate_ref = n / best_ours, n / best_ref
    ratio = rate / rate_ref
    rows = [
        _row("log_mel_previews_per_s", round(rate, 2), "previews/s", baseline="librosa loop, 1 process",
             baseline_value=round(rate_ref, 2), ratio=round(ratio, 3), target=">= 1.8x", met=ratio >= 1.8,
             notes=f"{n} x 30 s mp3 (44.1 kHz stereo) -> 22050 Hz -> 256x64 log-mel; {workers} workers; "
                   f"best of {rounds} wall-clock rounds; {len(errors)} errors; CPU per preview "
                   f"{1000 * cpu_ours / n:.1f} ms (pool, incl. start-up) vs {1000 * cpu_ref / n:.1f} ms (librosa); "
                   f"the librosa loop with default BLAS threads: {n / default_threads_s:.2f} previews/s"),
        _row("log_mel_max_abs_diff", diff, "dB", baseline="librosa loop, 1 process", target="<= 1e-3 dB",
             met=diff <= 1e-3, notes="max |musim - librosa| over all previews and bins"),
        _row("synth_clip_cpu", round(min(synth_ms), 1), "ms", target="< 100 ms", met=min(synth_ms) < 100,
             notes=f"numpy CPU time for one 30 s clip at 22050 Hz (best of 5; median {np.median(synth_ms):.1f})"),
        _row("mp3_encode_cpu", round(mp3_s, 3), "s/clip",
             notes="writing one 30 s 44.1 kHz stereo mp3 with soundfile (LAME), CPU time; this run generated "
                   f"{max(0, n - existing)} previews in {gen_s:.1f} s wall ({workers} processes)"),
    ]
    return rows


if __name__ == "__main__":  # pragma: no cover - manual run
    import json
    import sys
    import tempfile

    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(run(quick=quick, workdir=Path(d)), indent=2))
