"""What was tried beside the descriptor family's adopted blocks (issue 18), on the split of
:mod:`benchmarks.real_music.timbre_dev`: composer AUC within a package on the development composers (where every
choice is made), the test composers (only reported), and, for the diagnosis only, the whole corpus as
``benchmarks/bench_real_music.py`` scores it (never used to choose).

    MUSIM_REAL_MUSIC=benchmarks/data/real_music .venv/bin/python -m benchmarks.real_music.family_dev [CACHE_DIR]

It reads timbre_dev's cache (run that first) and adds ``extra-N.npz`` beside it: the chroma frames of each
30-second excerpt and the descriptor vector of each whole track. Three sections:

1. **Distance normalisation of the family's embedding** (hubness reduction, all fitted on the unlabelled tracks
   like the z-scoring): recentring after L2 normalisation (Suzuki et al. 2013), L2 per block before the weights,
   PCA to ``k`` components scaled by ``singular value ** -alpha`` (``alpha`` 1 is whitening), and two that
   give a matrix, not an embedding: mutual proximity (Schnitzer et al. 2012, what libmusly applies) and CSLS
   (each candidate penalised by its mean similarity to its ``k`` nearest tracks).
2. **More blocks**, alone and beside the family: the block-level features of Seyerlehner et al. (2010) on the
   cached log-mels (:func:`spectral_pattern`, delta and variance-delta patterns, :func:`fluctuation_pattern`,
   :func:`correlation_pattern`), onset statistics and the mean tempogram, loudness percentiles, a key-rotated
   chroma Gaussian, the timbre model without per-column z-scoring (its natural log-Euclidean metric), and the
   descriptors of the whole track instead of the 30-second excerpt.
3. **How well a weighting chosen on one half transfers**: the 4-block grid chosen on dev and reported on test,
   and the other way round; the block chosen most often over bootstrap resamples of the dev queries;
   greedy forward selection over every block; equal block weights (no choice at all); paired bootstrap CIs of
   each against the adopted family, on dev, test and the whole corpus, and the whole corpus per package.

The weights chosen instead on a development corpus of other packages (no composer of the benchmark):
:mod:`benchmarks.real_music.dev_select`.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.real_music.timbre_dev import SR, _cache, _split, mutual_proximity
from musim.models.label_baselines import read_excerpts, standardized
from musim.models.label_eval import cosine_similarity
from musim.models.labels import read_labels

HOP = 512  # of the cached log-mels


def pair_sets(artists, groups, mask: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per query track in ``mask``: ``(i, same composer in its package, other composers in its package)``, only
    the tracks of ``mask``, and only queries where both are non-empty (``auc_group`` of label_eval)."""
    a, g = np.asarray([str(x) for x in artists]), np.asarray([str(x) for x in groups])
    out = []
    for i in np.flatnonzero(mask):
        same_group = (g == g[i]) & mask
        pos = np.flatnonzero(same_group & (a == a[i]) & (np.arange(a.size) != i))
        neg = np.flatnonzero(same_group & (a != a[i]))
        if pos.size and neg.size:
            out.append((int(i), pos, neg))
    return out


def auc_per_query(sim: np.ndarray, sets: list[tuple[int, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each query's AUC of its positives against its negatives (ties half), in ``sets`` order."""
    vals = []
    for i, pos, neg in sets:
        p, n = sim[i, pos][:, None], sim[i, neg][None, :]
        vals.append(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))
    return np.asarray(vals, dtype=np.float64)


def _blocks(frames: np.ndarray, size: int, hop: int) -> np.ndarray:
    """``(blocks, bands, size)`` windows of ``frames (bands, t)``; a shorter track is padded with its last frame."""
    if frames.shape[1] < size:
        frames = np.pad(frames, ((0, 0), (0, size - frames.shape[1])), mode="edge")
    return np.stack([frames[:, s:s + size] for s in range(0, frames.shape[1] - size + 1, hop)])


def spectral_pattern(mel_db: np.ndarray, size: int = 10, hop: int = 5, q: float = 90) -> np.ndarray:
    """Each band's values sorted within blocks of ``size`` frames, then the ``q``-th percentile over blocks
    (``bands * size``): the distribution of the band's level, not its order in time."""
    return np.percentile(np.sort(_blocks(mel_db, size, hop), axis=2), q, axis=0).ravel()


def delta_spectral_pattern(mel_db: np.ndarray, *, variance: bool = False, size: int = 25, hop: int = 5,
                           q: float = 90) -> np.ndarray:
    """:func:`spectral_pattern` of the rises over 3 frames (``max(m[t+3] - m[t], 0)``, onsets); with ``variance``
    the variance over blocks instead of the percentile."""
    rises = np.maximum(mel_db[:, 3:] - mel_db[:, :-3], 0) if mel_db.shape[1] > 3 else np.zeros_like(mel_db)
    b = np.sort(_blocks(rises, size, hop), axis=2)
    return (b.var(axis=0) if variance else np.percentile(b, q, axis=0)).ravel()


def fluctuation_pattern(mel_db: np.ndarray, size: int = 256, hop: int = 64, n_mod: int = 12,
                        q: float = 60) -> np.ndarray:
    """Per band, the amplitude modulation spectrum of ~6-s blocks in ``n_mod`` log-spaced bands from 0.4 to 15 Hz,
    log1p, the ``q``-th percentile over blocks (``bands * n_mod``)."""
    b = _blocks(mel_db, size, hop)
    spec = np.abs(np.fft.rfft((b - b.mean(axis=2, keepdims=True)) * np.hanning(size), axis=2))
    freqs = np.fft.rfftfreq(size, HOP / SR)
    edges = np.geomspace(0.4, 15.0, n_mod + 1)
    bands = np.stack([spec[:, :, (freqs >= lo) & (freqs < hi)].mean(axis=2)
                      for lo, hi in zip(edges[:-1], edges[1:], strict=True)], axis=2)
    return np.log1p(np.percentile(bands, q, axis=0)).ravel()


def correlation_pattern(mel_db: np.ndarray, size: int = 256, hop: int = 64) -> np.ndarray:
    """The median over ~6-s blocks of the correlation between every two bands (upper triangle)."""
    iu = np.triu_indices(mel_db.shape[0], 1)
    cs = []
    for x in _blocks(mel_db, size, hop):
        sd = x.std(axis=1)
        xz = (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)[:, None]
        cs.append((xz @ xz.T / x.shape[1])[iu])
    return np.median(np.stack(cs), axis=0)


def reduce_bands(mel_db: np.ndarray, n: int) -> np.ndarray:
    """``n`` bands, each the mean of consecutive bands of ``mel_db``."""
    edges = np.linspace(0, mel_db.shape[0], n + 1).astype(int)
    return np.stack([mel_db[lo:hi].mean(axis=0) for lo, hi in zip(edges[:-1], edges[1:], strict=True)])


def pca_scaled(x: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """``x`` centred, projected on its first ``k`` principal axes, each divided by ``singular value ** alpha``."""
    xc = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    k = min(k, int((s > 1e-9 * s[0]).sum()))
    return (xc @ vt[:k].T) / s[:k] ** alpha


def csls(sim: np.ndarray, k: int) -> np.ndarray:
    """``2 sim - r_i - r_j`` with ``r`` each track's mean similarity to its ``k`` nearest other tracks."""
    s = sim.copy()
    np.fill_diagonal(s, -np.inf)
    r = np.sort(s, axis=1)[:, -k:].mean(axis=1)
    return 2 * sim - r[:, None] - r[None, :]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def _extra(labels, path: Path) -> dict[str, np.ndarray]:
    if path.is_file():
        return dict(np.load(path, allow_pickle=True))
    import librosa

    from musim.audio import descriptor_vector, descriptors
    from musim.audio.mel import power_spectrogram

    kept, excerpts, _ = read_excerpts(labels.paths, sr=SR)
    chroma = np.empty(len(excerpts), dtype=object)
    chroma[:] = [librosa.feature.chroma_stft(S=power_spectrogram(np.asarray(y, np.float32), n_fft=2048,
                                                                 hop_length=HOP, power=2.0), sr=SR, tuning=0.0)
                 for y in excerpts]
    kept_full, tracks, _ = read_excerpts(labels.paths, sr=SR, window_s=3600.0)
    if kept_full != kept:
        raise RuntimeError("the whole tracks and the excerpts decode differently")
    print(f"descriptors of {len(tracks)} whole tracks", file=sys.stderr)
    whole = np.stack([descriptor_vector(descriptors(np.asarray(y, np.float32), sr=SR)) for y in tracks])
    np.savez(path, kept=np.asarray(kept), chroma=chroma, whole_track=whole)
    return {"kept": np.asarray(kept), "chroma": chroma, "whole_track": whole}


def main() -> None:
    import librosa

    from musim.audio import DESCRIPTOR_NAMES
    from musim.audio.timbre import timbre_gaussian, timbre_vector
    from musim.models.families.descriptors import BLOCKS, DEFAULT_WEIGHTS, block_of, block_scales

    corpus = Path(os.environ.get("MUSIM_REAL_MUSIC") or "benchmarks/data/real_music")
    cache_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/musim_timbre_dev")
    labels = read_labels(corpus / "manifest.csv", group_by="source_package")
    feats = _cache(labels, cache_dir / f"features-{len(DESCRIPTOR_NAMES)}.npz")
    extra = _extra(labels, cache_dir / f"extra-{len(DESCRIPTOR_NAMES)}.npz")
    if not np.array_equal(extra["kept"], feats["kept"]):
        raise RuntimeError(f"{cache_dir}: the caches hold different tracks; delete them and rerun")
    labels = labels.subset([int(i) for i in feats["kept"]])
    dev = _split(labels)
    groups = np.asarray(labels.groups)
    sets = {"dev": pair_sets(labels.artists, groups, dev), "test": pair_sets(labels.artists, groups, ~dev),
            "whole": pair_sets(labels.artists, groups, np.ones(len(labels), bool))}
    package = {h: groups[[i for i, _, _ in s]] for h, s in sets.items()}
    print(f"{len(labels)} tracks; queries dev {len(sets['dev'])}, test {len(sets['test'])}, "
          f"whole corpus {len(sets['whole'])} (reported for the diagnosis, never used to choose)")

    def line(name: str, sim: np.ndarray) -> str:
        return (f"{name:58s} " + "  ".join(f"{h} {auc_per_query(sim, s).mean():.3f}" for h, s in sets.items()))

    names = list(DESCRIPTOR_NAMES)
    of = np.array([block_of(n) for n in names])
    z = standardized(feats["desc"]).astype(np.float64)
    family = z * block_scales(names, DEFAULT_WEIGHTS)
    adopted = cosine_similarity(family)
    print(line("adopted family (contrast 1, timbre 0.75)", adopted))
    print(line("baseline: 20-MFCC mean+std", cosine_similarity(feats["mfcc20"])))
    print(line("baseline: musly timbre", feats["musly"]))

    print("\n1. distance normalisation of the family's embedding")
    print(line("L2, recentred, cosine", cosine_similarity(_unit_rows(family) - _unit_rows(family).mean(axis=0))))
    per_block_l2 = np.concatenate([_unit_rows(z[:, of == b]) * DEFAULT_WEIGHTS[b] for b in BLOCKS], axis=1)
    print(line("L2 per block, then the weights", cosine_similarity(per_block_l2)))
    for k, alpha in itertools.product((8, 16, 32, 64, 167), (0.0, 0.5, 1.0)):
        print(line(f"PCA k={k}, alpha={alpha}", cosine_similarity(pca_scaled(family, k, alpha))))
    print(line("mutual proximity (a matrix)", mutual_proximity(adopted)))
    for k in (5, 10, 20):
        print(line(f"CSLS k={k} (a matrix)", csls(adopted, k)))

    print("\n2. more blocks (z-scored columns), alone and beside the family")
    mel24 = [reduce_bands(m, 24) for m in feats["mel128"]]
    onsets = [librosa.onset.onset_strength(S=m, sr=SR, hop_length=HOP) for m in feats["mel128"]]
    loud = [10 * np.log10(np.maximum((10 ** (m / 10)).sum(axis=0), 1e-10)) for m in feats["mel128"]]

    def rotated(c: np.ndarray) -> np.ndarray:
        return np.roll(c, -int(np.argmax(c.mean(axis=1))), axis=0)

    def tempogram(o: np.ndarray) -> np.ndarray:
        t = librosa.feature.tempogram(onset_envelope=o, sr=SR, hop_length=HOP, win_length=384)
        t = np.pad(t, ((0, max(0, 384 - t.shape[0])), (0, 0)))
        return t[np.unique(np.geomspace(2, 383, 40).astype(int))].mean(axis=1)

    timbre_raw = feats["desc"][:, of == "timbre"].astype(np.float64)
    timbre_c = timbre_raw - timbre_raw.mean(axis=0)
    rows: dict[str, Callable[[], np.ndarray]] = {
        "spectral pattern (36 bands x 10)": lambda: np.stack([spectral_pattern(m) for m in feats["mel36"]]),
        "delta spectral pattern (24 x 25)": lambda: np.stack([delta_spectral_pattern(m) for m in mel24]),
        "variance delta spectral pattern (24 x 25)":
            lambda: np.stack([delta_spectral_pattern(m, variance=True) for m in mel24]),
        "fluctuation pattern (24 x 12)": lambda: np.stack([fluctuation_pattern(m) for m in mel24]),
        "correlation pattern (24 bands)": lambda: np.stack([correlation_pattern(m) for m in mel24]),
        "onset statistics (4)": lambda: np.stack([[o.mean(), o.std(), np.percentile(o, 90),
                                                   (o > o.mean() + o.std()).mean()] for o in onsets]),
        "mean tempogram (40 log lags)": lambda: np.stack([tempogram(o) for o in onsets]),
        "loudness percentiles (7)": lambda: np.stack([[x.mean(), x.std(), *np.percentile(x, [10, 50, 90, 99]),
                                                       np.percentile(x, 95) - np.percentile(x, 5)] for x in loud]),
        "key-rotated chroma Gaussian (90)": lambda: np.stack([timbre_vector(*timbre_gaussian(rotated(c)))
                                                              for c in extra["chroma"]]),
    }
    blocks = {b: z[:, of == b] for b in BLOCKS}
    for name, build in rows.items():
        blocks[name] = standardized(build()).astype(np.float64)
    blocks = {k: v / np.sqrt(v.shape[1]) for k, v in blocks.items()}  # each block's squared norm about 1
    unit_family = family / np.sqrt((np.linalg.norm(family, axis=1) ** 2).mean())
    for name in rows:
        print(line(f"{name} alone", cosine_similarity(blocks[name])))
        for w in (0.25, 0.5, 1.0):
            print(line(f"  beside the family, weight {w}", cosine_similarity(
                np.concatenate([unit_family, w * blocks[name]], axis=1))))
    natural = timbre_c / np.sqrt(timbre_c.var(axis=0).sum())
    print(line("timbre model alone, z-scored columns (adopted)", cosine_similarity(blocks["timbre"])))
    print(line("timbre model alone, centred only (log-Euclidean)", cosine_similarity(natural)))
    for w in (0.25, 0.5, 0.75, 1.0):
        print(line(f"  contrast 1 + centred timbre {w}", cosine_similarity(
            np.concatenate([blocks["contrast"], w * natural], axis=1))))
    zw = standardized(extra["whole_track"]).astype(np.float64)
    print(line("the family on whole tracks (not 30-s excerpts)", cosine_similarity(zw * block_scales(
        names, DEFAULT_WEIGHTS))))
    print(line("all 384 columns equal, whole tracks", cosine_similarity(zw)))

    print("\n3. how well a weighting chosen on one half transfers")

    def sim_of(ws: dict[str, float]) -> np.ndarray:
        return cosine_similarity(np.concatenate([w * blocks[k] for k, w in ws.items() if w > 0], axis=1))

    grid = [dict(zip(BLOCKS, ws, strict=True)) for ws in itertools.product((0.0, 0.25, 0.5, 0.75, 1.0),
                                                                             repeat=len(BLOCKS)) if max(ws) == 1.0]
    per = {h: np.stack([auc_per_query(sim_of(ws), s) for ws in grid]) for h, s in sets.items() if h != "whole"}
    chosen = {"grid argmax on dev": grid[int(np.argmax(per["dev"].mean(axis=1)))],
              "grid argmax on test (swapped)": grid[int(np.argmax(per["test"].mean(axis=1)))]}
    rng = np.random.default_rng(0)
    wins = np.bincount([int(np.argmax(per["dev"][:, rng.integers(0, per["dev"].shape[1], per["dev"].shape[1])]
                                      .mean(axis=1))) for _ in range(500)], minlength=len(grid))
    chosen["grid, most often best over 500 dev bootstraps"] = grid[int(np.argmax(wins))]
    for half in ("dev", "test"):
        chosen[f"greedy forward over every block on {half}"] = _greedy(blocks, sim_of, sets[half])
    chosen["equal block weights (rhythm/tonal, MFCC, contrast, timbre)"] = dict.fromkeys(BLOCKS, 1.0)
    chosen["equal block weights, the 4 + 5 block-level patterns"] = dict.fromkeys(
        [*BLOCKS, *list(rows)[:5]], 1.0)
    base = {h: auc_per_query(adopted, s) for h, s in sets.items()}
    for name, ws in chosen.items():
        sim = sim_of(ws)
        print(f"{name}: {', '.join(f'{k} {w:g}' for k, w in ws.items() if w > 0)}")
        cells = []
        for h, s in sets.items():
            d = auc_per_query(sim, s) - base[h]
            boot = [d[rng.integers(0, d.size, d.size)].mean() for _ in range(2000)]
            cells.append(f"{h} {base[h].mean() + d.mean():.3f} ({d.mean():+.3f} [{np.percentile(boot, 2.5):+.3f}, "
                         f"{np.percentile(boot, 97.5):+.3f}])")
        print("    " + "  ".join(cells))
        whole = auc_per_query(sim, sets["whole"])
        print("    whole corpus per package (adopted -> this): " + ", ".join(
            f"{g} {base['whole'][package['whole'] == g].mean():.3f} -> {whole[package['whole'] == g].mean():.3f} "
            f"({int((package['whole'] == g).sum())})" for g in sorted(set(package["whole"]))))


def _greedy(blocks: dict[str, np.ndarray], sim_of, sets, margin: float = 0.003) -> dict[str, float]:
    """Forward selection: add (or reweigh) the block and weight that raise the mean AUC on ``sets`` most, while
    that is more than ``margin``; the first block at weight 1."""
    current: dict[str, float] = {}
    best = -1.0
    while True:
        options = [(auc_per_query(sim_of({**current, k: w}), sets).mean(), k, w)
                   for k in blocks for w in ((1.0,) if not current else (0.25, 0.5, 0.75, 1.0))
                   if current.get(k) != w and max({**current, k: w}.values()) == 1.0]
        score, k, w = max(options)
        if score <= best + margin:
            return current
        current[k], best = w, score


if __name__ == "__main__":
    main()
