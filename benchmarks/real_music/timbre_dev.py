"""Development harness for the descriptor family's timbre block (issue 18): candidate timbre embeddings and block
weights scored on a development half of the real-music corpus's composers, then once on the other half.

    MUSIM_REAL_MUSIC=benchmarks/data/real_music .venv/bin/python -m benchmarks.real_music.timbre_dev [CACHE_DIR]

The first run decodes every track's 30-second excerpt once and caches its frame features under ``CACHE_DIR``
(default ``/tmp/musim_timbre_dev``): 128- and 36-band log-mel frames, spectral-contrast frames, the current
descriptor vector, the 20-MFCC baseline and libmusly's similarity matrix. Later runs only score.

The split: within each source package the composers are sorted and alternately assigned to ``dev`` and
``test`` (so each half keeps several composers per package, which the within-package AUC needs). Every
candidate is scored on dev (composer AUC within a package, :func:`musim.models.label_eval.query_metrics` on the
dev tracks alone); the weights of the descriptor family are chosen there (a grid over its four blocks as
:mod:`musim.audio.descriptors` computes them); the test half is only reported.

What the halves cannot see: a package whose composers all land in one half scores no within-package query there.
In the 168-track corpus hedgewars-data has two composers, 25 tracks and 1: neither half scores it, while the
whole-corpus benchmark (``benchmarks/bench_real_music.py``) scores 25 queries there (of 151), each of which asks
only where that one other track falls; it moves the whole-corpus mean by several hundredths on its own.

What was tried after the adopted blocks, on this cache and split (distance normalisation and hubness reduction,
Seyerlehner's block-level patterns, rhythm, loudness and chroma blocks, whole tracks, and how a weighting chosen
on one half transfers to the other): :mod:`benchmarks.real_music.family_dev`. None beat the adopted blocks on
dev beyond noise, so none was adopted (numbers in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import numpy as np

from musim.models.label_baselines import standardized
from musim.models.label_eval import cosine_similarity, query_metrics
from musim.models.labels import read_labels

SR = 22050
HOP = 512


def _split(labels) -> np.ndarray:
    """True for dev tracks: composers sorted within each package, alternately dev and test."""
    artists, groups = np.asarray(labels.artists), np.asarray(labels.groups)
    dev = np.zeros(len(artists), bool)
    for g in sorted(set(groups)):
        names = sorted(set(artists[groups == g]))
        for j, name in enumerate(names):
            if j % 2 == 0:
                dev[(groups == g) & (artists == name)] = True
    return dev


def _cache(labels, path: Path) -> dict[str, object]:
    if path.is_file():
        return dict(np.load(path, allow_pickle=True))
    import librosa

    from musim.audio import descriptor_vector, descriptors
    from musim.audio.mel import _mel_sparse, power_spectrogram, power_to_db
    from musim.models.label_baselines import mfcc_stats, musly_similarity, read_excerpts

    kept, excerpts, failed = read_excerpts(labels.paths, sr=SR)
    print(f"decoded {len(kept)} of {len(labels)} ({len(failed)} failed)", file=sys.stderr)
    mel128, mel36, contrast, desc = [], [], [], []
    fb128 = _mel_sparse(SR, 2048, 128, 0.0, SR / 2.0)
    fb36 = _mel_sparse(SR, 2048, 36, 0.0, SR / 2.0)
    for i, y in enumerate(excerpts):
        y = np.asarray(y, np.float32)
        S = power_spectrogram(y, n_fft=2048, hop_length=HOP, power=2.0)
        mel128.append(power_to_db(np.asarray(fb128 @ S, np.float32), ref=1.0, top_db=80.0).astype(np.float32))
        mel36.append(power_to_db(np.asarray(fb36 @ S, np.float32), ref=1.0, top_db=80.0).astype(np.float32))
        contrast.append(librosa.feature.spectral_contrast(S=np.sqrt(S), sr=SR).astype(np.float32))
        desc.append(descriptor_vector(descriptors(y, sr=SR)))
        if i % 20 == 0:
            print(f"  {i}/{len(excerpts)}", file=sys.stderr)
    out = {"kept": np.asarray(kept), "desc": np.stack(desc), "mfcc20": mfcc_stats(excerpts, sr=SR),
           "musly": musly_similarity(excerpts, sr=SR)}
    for name, frames in (("mel128", mel128), ("mel36", mel36), ("contrast", contrast)):
        out[name] = np.empty(len(frames), dtype=object)
        out[name][:] = frames
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def _dct(n_bands: int, n: int) -> np.ndarray:
    import scipy.fft

    return scipy.fft.dct(np.eye(n_bands), type=2, norm="ortho", axis=0)[:n]


def gaussians(mels, n_mfcc: int, *, drop_c0: bool = False, deltas: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per track mean ``(n, k)`` and full covariance ``(n, k, k)`` of the MFCC frames."""
    means, covs = [], []
    for m in mels:
        c = _dct(m.shape[0], n_mfcc) @ m
        if drop_c0:
            c = c[1:]
        if deltas:
            import librosa

            c = np.concatenate([c, librosa.feature.delta(c)])
        means.append(c.mean(axis=1))
        covs.append(np.cov(c) + 1e-3 * np.eye(c.shape[0]))
    return np.stack(means), np.stack(covs)


def skl_similarity(mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Negated symmetric KL divergence between full Gaussians (musly's timbre distance before normalisation)."""
    inv = np.linalg.inv(cov)
    n, k = mu.shape
    tr = np.einsum("aij,bji->ab", inv, cov)  # tr(inv_a cov_b)
    d = mu[:, None, :] - mu[None, :, :]
    mah = np.einsum("abi,aij,abj->ab", d, inv, d)
    skl = 0.25 * (tr + tr.T + mah + mah.T) - 0.5 * k
    return -skl


def mutual_proximity(sim: np.ndarray) -> np.ndarray:
    """Empirical mutual proximity of a similarity matrix (musly's hubness correction)."""
    n = sim.shape[0]
    out = np.zeros_like(sim)
    for i in range(n):
        for j in range(n):
            out[i, j] = np.mean((sim[i] < sim[i, j]) & (sim[j] < sim[i, j]))
    return out


def gauss_vector(mu: np.ndarray, cov: np.ndarray, *, logm: bool = True) -> np.ndarray:
    """Mean + upper triangle of log(cov) (or of cov), the off-diagonal scaled by sqrt(2) (Frobenius-preserving)."""
    k = mu.shape[1]
    iu = np.triu_indices(k)
    scale = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
    rows = []
    for m, c in zip(mu, cov, strict=True):
        if logm:
            w, v = np.linalg.eigh(c)
            c = (v * np.log(np.maximum(w, 1e-6))) @ v.T
        rows.append(np.concatenate([m, c[iu] * scale]))
    return np.stack(rows)


def score(sim: np.ndarray, labels, mask: np.ndarray) -> float:
    idx = np.flatnonzero(mask)
    s = sim[np.ix_(idx, idx)]
    per = query_metrics(s, [labels.artists[i] for i in idx], [labels.groups[i] for i in idx])["auc_group"]
    return float(np.nanmean(per))


def main() -> None:
    corpus = Path(os.environ.get("MUSIM_REAL_MUSIC") or "benchmarks/data/real_music")
    cache_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/musim_timbre_dev")
    labels = read_labels(corpus / "manifest.csv", group_by="source_package")
    from musim.audio import DESCRIPTOR_NAMES

    feats = _cache(labels, cache_dir / f"features-{len(DESCRIPTOR_NAMES)}.npz")  # a new descriptor set: a new cache
    labels = labels.subset([int(i) for i in feats["kept"]])
    dev = _split(labels)
    print(f"{len(labels)} tracks, {len(set(labels.artists))} composers; dev {dev.sum()} tracks of "
          f"{len(set(np.asarray(labels.artists)[dev]))} composers, test {(~dev).sum()}")
    rows: list[tuple[str, float, float]] = []

    def add(name: str, sim: np.ndarray) -> None:
        rows.append((name, score(sim, labels, dev), score(sim, labels, ~dev)))
        print(f"{name:60s} dev {rows[-1][1]:.3f}  test {rows[-1][2]:.3f}", flush=True)

    names = list(DESCRIPTOR_NAMES)
    base = [i for i, n in enumerate(names) if not n.startswith(("timbre_", "contrast_"))]
    desc = feats["desc"][:, base]
    add("baseline: random", cosine_similarity(np.random.default_rng(0).normal(size=(len(labels), 32))))
    add("baseline: 20-MFCC mean+std", cosine_similarity(feats["mfcc20"]))
    add("baseline: musly timbre", feats["musly"])
    add(f"descriptors without timbre ({desc.shape[1]}, z-scored)", cosine_similarity(standardized(desc)))
    in_desc = [i for i, n in enumerate(names) if n.startswith("timbre_")]
    if in_desc:
        add("timbre block as computed in musim.audio.descriptors (z)",
            cosine_similarity(standardized(feats["desc"][:, in_desc])))
    not_mfcc = [i for i, n in enumerate(names) if not n.startswith(("mfcc_", "timbre_", "contrast_"))]
    rhythm_tonal = standardized(feats["desc"][:, not_mfcc])
    add("descriptors without MFCC stats (16)", cosine_similarity(rhythm_tonal))
    contrast = np.stack([np.concatenate([c.mean(axis=1), c.std(axis=1)]) for c in feats["contrast"]])
    add("spectral contrast mean+std (14)", cosine_similarity(standardized(contrast)))

    candidates: dict[str, np.ndarray] = {}  # the timbre vectors by configuration
    for bands, n_mfcc, c0, deltas in itertools.product(("mel36", "mel128"), (13, 20, 25), (False, True), (False,)):
        mu, cov = gaussians(feats[bands], n_mfcc, drop_c0=c0, deltas=deltas)
        tag = f"{bands} {n_mfcc} MFCC{' no c0' if c0 else ''}"
        skl = skl_similarity(mu, cov)
        add(f"Gaussian SKL {tag}", skl)
        add(f"Gaussian SKL + mutual proximity {tag}", mutual_proximity(skl))
        v = standardized(gauss_vector(mu, cov))
        candidates[tag] = v
        add(f"vector mean+logm(cov) z {tag}", cosine_similarity(v))
        add(f"vector mean+cov z {tag}", cosine_similarity(standardized(gauss_vector(mu, cov, logm=False))))
        diag = standardized(np.concatenate([mu, np.log(np.diagonal(cov, axis1=1, axis2=2))], axis=1))
        add(f"vector mean+log diag z {tag}", cosine_similarity(diag))
    for bands, n_mfcc in (("mel36", 20),):
        mu, cov = gaussians(feats[bands], n_mfcc, deltas=True)
        add(f"Gaussian SKL {bands} {n_mfcc} MFCC + deltas", skl_similarity(mu, cov))
        add(f"vector mean+logm(cov) z {bands} {n_mfcc} MFCC + deltas", cosine_similarity(standardized(
            gauss_vector(mu, cov))))
    # cepstral mean normalisation: the per-track mean removed (covariance only).
    for tag, v in list(candidates.items())[:2]:
        k = int(tag.split()[1])
        add(f"vector logm(cov) only (CMN) {tag}", cosine_similarity(v[:, k:]))

    # Deltas (the local slope over 9 frames, musim.audio.timbre.deltas) stacked with the frames before the Gaussian.
    from musim.audio.timbre import deltas

    mfcc13 = [_dct(m.shape[0], 13) @ m for m in feats["mel36"]]
    contrast_frames = list(feats["contrast"])

    def with_deltas(frames):
        return [np.concatenate([c, deltas(c)]) for c in frames]

    def gauss_z(frames) -> np.ndarray:
        mu = np.stack([c.mean(axis=1) for c in frames])
        cov = np.stack([np.cov(c) + 1e-3 * np.eye(c.shape[0]) for c in frames])
        return standardized(gauss_vector(mu, cov))

    add("vector mean+logm(cov) z mel36 13 MFCC + deltas + delta-deltas",
        cosine_similarity(gauss_z([np.concatenate([c, deltas(c), deltas(deltas(c))]) for c in mfcc13])))
    add("contrast Gaussian (mean+logm(cov), 7 bands)", cosine_similarity(gauss_z(contrast_frames)))
    add("contrast Gaussian + deltas (14-d)", cosine_similarity(gauss_z(with_deltas(contrast_frames))))
    add("one Gaussian of 13 MFCC + 7 contrast + their deltas (40-d)",
        cosine_similarity(gauss_z(with_deltas([np.concatenate([a, b]) for a, b in zip(mfcc13, contrast_frames,
                                                                                        strict=True)]))))
    add("modulation spectrum of 12 mel groups (8 log bands 0.5-12 Hz)",
        cosine_similarity(standardized(np.stack([_modulation(m) for m in feats["mel36"]]))))

    # The descriptor family's blocks as musim.audio.descriptors computes them (hop 256), weighted on dev.
    from musim.models.families.descriptors import BLOCKS, block_of, block_scales

    z = standardized(feats["desc"])
    of = np.array([block_of(n) for n in names])
    for block in BLOCKS:
        add(f"descriptors block {block} ({int((of == block).sum())} columns, z)", cosine_similarity(z[:, of == block]))
    grid = (0.0, 0.25, 0.5, 0.75, 1.0)
    results = []
    for ws in itertools.product(grid, repeat=len(BLOCKS)):
        if max(ws) < 1.0:  # cosine ignores scale: one block at 1
            continue
        sim = cosine_similarity(z * block_scales(names, dict(zip(BLOCKS, ws, strict=True))))
        results.append((ws, score(sim, labels, dev), score(sim, labels, ~dev)))
    results.sort(key=lambda r: -r[1])
    print(f"descriptor family block weights: {', '.join(BLOCKS)} -> dev, test")
    for ws, d, t in results[:10]:
        print(f"  {' '.join(f'{w:.2f}' for w in ws)} -> dev {d:.3f} test {t:.3f}")


def _modulation(mel_db: np.ndarray, groups: int = 12, window: int = 128) -> np.ndarray:
    """Median (over ~3-s windows) modulation spectrum of ``groups`` mel-band groups, in 8 log-spaced bands."""
    g = mel_db[: mel_db.shape[0] // groups * groups].reshape(groups, -1, mel_db.shape[1]).mean(axis=1)
    segs = [g[:, t:t + window] - g[:, t:t + window].mean(axis=1, keepdims=True)
            for t in range(0, g.shape[1] - window + 1, window)]
    spec = np.median(np.stack([np.abs(np.fft.rfft(s * np.hanning(window), axis=1)) for s in segs]), axis=0)
    freqs = np.fft.rfftfreq(window, HOP / SR)
    edges = np.geomspace(0.5, 12.0, 9)
    return np.log1p(np.stack([spec[:, (freqs >= a) & (freqs < b)].mean(axis=1)
                              for a, b in zip(edges[:-1], edges[1:], strict=True)], axis=1)).ravel()


if __name__ == "__main__":
    main()
