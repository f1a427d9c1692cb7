"""Small generated training data with known structure, for tests, benchmarks and quick experiments.

- :func:`planted_data`: random log-mel-like arrays whose spectral profile and rhythm follow an artist's
  latent position, and pair targets that decay with the distance between latents (most pairs 0, as in a
  real catalogue). Milliseconds to make; a model that learns anything beats random on it.
- :func:`synth_data`: real log-mels (:func:`musim.audio.log_mel`) of demo clips from
  :mod:`musim.synth.sound`, whose style follows taste communities; targets high inside a community.
  About 0.1 s per clip.

Both return a :class:`ToyData` shaped like what the feature store and warehouse give a training run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musim.models.constants import INPUT_SHAPE, TOP_DB
from musim.models.data import PairTargets

__all__ = ["ToyData", "planted_data", "synth_data"]


@dataclass(eq=False)
class ToyData:
    """Spectrograms, artists, targets, listeners and descriptors of a generated catalogue."""

    x: np.ndarray                 # (N, frames, n_mels) float16 dB in [-TOP_DB, 0]
    track_artist: np.ndarray      # (N,) int64
    targets: PairTargets
    listeners: dict[int, int]
    descriptors: np.ndarray       # (N, D) float32
    community: dict[int, int]     # artist -> community


def _targets_from_latent(artists: np.ndarray, latent: np.ndarray, scale: float, floor: float) -> PairTargets:
    d2 = ((latent[:, None, :] - latent[None, :, :]) ** 2).sum(-1)
    sim = np.exp(-d2 / scale)
    sim[sim < floor] = 0.0
    ia, ib = np.triu_indices(artists.size, k=1)
    keep = sim[ia, ib] > 0
    return PairTargets.from_pairs(artists, artists[ia[keep]], artists[ib[keep]], sim[ia, ib][keep], metric="seed",
                                  dump_id="toy")


def planted_data(*, communities: int = 4, artists_per_community: int = 8, clips_per_artist: int = 3,
                 shape: tuple[int, int] = INPUT_SHAPE, noise_db: float = 6.0, seed: int = 0) -> ToyData:
    """Random spectrograms with planted artist structure.

    Each artist has a latent point (its community's centre plus a smaller offset, 4-d). Its clips share a
    mel-band profile (a smooth function of the latent) and a pulse period along time (set by the
    community), with per-clip phase and noise of ``noise_db``. Targets are ``exp(-|za - zb|^2 / 2)``,
    set to 0 below 0.05 (most cross-community pairs).
    """
    rng = np.random.default_rng([seed, 0x70A1])
    frames, mels = shape
    n_art = communities * artists_per_community
    artists = np.arange(101, 101 + n_art, dtype=np.int64) * 7  # non-contiguous ids, like the warehouse
    comm = np.repeat(np.arange(communities), artists_per_community)
    centres = rng.normal(0, 2.0, size=(communities, 4))
    latent = centres[comm] + rng.normal(0, 0.5, size=(n_art, 4))
    basis = np.stack([np.cos(np.linspace(0, (k + 1) * np.pi, mels)) for k in range(4)])  # (4, mels)
    periods = rng.uniform(6, 30, size=communities)
    t = np.arange(frames)[:, None]
    xs, owners, desc = [], [], []
    for i in range(n_art):
        profile = -40 + 12 * (latent[i] @ basis)  # dB per mel band
        for _ in range(clips_per_artist):
            phase = rng.uniform(0, 2 * np.pi)
            pulse = 10 * np.cos(2 * np.pi * t / periods[comm[i]] + phase)
            img = profile[None, :] + pulse + rng.normal(0, noise_db, size=(frames, mels))
            img = np.clip(img - max(img.max(), -1.0), -TOP_DB, 0.0)
            xs.append(img.astype(np.float16))
            owners.append(artists[i])
            desc.append(np.concatenate([latent[i] + rng.normal(0, 1.0, 4), rng.normal(0, 1, 4)]))
    listeners = {int(a): int(v) for a, v in zip(artists, rng.lognormal(6, 1.2, n_art).astype(int) + 50, strict=True)}
    return ToyData(np.stack(xs), np.array(owners, dtype=np.int64), _targets_from_latent(artists, latent, 2.0, 0.05),
                   listeners, np.array(desc, dtype=np.float32), dict(zip(artists.tolist(), comm.tolist(), strict=True)))


def synth_data(*, communities: int = 4, artists_per_community: int = 6, clips_per_artist: int = 3,
               within: float = 0.6, seed: int = 0, descriptors: bool = False) -> ToyData:
    """Log-mels of demo clips (``musim.synth.sound``): same community = similar style and similar targets.

    Targets: ``within`` (+- 0.3 noise) inside a community, 0 for most pairs across communities (a few at
    up to 0.1). Listeners are heavy-tailed and unrelated to style. ``descriptors=True`` computes the
    handcrafted descriptors too (slower: librosa).
    """
    from musim.audio import MelParams, descriptor_vector, log_mel
    from musim.audio import descriptors as describe
    from musim.synth.sound import synthesize_clip

    rng = np.random.default_rng([seed, 0x5A17])
    params = MelParams()
    n_art = communities * artists_per_community
    artists = np.arange(1, n_art + 1, dtype=np.int64) * 3
    comm = np.repeat(np.arange(communities), artists_per_community)
    xs, owners, desc = [], [], []
    for i, a in enumerate(artists):
        for k in range(clips_per_artist):
            y = synthesize_clip(community=int(comm[i]), artist_seed=int(seed * 100_000 + a), track_no=k,
                                sr=params.sr, duration=30.0)
            xs.append(log_mel(y, params=params).astype(np.float16))
            owners.append(a)
            desc.append(descriptor_vector(describe(y, sr=params.sr)) if descriptors else np.zeros(1))
    ia, ib = np.triu_indices(n_art, k=1)
    same = comm[ia] == comm[ib]
    vals = np.where(same, np.clip(within + rng.uniform(-0.3, 0.3, ia.size), 0.05, 1.0),
                    np.where(rng.random(ia.size) < 0.15, rng.uniform(0.0, 0.1, ia.size), 0.0))
    keep = vals > 0
    targets = PairTargets.from_pairs(artists, artists[ia[keep]], artists[ib[keep]], vals[keep], metric="seed",
                                     dump_id="synth")
    listeners = {int(a): int(v) for a, v in zip(artists, rng.lognormal(6, 1.2, n_art).astype(int) + 50, strict=True)}
    return ToyData(np.stack(xs), np.array(owners, dtype=np.int64), targets, listeners,
                   np.array(desc, dtype=np.float32), dict(zip(artists.tolist(), comm.tolist(), strict=True)))
