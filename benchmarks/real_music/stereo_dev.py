"""The stereo image beside the descriptors family, chosen on the DEVELOPMENT corpus (issue 18; label-free).

    MUSIM_REAL_MUSIC_DEV=... MUSIM_REAL_MUSIC=... .venv/bin/python -m benchmarks.real_music.stereo_dev \\
        [--benchmark] [CACHE]

Every block tried for the family so far reads the mono mix (the mean of the channels, librosa's ``to_mono``):
timbre, tags, rhythm, harmony, notes. How a composer spreads the parts across the two channels is thrown away
before any of them sees the audio. Within one game's soundtrack, where production style is shared by the package,
each composer still mixes their own tracks (or, for a rendered score, the soundfont places the instruments they
chose), so the stereo image is a candidate signature the mono mix cannot carry. The library stores each excerpt
with its channels (:func:`musim.library.formats.encode_flac`), so the family could read it.

The input is each track's 30-second excerpt as the family reads it (the middle 30 s, read by seeking, as
:func:`musim.models.label_baselines.read_excerpts` does) with its channels kept, at 22,050 Hz; a mono file is its
one channel twice. Short-time Fourier transform of each channel (2,048 samples, hop 512, Hann), bins grouped into the
seven octave bands of librosa's spectral contrast (edges 0, 200, 400, 800, 1,600, 3,200, 6,400 Hz and Nyquist). In
each band and frame: the energies of the left, right, mid ``(L + R) / 2`` and side ``(L - R) / 2`` channels and the
real part of the cross-spectrum. Only a band's active frames count (energy above 10^-6 of that band's loudest
frame, i.e. within 60 dB of it); a band with none gives the mono values (width -40 dB, correlation 1, pan 0).

The three candidate blocks, fixed before any number was seen:

- ``width``: per band, the side-to-mid energy ratio in dB (clipped to [-40, 20]) and the inter-channel correlation
  ``Re(sum L R*) / sqrt(sum |L|^2 sum |R|^2)`` (per frame, over the band's bins), each averaged and its standard
  deviation taken over the active frames (28 columns);
- ``balance``: per band, the pan ``(E_L - E_R) / (E_L + E_R)`` averaged, its standard deviation and its mean absolute
  value over the active frames (21 columns);
- ``stereo``: both (49 columns).

Each block is z-scored over the corpus being scored (constant columns dropped) and divided by the square root of its
columns (:func:`benchmarks.real_music.pitch_dev.scaled_block`, as the family's blocks are), and added beside the
family's blocks at :data:`musim.models.families.descriptors.DEFAULT_WEIGHTS` with weight 0.25, 0.5 or 1.

The rule, fixed and committed before this script first ran: the candidates are the 3 blocks x 3 weights and w = 0
(the family as adopted), 10 in all. The development argmax is adopted only if the choice made leave-one-package-out
(each package's queries scored with the candidate best on the other packages' queries;
:func:`benchmarks.real_music.dev_select.report_choice`) beats w = 0 with its 95% CI over (package, composer) clusters
above 0 (an argmax of w = 0 adopts nothing). Otherwise nothing changes, whatever the benchmark prints. Each block
alone, libmusly and the share of mono tracks are printed beside them as diagnoses, not candidates (20-MFCC by
``scored_candidates``). ``--benchmark`` scores every candidate once on the benchmark corpus after the choice (never
used to choose).

The run (2026-12-07, the development corpus of ``make_dev_corpus.sh``: 274 tracks, 250 queries in 43 clusters): w 0
0.742; width 0.742 / 0.742 / 0.715, balance 0.745 / 0.746 / 0.732, stereo 0.743 / 0.744 / 0.732 at w 0.25 / 0.5 / 1;
alone: width 0.626, balance 0.620, stereo 0.647 (20-MFCC 0.651). The dev argmax is balance w 0.5, chosen
leave-one-package-out 0.744, +0.003 [-0.007, +0.012] over clusters: **not adopted**, the family is unchanged
(benchmarks/RESULTS.md, "The stereo image beside the family").
"""

from __future__ import annotations

import sys
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

SR, N_FFT, HOP = 22050, 2048, 512
BAND_EDGES_HZ = (0.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0, SR / 2 + 1)  # librosa's spectral contrast bands
ACTIVE_DB = -60.0  # a band's frames within this many dB of its loudest frame count
WIDTH_FLOOR_DB, WIDTH_CEIL_DB = -40.0, 20.0
BLOCKS = ("width", "balance", "stereo")
WEIGHTS = (0.25, 0.5, 1.0)
_TINY = 1e-20


def read_stereo_excerpt(path: Path, *, sr: int = SR) -> np.ndarray | str:
    """A file's ``(2, n)`` excerpt at ``sr``, read as the family reads it but with its channels
    (:func:`musim.models.label_baselines.read_excerpts`, the middle 30 s; a mono file's one channel twice, a file of
    more channels its first two), or why it does not decode."""
    _, excerpts, failed = read_excerpts([path], sr=sr, mono=False)
    if failed:
        return failed[0][1]
    y = np.atleast_2d(np.asarray(excerpts[0], np.float64))
    return np.vstack([y[0], y[0]]) if y.shape[0] == 1 else y[:2]


def band_spectra(y: np.ndarray) -> dict[str, np.ndarray]:
    """Per band and frame (``(7, frames)`` each) of a ``(2, n)`` excerpt: the energies ``left``, ``right``, ``mid``,
    ``side`` and the cross-spectrum's real part ``cross``, each summed over the band's bins."""
    import librosa

    spec = librosa.stft(np.ascontiguousarray(y), n_fft=N_FFT, hop_length=HOP, window="hann")  # (2, bins, frames)
    left, right = spec[0], spec[1]
    freqs = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    per_bin = {"left": np.abs(left) ** 2, "right": np.abs(right) ** 2, "mid": np.abs(left + right) ** 2 / 4,
               "side": np.abs(left - right) ** 2 / 4, "cross": np.real(left * np.conj(right))}
    bands = [(freqs >= lo) & (freqs < hi) for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:], strict=True)]
    return {k: np.stack([v[b].sum(axis=0) for b in bands]) for k, v in per_bin.items()}


def _stats(values: np.ndarray, active: np.ndarray, mono_value: float, *, absolute: bool = False) -> list[float]:
    """Mean and standard deviation (and the mean absolute value if ``absolute``) of ``values`` over ``active``
    frames; the mono value (and a spread of 0) where the band has none."""
    v = values[active]
    if v.size == 0:
        return [mono_value, 0.0] + ([abs(mono_value)] if absolute else [])
    return [float(v.mean()), float(v.std())] + ([float(np.abs(v).mean())] if absolute else [])


def stereo_blocks(y: np.ndarray) -> dict[str, np.ndarray]:
    """The three candidate blocks of one ``(2, n)`` excerpt (see the module docstring)."""
    b = band_spectra(y)
    total = b["left"] + b["right"]
    width, balance = [], []
    for k in range(total.shape[0]):
        loudest = total[k].max()
        active = total[k] > loudest * 10 ** (ACTIVE_DB / 10) if loudest > 0 else np.zeros_like(total[k], bool)
        ratio_db = 10 * np.log10((b["side"][k] + _TINY) / (b["mid"][k] + _TINY))
        ratio_db = np.clip(ratio_db, WIDTH_FLOOR_DB, WIDTH_CEIL_DB)
        corr = b["cross"][k] / np.sqrt(b["left"][k] * b["right"][k] + _TINY)
        pan = (b["left"][k] - b["right"][k]) / (total[k] + _TINY)
        width += _stats(ratio_db, active, WIDTH_FLOOR_DB) + _stats(np.clip(corr, -1, 1), active, 1.0)
        balance += _stats(pan, active, 0.0, absolute=True)
    width_v, balance_v = np.asarray(width), np.asarray(balance)
    return {"width": width_v, "balance": balance_v, "stereo": np.concatenate([width_v, balance_v])}


def is_mono(y: np.ndarray) -> bool:
    """Whether a ``(2, n)`` excerpt's channels are the same to 16-bit precision."""
    return bool(np.max(np.abs(y[0] - y[1])) < 2.0 ** -15)


def stereo_vectors(labels, path: Path) -> dict[str, np.ndarray]:
    """``block -> (tracks, d)`` of every track of ``labels`` and ``mono (tracks,)``, cached in ``path`` (an
    ``.npz``); each excerpt is read and dropped in turn."""
    if path.is_file():
        z = dict(np.load(path))
        if all(z[b].shape[0] == len(labels) for b in (*BLOCKS, "mono")):
            return z
    rows: dict[str, list] = {}
    for i, p in enumerate(labels.paths):
        y = read_stereo_excerpt(p)
        if isinstance(y, str):
            raise SystemExit(f"stereo_dev: {p} does not decode: {y}")
        for name, v in stereo_blocks(y).items():
            rows.setdefault(name, []).append(v)
        rows.setdefault("mono", []).append(is_mono(y))
        if i % 25 == 0:
            print(f"  stereo_dev {i}/{len(labels)}", file=sys.stderr, flush=True)
    out = {k: np.asarray(np.stack(v) if k != "mono" else v) for k, v in rows.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


NAMES = [candidate_name(None, 0.0), *(candidate_name(b, w) for b in BLOCKS for w in WEIGHTS)]


def scored(corpus: Path, cache: Path):
    """What :func:`benchmarks.real_music.dev_select.decide` scores on ``corpus``; the diagnoses printed first."""
    from musim.audio import DESCRIPTOR_NAMES

    names = list(DESCRIPTOR_NAMES)
    labels, feats = _load(corpus, cache, names)
    family = descriptor_blocks(feats, names)
    raw = stereo_vectors(labels, cache / "stereo.npz")
    stereo = {b: scaled_block(raw[b]) for b in BLOCKS}
    sims = beside_family(family, stereo, WEIGHTS, key="stereo")
    assert list(sims) == NAMES
    sets = pair_sets(labels.artists, np.asarray(labels.groups), np.ones(len(labels), bool))
    diag = {**{f"{b} alone": auc_per_query(cosine_similarity(stereo[b]), sets) for b in BLOCKS},
            "libmusly": auc_per_query(feats["musly"], sets)}
    mono = np.asarray(raw["mono"], bool)
    groups = np.asarray(labels.groups)
    print(f"diagnoses on {corpus}: " + ", ".join(f"{k} {v.mean():.3f}" for k, v in diag.items())
          + f"; mono tracks {int(mono.sum())} of {len(mono)} (" + ", ".join(
              f"{g} {int(mono[groups == g].sum())}/{int((groups == g).sum())}" for g in sorted(set(groups))) + ")",
          flush=True)
    return scored_candidates(corpus, labels, sims.values(), feats["mfcc20"])


def main(argv: list[str] | None = None) -> None:
    args = corpus_parser(__doc__, "stereo_dev", benchmark_once=True).parse_args(argv)
    check_corpora(args, "stereo_dev")
    decide(args, NAMES, scored, against="w 0", keep="the family as adopted")


if __name__ == "__main__":
    main()
