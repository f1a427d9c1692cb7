"""Reading the analysis window of whole tracks: by seeking (the library's ``probe`` + ``read_excerpt``,
what ``musim library add`` does) against decoding the whole file and cutting 30 s, on the same multi-minute
files (ogg, mp3, flac, m4a); ``musim library add`` of them (fresh warehouse and object store) across the audio
pool against the same add in one worker process (--workers 1);
and ``musim embed`` of those files (:func:`musim.models.new_audio.embed_files`: load the model, read each
excerpt by seeking, compute its features, encode) against reading their excerpts and computing the features
alone (:func:`~musim.models.audio_files.featurise_file` per file), target <= 1.5x (issue 17). The model is a
small autoencoder trained on the added tracks (its training is not timed; TensorFlow is imported before)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _tracks(workdir: Path, n: int, seconds: float) -> list[Path]:
    sys.path.insert(0, str(REPO))
    from tests.library.conftest import write_audio

    fmts = ("ogg", "mp3", "flac", "m4a")
    out = []
    for i in range(n):
        fmt = fmts[i % len(fmts)]
        path = workdir / f"tracks-{seconds:g}" / f"Artist {i % 5}" / f"{i:03d} track.{fmt}"
        if not path.exists():
            write_audio(path, fmt, seconds=seconds, seed=i, freq=150 + 20 * i)
        out.append(path)
    return out


def run(*, quick: bool = False, workdir: Path) -> list[dict]:
    from musim.audio import load_audio, resample
    from musim.audio.batch import default_workers
    from musim.audio.excerpt import excerpt_window
    from musim.library.formats import probe, read_excerpt

    n, seconds = (6, 90.0) if quick else (24, 300.0)
    paths = _tracks(workdir, n, seconds)
    for p in paths:  # page cache warm for both
        p.read_bytes()

    started = time.perf_counter()
    for p in paths:
        y, sr = load_audio(p, sr=22050, key=str(p))
        offset, length = excerpt_window(y.size / sr)
        y = y[int(offset * sr):int((offset + length) * sr)]
    whole = time.perf_counter() - started

    started = time.perf_counter()
    for p in paths:
        info = probe(p)
        offset, length = excerpt_window(info.duration_s)
        x = read_excerpt(p, info, offset_s=offset, duration_s=length).mean(axis=0)
        x = resample(x, orig_sr=info.sample_rate, target_sr=22050)
    seek = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as home:
        os.environ["MUSIM_HOME"] = home
        from musim.config import get_settings
        from musim.library import add

        started = time.perf_counter()
        summary = add([paths[0].parent.parent], settings=get_settings())
        added = time.perf_counter() - started
        try:
            embed_s, features_s = _embed_against_features(paths)
            with tempfile.TemporaryDirectory() as alone_home:  # the baseline: the same add, one file at a time
                os.environ["MUSIM_HOME"] = alone_home
                started = time.perf_counter()
                alone = add([paths[0].parent.parent], settings=get_settings(), workers=1)
                added_alone = time.perf_counter() - started
        finally:
            os.environ.pop("MUSIM_HOME")
    assert alone.to_json() == summary.to_json()
    notes = f"{n} tracks of {seconds:g} s (ogg, mp3, flac, m4a)"
    return [
        {"benchmark": "library", "metric": "30-s window by seeking", "value": round(seek, 3), "unit": "s",
         "baseline": "whole decode + cut", "baseline_value": round(whole, 3), "ratio": round(seek / whole, 3),
         "target": "<= 1.0x", "met": seek <= whole, "notes": notes},
        {"benchmark": "library", "metric": "musim embed (autoencoder)", "value": round(embed_s, 3), "unit": "s",
         "baseline": "read 30-s excerpts + features", "baseline_value": round(features_s, 3),
         "ratio": round(embed_s / features_s, 3), "target": "<= 1.5x", "met": embed_s <= 1.5 * features_s,
         "notes": notes + "; model load + read by seeking + log-mel + encode"},
        {"benchmark": "library", "metric": "library add", "value": round(added, 3), "unit": "s",
         "baseline": "the same add in one worker process (--workers 1)", "baseline_value": round(added_alone, 3),
         "ratio": round(added / added_alone, 3), "target": "< 1.0x", "met": added < added_alone,
         "notes": f"{summary.stored} stored of {summary.files} files, FLAC excerpts, {default_workers()} workers; "
                  f"{summary.stored / added:.2f} tracks/s"},
    ]


#: A small autoencoder: the benchmark times embedding, not training.
AUTOENCODER = {"epochs": 1, "conv_filters": [8, 4], "batch_size": 8, "perplexity": 2.0, "k": 2}


def _embed_against_features(paths: list[Path]) -> tuple[float, float]:
    """``(embed_files seconds, featurise_file seconds)`` of ``paths`` by a small autoencoder trained on the
    library just added (in the current MUSIM_HOME)."""
    import tensorflow  # noqa: F401 - imported before timing (the CLI pays it once per process)

    from musim import warehouse
    from musim.features import BuildOptions, build
    from musim.models import constants, promotion, registry
    from musim.models.audio_files import featurise_file
    from musim.models.families import load_inputs, publish_version, run_family
    from musim.models.new_audio import embed_files

    build(["track_log_mel"], options=BuildOptions(progress=False), publish=False)  # log-mels: no online snapshot
    with warehouse.writer() as con:
        inputs = load_inputs(con, needs=("log_mel",))
        out = run_family("autoencoder", con=con, inputs=inputs, params=AUTOENCODER, n_boot=100, publish=False)
        if registry.get_model(con, out.entry.version).status != constants.CHAMPION:
            promotion.promote(con, out.entry.version, force=True)
        publish_version(con, out.entry.version, snapshot=True)
    files = [str(p) for p in paths]
    started = time.perf_counter()
    embedded, _, failed, champ = embed_files(files, version=out.entry.version)
    embed_s = time.perf_counter() - started
    if failed or len(embedded) != len(files):
        raise RuntimeError(f"embed failed on {failed}")
    started = time.perf_counter()
    for f in files:
        featurise_file(f, champ.params)
    return embed_s, time.perf_counter() - started
