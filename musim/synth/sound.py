"""Demo audio whose *sound* follows the taste communities of the synthetic Last.FM dump.

Each community has a style (a :class:`Style`): tempo range, scale/mode and register, the lead instrument's
timbre (harmonic profile of its wavetable), brightness (low-pass cut-off), saturation, note density and
envelope, bass and pad parts, and drum patterns. Communities 0-11 get hand-written styles named like
:data:`musim.synth.lastfm.GENRES` (rock, electronic, hip-hop, ...); higher ids get generated styles spread
over the same parameter space by a low-discrepancy sequence ("style-<id>").

An artist (``artist_seed``) draws its own tempo and key inside its community's ranges and slightly varies
the timbre, brightness, drive and mix; each track (``track_no``) has its own melody, chord progression,
drum variations and noise. Everything is seeded from the arguments, so a clip is a pure function of them.

Rendering is vectorised numpy: voices are wavetable oscillators driven by per-block (32-sample) frequency
and envelope curves, drums are one-shot samples added at grid positions. A 30-second clip at 22050 Hz takes
a few tens of milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musim.errors import ParameterError

__all__ = ["GENRE_NAMES", "Style", "community_style", "genre_name", "synthesize_clip"]

#: Genre names of communities 0..11 (the same list as ``musim.synth.lastfm.GENRES``); higher ids are
#: named ``style-<id>``.
GENRE_NAMES: tuple[str, ...] = ("rock", "electronic", "hip-hop", "jazz", "metal", "folk", "classical", "pop",
                                "reggae", "soul", "punk", "ambient")

_SEED_TAG = 0x6D7573  # "mus": keeps these streams apart from other seeded generators
_BLOCK = 32  # samples per control block
_TABLE = 4096  # wavetable length

_SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
}


def _saw(n: int, tilt: float = 1.0) -> tuple[float, ...]:
    return tuple(1.0 / k**tilt for k in range(1, n + 1))


def _odd(n: int, tilt: float = 1.0) -> tuple[float, ...]:
    return tuple((1.0 / k**tilt) if k % 2 else 0.0 for k in range(1, n + 1))


@dataclass(frozen=True)
class Style:
    """How a community sounds. Patterns are 16 sixteenth-note steps, digits 0-9 = hit probability x 9."""

    name: str
    bpm: tuple[float, float]
    scale: str
    root: tuple[int, int]  # MIDI range of the lead's tonal centre (register and key range)
    harmonics: tuple[float, ...]  # lead timbre: amplitude of harmonic 1, 2, ...
    cutoff_hz: float  # brightness: 2nd-order low-pass on the tonal parts
    drive: float  # tanh saturation, 0 = clean
    note_div: int  # lead notes per beat
    rest_prob: float
    attack_s: float
    decay_s: float
    vibrato: float  # semitones
    bass: str  # beats | eighths | offbeats | walking | sustain | none
    bass_level: float
    pad: str  # sustain | skank | none
    pad_level: float
    kick: str
    snare: str
    hat: str
    hat_decay_s: float
    swing: float  # fraction of a sixteenth that off-beats are delayed
    noise: float  # background noise level
    drum_level: float = 0.8


_NO_DRUMS = "0" * 16
_STYLES: tuple[Style, ...] = (
    Style("rock", (112, 136), "minor_pentatonic", (52, 60), _saw(12, 1.0), 3600, 2.5, 2, 0.15, 0.005, 0.35,
          0.08, "eighths", 0.7, "sustain", 0.18, "9000009090000000", "0000900000009000", "9090909090909090",
          0.05, 0.0, 0.01),
    Style("electronic", (122, 130), "minor", (60, 69), _saw(16, 0.9), 5200, 0.3, 4, 0.3, 0.003, 0.12, 0.0,
          "offbeats", 0.8, "sustain", 0.3, "9000900090009000", "0000900000009000", "0090009000900090", 0.09,
          0.0, 0.0, 0.9),
    Style("hip-hop", (84, 96), "dorian", (55, 64), (1.0, 0.5, 0.2, 0.1), 1800, 0.5, 2, 0.45, 0.01, 0.3, 0.0,
          "sustain", 1.0, "none", 0.0, "9000000990000900", "0000900000009000", "9090909099909090", 0.03,
          0.35, 0.02, 1.0),
    Style("jazz", (110, 160), "dorian", (58, 70), (1.0, 0.6, 0.35, 0.25, 0.15, 0.1, 0.08), 4000, 0.0, 2, 0.25,
          0.004, 0.6, 0.05, "walking", 0.7, "sustain", 0.15, "5000000030000000", "0000000300000030",
          "9060906090609060", 0.25, 0.5, 0.005, 0.5),
    Style("metal", (150, 190), "phrygian", (40, 50), _saw(20, 0.8), 6000, 6.0, 4, 0.05, 0.002, 0.2, 0.0,
          "eighths", 0.8, "none", 0.0, "9090909090909090", "0000900000009000", "9000900090009000", 0.2,
          0.0, 0.03, 0.9),
    Style("folk", (88, 116), "major", (60, 69), (1.0, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.08), 3000, 0.0, 2,
          0.2, 0.003, 0.5, 0.0, "beats", 0.4, "none", 0.0, _NO_DRUMS, _NO_DRUMS, "3030303030303030", 0.04,
          0.15, 0.0, 0.5),
    Style("classical", (60, 84), "harmonic_minor", (64, 76), (1.0, 0.5, 0.33, 0.25, 0.2, 0.17, 0.14), 2500,
          0.0, 1, 0.05, 0.15, 2.0, 0.25, "sustain", 0.3, "sustain", 0.5, _NO_DRUMS, _NO_DRUMS, _NO_DRUMS,
          0.05, 0.0, 0.0, 0.0),
    Style("pop", (100, 124), "major", (62, 71), _odd(9, 1.0), 4500, 0.5, 2, 0.2, 0.004, 0.25, 0.05, "beats",
          0.6, "sustain", 0.25, "9000000090100000", "0000900000009000", "9090909090909090", 0.05, 0.0, 0.0),
    Style("reggae", (68, 82), "major", (57, 66), (1.0, 0.8, 0.0, 0.5, 0.0, 0.0, 0.0, 0.3), 2200, 0.2, 1, 0.3,
          0.005, 0.3, 0.0, "sustain", 1.0, "skank", 0.45, "0000000090000000", "0000000090000000",
          "0090009000900090", 0.05, 0.1, 0.005, 0.8),
    Style("soul", (88, 108), "mixolydian", (57, 66), (1.0, 0.7, 0.4, 0.3, 0.2), 2800, 0.8, 2, 0.3, 0.01, 0.4,
          0.1, "beats", 0.7, "sustain", 0.35, "9000009000900000", "0000900000009000", "9090909090909090",
          0.05, 0.15, 0.01),
    Style("punk", (165, 200), "mixolydian", (50, 58), _saw(16, 1.0), 5500, 4.0, 2, 0.05, 0.002, 0.2, 0.0,
          "eighths", 0.8, "none", 0.0, "9090909090909090", "0000900000009000", "9090909090909090", 0.06,
          0.0, 0.03),
    Style("ambient", (56, 72), "lydian", (60, 72), (1.0, 0.2, 0.05), 1200, 0.0, 1, 0.4, 0.8, 3.0, 0.1,
          "sustain", 0.3, "sustain", 0.8, _NO_DRUMS, _NO_DRUMS, _NO_DRUMS, 0.05, 0.0, 0.015, 0.0),
)


def _frac(x: float) -> float:
    return x - math.floor(x)


def _generated_style(community: int) -> Style:
    """A style for community >= 12: a point of the R-sequence (Roberts) in a 12-d style cube."""
    d = 12
    phi = 2.0
    for _ in range(30):  # the plastic-number generalisation: phi^(d+1) = phi + 1
        phi = (1.0 + phi) ** (1.0 / (d + 1))
    u = [_frac(0.5 + (community + 1) / phi ** (k + 1)) for k in range(d)]
    rng = np.random.default_rng([_SEED_TAG, 7, community])
    patterns_kick = ("9000900090009000", "9000009090000000", "9000000990000900", "9090909090909090", _NO_DRUMS)
    patterns_hat = ("9090909090909090", "0090009000900090", "9999999999999999", "3030303030303030", _NO_DRUMS)
    scales = tuple(_SCALES)
    root_lo = int(40 + 30 * u[2])
    has_drums = u[9] > 0.25
    return Style(
        name=f"style-{community}",
        bpm=(60 + 120 * u[0], 60 + 120 * u[0] + 12),
        scale=scales[int(u[1] * len(scales)) % len(scales)],
        root=(root_lo, root_lo + 8),
        harmonics=_saw(int(3 + 15 * u[3]), 0.6 + 1.8 * u[4]) if u[5] < 0.6 else _odd(int(5 + 10 * u[3]), 0.7 + u[4]),
        cutoff_hz=900 * 2 ** (3 * u[6]),
        drive=4.0 * u[7] ** 2,
        note_div=(1, 2, 4)[int(u[8] * 3) % 3],
        rest_prob=0.05 + 0.4 * u[10],
        attack_s=0.002 + 0.3 * u[11] ** 3,
        decay_s=0.1 + 1.5 * u[11],
        vibrato=0.2 * float(rng.random()),
        bass=("beats", "eighths", "offbeats", "walking", "sustain")[int(rng.integers(5))],
        bass_level=0.4 + 0.6 * float(rng.random()),
        pad=("sustain", "skank", "none")[int(rng.integers(3))],
        pad_level=0.4 * float(rng.random()),
        kick=patterns_kick[int(rng.integers(4))] if has_drums else _NO_DRUMS,
        snare="0000900000009000" if has_drums and rng.random() < 0.7 else _NO_DRUMS,
        hat=patterns_hat[int(rng.integers(5))] if has_drums else _NO_DRUMS,
        hat_decay_s=0.02 + 0.2 * float(rng.random()) ** 2,
        swing=0.4 * float(rng.random()) ** 2,
        noise=0.02 * float(rng.random()),
    )


def community_style(community: int) -> Style:
    """The :class:`Style` of a community id (0..11 hand-written, higher ids generated)."""
    c = _check_index("community", community)
    return _STYLES[c] if c < len(_STYLES) else _generated_style(c)


def genre_name(community: int, genre_names: Sequence[str] | None = None) -> str:
    """The genre tag of a community: ``genre_names[c]`` (default :data:`GENRE_NAMES`), else ``style-<c>``."""
    c = _check_index("community", community)
    names = GENRE_NAMES if genre_names is None else tuple(genre_names)
    return str(names[c]) if c < len(names) else f"style-{c}"


def _check_index(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _rng(*parts: int) -> np.random.Generator:
    return np.random.default_rng([_SEED_TAG, *(int(p) % (1 << 64) for p in parts)])


@dataclass(frozen=True)
class _Artist:
    style: Style
    bpm: float
    root: int
    harmonics: tuple[float, ...]
    cutoff_hz: float
    drive: float
    levels: tuple[float, float, float, float]  # lead, bass, pad, drums


def _artist(community: int, artist_seed: int) -> _Artist:
    s = community_style(community)
    rng = _rng(1, community, artist_seed)
    tilt = float(rng.uniform(-0.15, 0.15))
    harm = tuple(a * k ** -tilt for k, a in enumerate(s.harmonics, start=1))
    return _Artist(
        style=s,
        bpm=float(rng.uniform(*s.bpm)),
        root=int(rng.integers(s.root[0], s.root[1] + 1)),
        harmonics=harm,
        cutoff_hz=float(s.cutoff_hz * math.exp(rng.normal(0.0, 0.12))),
        drive=float(s.drive * rng.uniform(0.8, 1.2)),
        levels=tuple(float(v) for v in rng.uniform(0.85, 1.15, size=4)),  # type: ignore[arg-type]
    )


def _wavetable(harmonics: Sequence[float], max_harmonic: int, copies: int) -> np.ndarray:
    """One band-limited cycle (length _TABLE), peak-normalised, tiled ``copies`` times (no index wrap)."""
    h = np.asarray(harmonics[:max(1, max_harmonic)], dtype=np.float64)
    spec = np.zeros(_TABLE // 2 + 1, dtype=np.complex128)
    # random-ish but fixed phases avoid the peaky waveform of all-sine phases
    phases = np.cumsum(np.arange(1, len(h) + 1)) * 0.7
    spec[1:len(h) + 1] = h * np.exp(1j * phases) * (_TABLE / 2)
    cycle = np.fft.irfft(spec, n=_TABLE)
    peak = np.max(np.abs(cycle))
    cycle = cycle / peak if peak > 0 else cycle
    return np.tile(cycle.astype(np.float32), copies)


def _lowpass_gain(k_hz: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Magnitude response of a 2nd-order Butterworth low-pass at the given frequencies."""
    return 1.0 / np.sqrt(1.0 + (k_hz / cutoff_hz) ** 4)


def _oscillator(freq_b: np.ndarray, amp_b: np.ndarray, harmonics: Sequence[float], sr: int,
                cutoff_hz: float | None = None) -> np.ndarray:
    """Wavetable voice. freq_b (nb,) Hz and amp_b (nb + 1,) per block; returns (nb * _BLOCK,) float32.

    Brightness: the harmonics are weighted by a 2nd-order low-pass response at ``cutoff_hz`` evaluated at
    the voice's median pitch (a static filter on the timbre, no per-sample filtering).
    """
    nb = freq_b.shape[0]
    cyc = freq_b * (_BLOCK / sr)  # cycles per block
    fmax = float(freq_b.max())
    h = np.asarray(harmonics, dtype=np.float64)
    if cutoff_hz is not None:
        h = h * _lowpass_gain(np.arange(1, len(h) + 1) * float(np.median(freq_b)), cutoff_hz)
    table = _wavetable(h, int(0.45 * sr / max(fmax, 1.0)), copies=int(math.ceil(cyc.max())) + 2)
    start = np.empty(nb, dtype=np.float64)
    start[0] = 0.0
    np.cumsum(cyc[:-1], out=start[1:])
    start = ((start % 1.0) * _TABLE).astype(np.float32)
    inc = (freq_b * (_TABLE / sr)).astype(np.float32)
    ramp = np.arange(_BLOCK, dtype=np.float32)
    buf = np.multiply(inc[:, None], ramp[None, :])
    buf += start[:, None]
    out = np.take(table, buf.astype(np.intp))
    a0 = amp_b[:-1].astype(np.float32)
    da = (amp_b[1:] - amp_b[:-1]).astype(np.float32)
    np.multiply(da[:, None], ramp[None, :] / _BLOCK, out=buf)
    buf += a0[:, None]
    out *= buf
    return out.reshape(-1)


def _notes_env(t_b: np.ndarray, onsets: np.ndarray, gates: np.ndarray, attack: float, decay: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-block note index and envelope (attack ramp x exponential decay, x note gate/velocity)."""
    i = np.searchsorted(onsets, t_b, side="right") - 1
    valid = i >= 0
    i = np.clip(i, 0, len(onsets) - 1)
    tn = t_b - onsets[i]
    env = np.minimum(1.0, tn / max(attack, 1e-4)) * np.exp(-tn / decay) * gates[i] * valid
    return i, env


def _degree_to_midi(degrees: np.ndarray, scale: Sequence[int], root: int) -> np.ndarray:
    m = len(scale)
    sc = np.asarray(scale)
    return root + 12 * np.floor_divide(degrees, m) + sc[np.mod(degrees, m)]


def _midi_hz(m: np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


_PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 4), (0, 5, 3, 4), (0, 0, 3, 4), (5, 3, 0, 4), (0, 6, 5, 4), (1, 4, 0, 0))


def _drum(kind: str, sr: int, rng: np.random.Generator, hat_decay: float) -> np.ndarray:
    if kind == "kick":
        t = np.arange(int(0.25 * sr)) / sr
        f = 45.0 + 110.0 * np.exp(-t / 0.03)
        x = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.09)
    elif kind == "snare":
        t = np.arange(int(0.18 * sr)) / sr
        noise = np.diff(rng.standard_normal(len(t) + 1))
        x = 0.5 * noise * np.exp(-t / 0.05) + 0.6 * np.sin(2 * np.pi * 190.0 * t) * np.exp(-t / 0.04)
    else:
        t = np.arange(int(max(0.03, 4 * hat_decay) * sr)) / sr
        noise = np.diff(np.diff(rng.standard_normal(len(t) + 2)))
        x = 0.35 * noise * np.exp(-t / hat_decay)
    return x.astype(np.float32)


def _add_choked(out: np.ndarray, pos: np.ndarray, vel: np.ndarray, shot: np.ndarray) -> None:
    """Add one-shots starting at sorted ``pos``; each hit cuts the previous one (a choke group).

    Touches only the sounding samples (at most ``len(out)``), with no Python loop over hits.
    """
    seg = np.diff(np.append(pos, len(out)))
    lens = np.minimum(seg, shot.size)
    offs = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    out[np.repeat(pos, lens) + offs] += shot[offs] * np.repeat(vel[:len(pos)], lens)


def synthesize_clip(*, community: int, artist_seed: int, track_no: int, sr: int = 22050,
                    duration: float = 30.0) -> np.ndarray:
    """Synthesize a demo clip in the style of a taste community.

    Parameters
    ----------
    community : int
        Taste-community id (>= 0): sets the style (see :func:`community_style`).
    artist_seed : int
        Any integer identifying the artist: their tempo, key, timbre and mix within the community's style.
    track_no : int
        Track number: melody, chord progression, drum variations and noise.
    sr : int
        Sampling rate in Hz.
    duration : float
        Length in seconds.

    Returns
    -------
    np.ndarray [shape=(round(duration * sr),), dtype=float32]
        Mono audio, peak 0.89 (about -1 dBFS). The same arguments give the same samples.
    """
    community = _check_index("community", community)
    if isinstance(artist_seed, bool) or not isinstance(artist_seed, (int, np.integer)):
        raise ParameterError(f"artist_seed must be an integer, got {artist_seed!r}")
    track_no = _check_index("track_no", track_no)
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or not 4000 <= sr <= 192000:
        raise ParameterError(f"sr must be an integer in [4000, 192000], got {sr!r}")
    if not (math.isfinite(duration) and 0 < duration <= 3600):
        raise ParameterError(f"duration must be in (0, 3600] seconds, got {duration!r}")
    sr = int(sr)
    n = int(round(duration * sr))
    nb = n // _BLOCK + 1
    art = _artist(community, int(artist_seed))
    st = art.style
    rng = _rng(2, community, int(artist_seed), track_no)

    bpm = art.bpm * float(rng.uniform(0.99, 1.01))
    beat = 60.0 / bpm
    sixteenth = beat / 4
    t_b = np.arange(nb + 1) * (_BLOCK / sr)  # block start times, one extra for amplitude interpolation
    t_end = t_b[-1]
    n_bars = int(math.ceil(t_end / (4 * beat))) + 1
    scale = _SCALES[st.scale]
    m = len(scale)
    prog = np.asarray(_PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))])
    bar_chord = prog[np.arange(n_bars) % len(prog)]  # chord root degree per bar

    def bar_of(times: np.ndarray) -> np.ndarray:
        return np.minimum((times // (4 * beat)).astype(np.int64), n_bars - 1)

    # Lead melody: a two-bar motif, repeated with mutations, following the chord roots.
    per_bar = 4 * st.note_div
    motif_len = 2 * per_bar
    steps = rng.integers(-2, 3, size=motif_len)
    motif = np.cumsum(steps) - steps[0]
    motif = motif - int(np.round(motif.mean()))
    n_notes = n_bars * per_bar
    deg = np.tile(motif, n_bars // 2 + 1)[:n_notes]
    mutate = rng.random(n_notes) < 0.2
    deg = deg + mutate * rng.integers(-2, 3, size=n_notes)
    onsets = np.arange(n_notes) * (beat / st.note_div)
    deg = deg + bar_chord[bar_of(onsets)] % m
    deg = np.clip(deg, -m, 2 * m)
    gates = (rng.random(n_notes) >= st.rest_prob) * rng.uniform(0.75, 1.0, size=n_notes)
    lead_midi = _degree_to_midi(deg, scale, art.root)
    i, env = _notes_env(t_b, onsets, gates, st.attack_s, st.decay_s)
    f_lead = _midi_hz(lead_midi)[i[:-1]]
    if st.vibrato > 0:
        f_lead = f_lead * 2.0 ** (st.vibrato / 12.0 * np.sin(2 * np.pi * 5.5 * t_b[:-1]))
    tonal = _oscillator(f_lead, env * 0.5 * art.levels[0], art.harmonics, sr, art.cutoff_hz)

    # Bass: chord roots one or two octaves below the lead's centre (walking: steps up from the root).
    bass_root = art.root - (24 if art.root >= 52 else 12)  # keep the bass above ~40 Hz
    if st.bass != "none":
        per_beat = {"beats": 1, "eighths": 2, "offbeats": 2, "walking": 1, "sustain": 0.5}[st.bass]
        nb_notes = int(n_bars * 4 * per_beat)
        b_on = np.arange(nb_notes) * (beat / per_beat)
        b_deg = bar_chord[bar_of(b_on)].astype(np.int64)
        b_gate = np.ones(nb_notes)
        if st.bass == "offbeats":
            b_gate[0::2] = 0.0
        if st.bass == "walking":
            b_deg = b_deg + np.array([0, 2, 4, 5])[np.arange(nb_notes) % 4]
        b_decay = {"sustain": 1.2, "walking": 0.5}.get(st.bass, 0.25)
        bi, b_env = _notes_env(t_b, b_on, b_gate, 0.005, b_decay)
        f_bass = _midi_hz(_degree_to_midi(b_deg, scale, bass_root))[bi[:-1]]
        tonal += _oscillator(f_bass, b_env * 0.6 * st.bass_level * art.levels[1], (1.0, 0.35, 0.12), sr,
                             art.cutoff_hz)

    # Pad: triad on each bar's chord, sustained or offbeat "skank" stabs.
    if st.pad != "none" and st.pad_level > 0:
        if st.pad == "sustain":
            p_on = np.arange(n_bars) * 4 * beat
            p_gate, p_att, p_dec = np.ones(n_bars), max(0.05, st.attack_s * 3), 8.0
        else:
            p_on = np.arange(n_bars * 4) * beat + beat / 2
            p_gate, p_att, p_dec = np.ones(n_bars * 4), 0.004, 0.09
        pi_, p_env = _notes_env(t_b, p_on, p_gate, p_att, p_dec)
        p_bar = bar_of(p_on)[pi_[:-1]]
        for voice in (0, 2, 4):
            f_pad = _midi_hz(_degree_to_midi(bar_chord[p_bar] + voice, scale, art.root - 12))
            tonal += _oscillator(f_pad, p_env * 0.22 * st.pad_level * art.levels[2], art.harmonics[:6], sr,
                                 art.cutoff_hz)

    tonal = tonal[:n]
    if art.drive > 0:
        g = 1.0 + art.drive
        tonal = np.tanh(tonal * g) / math.tanh(g)

    # Drums: one-shots at the pattern's sixteenths (probabilities per step, swing on the off-beats).
    mix = np.zeros(n + int(0.8 * sr), dtype=np.float32)
    mix[:n] = tonal
    n16 = n_bars * 16
    step_t = np.arange(n16) * sixteenth + (np.arange(n16) % 2 == 1) * st.swing * sixteenth
    drum_level = st.drum_level * art.levels[3]
    for kind, pattern in (("kick", st.kick), ("snare", st.snare), ("hat", st.hat)):
        probs = np.array([int(ch) / 9.0 for ch in pattern])[np.arange(n16) % 16]
        if not probs.any():
            continue
        hits = rng.random(n16) < probs
        pos = np.round(step_t[hits] * sr).astype(np.int64)
        pos = pos[pos < n]
        if pos.size == 0:
            continue
        shot = _drum(kind, sr, rng, st.hat_decay_s) * drum_level
        vel = rng.uniform(0.7, 1.0, size=pos.size).astype(np.float32)
        _add_choked(mix, np.unique(pos), vel, shot)
    y = mix[:n]
    if st.noise > 0:
        y += st.noise * np.tile(rng.standard_normal(1 << 15, dtype=np.float32), n // (1 << 15) + 1)[:n]

    fade = min(n // 2, int(0.01 * sr))
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        y[:fade] *= ramp
        y[n - fade:] *= ramp[::-1]
    peak = float(np.max(np.abs(y))) if n else 0.0
    if peak > 0:
        y *= np.float32(0.89 / peak)
    return np.ascontiguousarray(y, dtype=np.float32)
