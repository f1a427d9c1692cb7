"""basic-pitch's pretrained representation beside the descriptors family, chosen on the DEVELOPMENT corpus (issue 18;
label-free).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.pitch_dev \\
        [--benchmark] [CACHE]

basic-pitch 0.4.0 (Spotify; Bittner et al., ICASSP 2022) ships its trained note-transcription network in its wheel
(``basic_pitch/saved_models/icassp_2022/``: a SavedModel, ``nmp.onnx`` and ``nmp.tflite``, about 0.2 MB of weights).
It was trained on pitch annotations of many instruments and voices, not on any tag or artist label, so its outputs
describe what is played (which pitches, how many at once, how they move), which the family's blocks (contrast and
timbre Gaussians, musicnn's tag-trained penultimate layer) do not read directly.

How it is run: TensorFlow 2.21 cannot load the wheel's SavedModel (``tf.saved_model.load`` stops on its optimizer
slots: ``'_UserObject' object has no attribute 'add_slot'``) and ``basic_pitch.inference`` does not import here
(resampy 0.4.2 imports ``pkg_resources``, which the lock does not install), so the wheel's ``nmp.tflite`` runs in
``tf.lite.Interpreter`` with every tensor kept (the internal layer below is read from it), with basic-pitch's own
windowing written out (:func:`windows`, :func:`unwrap`: 2-s windows at 22,050 Hz overlapping by 30 frames of 256
samples, half of the overlap dropped on each side, trimmed to the excerpt's frames; ``run_inference`` of
basic-pitch 0.4.0). The input is each track's 30-second excerpt as the family reads it
(:func:`musim.models.label_baselines.read_excerpts`, the middle 30 s, mono, here at 22,050 Hz).

The three candidate blocks, fixed before any number was seen (86 frames a second):

- ``contour``: the contour posteriorgram (264 bins, a third of a semitone from A0) mean and standard deviation over
  time (528 columns);
- ``notes``: the note posteriorgram (88 piano keys) as :func:`note_stats` reads it, each value at or under
  basic-pitch's frame threshold 0.3 set to 0 (the keys sounding): the pitch-class profile rotated to its
  Krumhansl-Kessler key (12) with the key's mode and clarity (2); the posterior-weighted pitch's mean, standard
  deviation, 5th and 95th percentiles in semitones (4); polyphony (keys sounding) mean and standard deviation and
  the fraction of frames with a note (3); onsets a second (local maxima in time of the onset posteriorgram above
  basic-pitch's onset threshold 0.5) (1); the harmonic interval-class profile of the pitch classes sounding together
  (6) and the melodic one between frames 10 apart (0.12 s) (7): 35 columns;
- ``hidden``: the note branch's last hidden layer (``re_lu_2``: 32 channels at each of the 88 keys, the layer the
  note posteriorgram is computed from), per channel its mean over the keys and its maximum over the keys, each
  averaged and its standard deviation taken over time (128 columns).

Each block is z-scored over the corpus being scored (constant columns dropped) and divided by the square root of its
columns, as the family's blocks are (:func:`benchmarks.real_music.dev_select.descriptor_blocks`), and added beside
the family's blocks at :data:`musim.models.families.descriptors.DEFAULT_WEIGHTS` with weight 0.25, 0.5 or 1.

The rule, fixed and committed before this script first ran: the candidates are the 3 blocks x 3 weights and w = 0
(the family as adopted), 10 in all. The development argmax is adopted only if the choice made leave-one-package-out
(each package's queries scored with the candidate best on the other packages' queries;
:func:`benchmarks.real_music.dev_select.report_choice`) beats w = 0 with its 95% CI over (package, composer) clusters
above 0 (an argmax of w = 0 adopts nothing). Otherwise nothing changes, whatever the benchmark prints. Each block
alone, the 20-MFCC and libmusly baselines are printed beside them as diagnoses, not candidates. ``--benchmark``
scores every candidate once on the benchmark corpus after the choice (never used to choose).

The run (2026-12-07, the development corpus of ``make_dev_corpus.sh``: 223 tracks, 203 queries in 34 clusters): w 0
0.739; contour 0.740 / 0.743 / 0.739, notes 0.742 / 0.742 / 0.736, hidden 0.737 / 0.732 / 0.716 at w 0.25 / 0.5 / 1;
the dev argmax is contour w 0.5, chosen leave-one-package-out 0.735, -0.004 [-0.014, +0.003] over clusters: **not
adopted**, the family is unchanged (benchmarks/RESULTS.md, "basic-pitch's pretrained network beside the family").
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import (
    _load,
    beside_family,
    check_corpora,
    corpus_parser,
    descriptor_blocks,
    paired_ci,
    report_choice,
)
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from musim.models.label_baselines import read_excerpts, standardized
from musim.models.label_eval import cosine_similarity

# basic-pitch 0.4.0's constants (basic_pitch/constants.py) and run_inference's overlap
SR = 22050
FFT_HOP = 256
FPS = SR // FFT_HOP  # 86 frames a second, as basic-pitch counts them
WINDOW = SR * 2 - FFT_HOP  # AUDIO_N_SAMPLES: 43,844 samples, 172 frames
OVERLAP_FRAMES = 30
OVERLAP = OVERLAP_FRAMES * FFT_HOP
HOP = WINDOW - OVERLAP
LOWEST_MIDI = 21  # A0, the first of the 88 keys
FRAME_THRESHOLD = 0.3  # basic-pitch's defaults for notes and onsets
ONSET_THRESHOLD = 0.5
MELODIC_LAG = 10  # frames between the two ends of a melodic interval (0.12 s)
HIDDEN = "model_1/re_lu_2/Relu"  # the note branch's hidden layer in nmp.tflite

BLOCKS = ("contour", "notes", "hidden")
WEIGHTS = (0.25, 0.5, 1.0)

# Krumhansl & Kessler (1982) key profiles, tonic first
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

Run = Callable[[np.ndarray], dict[str, np.ndarray]]


def model_path() -> Path:
    """The wheel's ``nmp.tflite`` (found without importing basic_pitch, whose inference module needs setuptools)."""
    spec = importlib.util.find_spec("basic_pitch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pitch_dev: basic-pitch is not installed (the bench extra of requirements.lock)")
    return Path(next(iter(spec.submodule_search_locations))) / "saved_models" / "icassp_2022" / "nmp.tflite"


def tflite_runner(path: Path | None = None, *, threads: int = 2) -> Run:
    """``windows (B, WINDOW) -> {note, onset: (B, 172, 88), contour: (B, 172, 264), hidden_mean, hidden_max:
    (B, 172, 32)}``: the network in ``tf.lite.Interpreter``, every tensor kept so that :data:`HIDDEN` can be read
    (its mean and maximum over the 88 keys)."""
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation and the keep-every-tensor notice
        it = tf.lite.Interpreter(model_path=str(path or model_path()), experimental_preserve_all_tensors=True,
                                 num_threads=threads)
    index = it.get_input_details()[0]["index"]
    by_name: dict[str, list[int]] = {}
    for d in it.get_tensor_details():
        by_name.setdefault(d["name"].split(";")[0], []).append(d["index"])
    tensor = {k: by_name[k][0] for k in (HIDDEN, "StatefulPartitionedCall:0", "StatefulPartitionedCall:1",
                                         "StatefulPartitionedCall:2") if len(by_name.get(k, ())) == 1}
    if len(tensor) != 4:
        raise SystemExit(f"pitch_dev: {path or model_path()} is not basic-pitch 0.4.0's network")
    # the outputs as basic-pitch's ONNX branch names them: contour :0, note :1, onset :2
    state = {"batch": 0}

    def run(windows: np.ndarray) -> dict[str, np.ndarray]:
        b = windows.shape[0]
        if state["batch"] != b:
            it.resize_tensor_input(index, [b, WINDOW, 1])
            it.allocate_tensors()
            state["batch"] = b
        it.set_tensor(index, np.asarray(windows, np.float32)[:, :, None])
        it.invoke()
        hidden = it.get_tensor(tensor[HIDDEN])
        return {"note": it.get_tensor(tensor["StatefulPartitionedCall:1"]).copy(),
                "onset": it.get_tensor(tensor["StatefulPartitionedCall:2"]).copy(),
                "contour": it.get_tensor(tensor["StatefulPartitionedCall:0"]).copy(),
                "hidden_mean": hidden.mean(axis=2), "hidden_max": hidden.max(axis=2)}

    return run


def windows(y: np.ndarray) -> tuple[np.ndarray, int]:
    """basic-pitch's input windows of ``y`` (mono at :data:`SR`): half the overlap of zeros in front, windows of
    :data:`WINDOW` samples every :data:`HOP`, the last zero-padded; and the number of frames of ``y``."""
    y = np.asarray(y, np.float32)
    padded = np.concatenate([np.zeros(OVERLAP // 2, np.float32), y])
    out = []
    for start in range(0, padded.size, HOP):
        w = padded[start:start + WINDOW]
        out.append(np.pad(w, (0, WINDOW - w.size)))
    return np.stack(out), int(np.floor(y.size * FPS / SR))


def unwrap(out: np.ndarray, n_frames: int) -> np.ndarray:
    """``(windows, frames, ...)`` model outputs as one ``(n_frames, ...)`` array: half the overlapping frames
    dropped at each end of every window, the rest in order, trimmed to the excerpt (basic-pitch's unwrap_output)."""
    half = OVERLAP_FRAMES // 2
    kept = out[:, half:-half]
    return kept.reshape(-1, *out.shape[2:])[:n_frames]


def posteriorgrams(y: np.ndarray, run: Run, *, batch: int = 8) -> dict[str, np.ndarray]:
    """Every output of ``run`` over ``y``'s windows, unwrapped to one frame a row."""
    w, n_frames = windows(y)
    parts: dict[str, list[np.ndarray]] = {}
    for s in range(0, w.shape[0], batch):
        for k, v in run(w[s:s + batch]).items():
            parts.setdefault(k, []).append(v)
    return {k: unwrap(np.concatenate(v), n_frames) for k, v in parts.items()}


def pitch_classes(keys: np.ndarray) -> np.ndarray:
    """``(..., 88)`` key values summed into ``(..., 12)`` pitch classes (0 = C; key 0 is A0, MIDI 21)."""
    keys = np.asarray(keys, np.float64)
    pcs = (LOWEST_MIDI + np.arange(keys.shape[-1])) % 12
    onehot = (pcs[:, None] == np.arange(12)[None, :]).astype(np.float64)
    return keys @ onehot


def _unit_sum(v: np.ndarray) -> np.ndarray:
    total = float(v.sum())
    return v / total if total > 0 else np.zeros_like(v)


def key_normalised(profile: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The pitch-class ``profile`` (sums to 1) rotated so that its Krumhansl-Kessler key's tonic comes first, the
    key's mode (1 major, 0 minor) and its correlation (the key's clarity; 0 for a flat profile)."""
    p = np.asarray(profile, np.float64)
    if np.ptp(p) == 0:
        return p.copy(), 0.0, 0.0
    best = (-2.0, 0, 0.0)
    for mode, template in ((1.0, MAJOR), (0.0, MINOR)):
        for tonic in range(12):
            r = float(np.corrcoef(p, np.roll(template, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    r, tonic, mode = best
    return np.roll(p, -tonic), mode, r


def _interval_classes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(7,)``: the mass of pitch-class pairs ``a[t, i] * b[t, j]`` by interval class ``min(d, 12 - d)`` of
    ``d = (j - i) mod 12``, summed over the rows ``t``."""
    cross = np.stack([(a * np.roll(b, -d, axis=1)).sum() for d in range(12)])
    ic = np.zeros(7)
    for d in range(12):
        ic[min(d, 12 - d)] += cross[d]
    return ic


def note_stats(note: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """The ``notes`` block of one excerpt (35 columns, see the module docstring) from its note and onset
    posteriorgrams ``(frames, 88)``."""
    note, onset = np.asarray(note, np.float64), np.asarray(onset, np.float64)
    note = np.where(note > FRAME_THRESHOLD, note, 0.0)  # the sounding keys only: the background spreads over all 88
    per_key = note.sum(axis=0)
    pcp, mode, clarity = key_normalised(_unit_sum(pitch_classes(per_key)))
    midi = LOWEST_MIDI + np.arange(note.shape[1], dtype=np.float64)
    w = _unit_sum(per_key)
    if w.sum() > 0:
        mean = float(w @ midi)
        sd = float(np.sqrt(w @ (midi - mean) ** 2))
        cdf = np.cumsum(w)
        p5, p95 = (float(midi[min(int(np.searchsorted(cdf, q)), midi.size - 1)]) for q in (0.05, 0.95))
    else:
        mean = sd = p5 = p95 = 0.0
    poly = (note > 0).sum(axis=1).astype(np.float64)
    peaks = (onset > ONSET_THRESHOLD)
    peaks[1:] &= onset[1:] >= onset[:-1]
    peaks[:-1] &= onset[:-1] >= onset[1:]
    seconds = max(note.shape[0] / FPS, 1e-9)
    frames = pitch_classes(note)
    harmonic = _unit_sum(_interval_classes(frames, frames)[1:])
    lag = min(MELODIC_LAG, max(note.shape[0] - 1, 0))
    melodic = _unit_sum(_interval_classes(frames[:-lag], frames[lag:])) if lag else np.zeros(7)
    return np.concatenate([pcp, [mode, clarity, mean, sd, p5, p95, poly.mean(), poly.std(), float((poly > 0).mean()),
                                 peaks.sum() / seconds], harmonic, melodic])


def contour_stats(contour: np.ndarray) -> np.ndarray:
    """The ``contour`` block: each of the 264 bins' mean and standard deviation over time."""
    c = np.asarray(contour, np.float64)
    return np.concatenate([c.mean(axis=0), c.std(axis=0)])


def hidden_stats(key_mean: np.ndarray, key_max: np.ndarray) -> np.ndarray:
    """The ``hidden`` block: each channel's mean and maximum over the keys ``(frames, 32)``, averaged and their
    standard deviation over time (128 columns)."""
    m, x = np.asarray(key_mean, np.float64), np.asarray(key_max, np.float64)
    return np.concatenate([m.mean(axis=0), m.std(axis=0), x.mean(axis=0), x.std(axis=0)])


def track_vectors(y: np.ndarray, run: Run) -> dict[str, np.ndarray]:
    """The three candidate blocks of one excerpt (mono at :data:`SR`)."""
    g = posteriorgrams(y, run)
    return {"contour": contour_stats(g["contour"]), "notes": note_stats(g["note"], g["onset"]),
            "hidden": hidden_stats(g["hidden_mean"], g["hidden_max"])}


def pitch_vectors(labels, path: Path) -> dict[str, np.ndarray]:
    """``block -> (tracks, d)`` of every track of ``labels``, cached in ``path`` (an ``.npz``)."""
    if path.is_file():
        z = dict(np.load(path))
        if all(z[b].shape[0] == len(labels) for b in BLOCKS):
            return z
    kept, excerpts, failed = read_excerpts(labels.paths, sr=SR)
    if len(kept) != len(labels):
        raise SystemExit(f"pitch_dev: {len(failed)} files failed to decode: {failed[:3]}")
    run = tflite_runner()
    rows: dict[str, list[np.ndarray]] = {}
    for i, y in enumerate(excerpts):
        for name, v in track_vectors(y, run).items():
            rows.setdefault(name, []).append(v)
        if i % 25 == 0:
            print(f"  pitch_dev {i}/{len(excerpts)}", file=sys.stderr, flush=True)
    out = {k: np.stack(v) for k, v in rows.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def scaled_block(v: np.ndarray) -> np.ndarray:
    """A candidate block as the family's blocks are: columns z-scored over the tracks, constant ones dropped, the
    block divided by the square root of its columns (its squared norm about 1)."""
    z = standardized(np.asarray(v, np.float64)).astype(np.float64)
    z = z[:, z.std(axis=0) > 0]
    return z / np.sqrt(max(z.shape[1], 1))


def candidates(family: dict[str, np.ndarray], pitch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Similarity matrix of each candidate: the family as adopted, and each pitch block beside it at each weight."""
    return beside_family(family, {b: pitch[b] for b in BLOCKS}, WEIGHTS, key="pitch")


def scored(corpus: Path, cache: Path):
    """Per-query AUC of every candidate and of the diagnoses on ``corpus``, the queries' packages and clusters."""
    from musim.audio import DESCRIPTOR_NAMES

    names = list(DESCRIPTOR_NAMES)
    labels, feats = _load(corpus, cache, names)
    family = descriptor_blocks(feats, names)
    pitch = {b: scaled_block(v) for b, v in pitch_vectors(labels, cache / "basic_pitch.npz").items()}
    groups = np.asarray(labels.groups)
    sets = pair_sets(labels.artists, groups, np.ones(len(labels), bool))
    clusters = [f"{groups[i]}/{labels.artists[i]}" for i, _, _ in sets]
    per = {k: auc_per_query(s, sets) for k, s in candidates(family, pitch).items()}
    diag = {**{f"{b} alone": auc_per_query(cosine_similarity(pitch[b]), sets) for b in BLOCKS},
            "20-MFCC": auc_per_query(cosine_similarity(feats["mfcc20"]), sets),
            "libmusly": auc_per_query(feats["musly"], sets)}
    return labels, per, diag, groups[[i for i, _, _ in sets]], clusters, sets


def _describe(tag: str, corpus: Path, labels, sets, clusters, diag) -> None:
    print(f"{tag} corpus {corpus}: {len(labels)} tracks of {len(set(labels.artists))} composers; {len(sets)} queries "
          f"in {len(set(clusters))} (package, composer) clusters; diagnoses: " + ", ".join(
              f"{k} {v.mean():.3f}" for k, v in diag.items()), flush=True)


def main(argv: list[str] | None = None) -> None:
    args = corpus_parser(__doc__, "pitch_dev", benchmark_once=True).parse_args(argv)
    check_corpora(args, "pitch_dev")
    rng = np.random.default_rng(0)

    labels, per, diag, packages, clusters, sets = scored(Path(args.dev_corpus), args.cache / "dev")
    _describe("development", args.dev_corpus, labels, sets, clusters, diag)
    names = list(per)
    base = per[names[0]]
    print("\non the development corpus, against w 0:")
    choice, passed = report_choice(np.stack([per[n] for n in names]), names, base, packages, clusters, rng,
                                   against="w 0")
    adopt = passed and choice > 0
    print(f"decision: {'ADOPT ' + names[choice] if adopt else 'keep the family as adopted (the rule is not met)'}",
          flush=True)

    if args.benchmark:
        labels_b, per_b, diag_b, packages_b, clusters_b, sets_b = scored(Path(args.corpus), args.cache / "benchmark")
        print("\nonce, after the choice, NOT used to choose:")
        _describe("benchmark", args.corpus, labels_b, sets_b, clusters_b, diag_b)
        for n in names:
            m, lo, hi = paired_ci(per_b[n] - diag_b["20-MFCC"], rng)
            d, dlo, dhi = paired_ci(per_b[n] - per_b[names[0]], rng)
            print(f"  {n}: {per_b[n].mean():.3f}; - 20-MFCC {m:+.3f} [{lo:+.3f}, {hi:+.3f}]; - w 0 "
                  f"{d:+.3f} [{dlo:+.3f}, {dhi:+.3f}] over queries")
        for n in (names[0], names[choice]):
            print(f"  per package, {n}: " + ", ".join(
                f"{p} {per_b[n][packages_b == p].mean():.3f} ({int((packages_b == p).sum())})"
                for p in sorted(set(packages_b))))


if __name__ == "__main__":
    main()
