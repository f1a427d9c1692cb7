"""The audio layer: decoding, log-mel spectrograms, slices, handcrafted descriptors.

Functions follow librosa's style: keyword-only typed arguments, array in, array out, numpydoc docstrings
with shapes and units. Bad audio raises :class:`BadAudioError` (an :class:`musim.errors.AudioError`) naming
the object key and the reason; bad arguments raise :class:`musim.errors.ParameterError`.

librosa is imported lazily, inside the functions that need it.
"""

from musim.audio.batch import default_workers
from musim.audio.descriptors import (
    DESCRIPTOR_NAMES,
    PITCH_CLASSES,
    descriptor_vector,
    descriptors,
    estimate_key,
)
from musim.audio.excerpt import excerpt_window
from musim.audio.io import BadAudioError, load_audio, resample, sniff_format
from musim.audio.mel import (
    log_mel,
    mel_filterbank,
    power_spectrogram,
    power_to_db,
    slice_spectrogram,
    slices,
)
from musim.audio.params import MelParams, SliceParams

__all__ = [
    "DESCRIPTOR_NAMES",
    "PITCH_CLASSES",
    "BadAudioError",
    "MelParams",
    "SliceParams",
    "default_workers",
    "descriptor_vector",
    "descriptors",
    "estimate_key",
    "excerpt_window",
    "load_audio",
    "log_mel",
    "mel_filterbank",
    "power_spectrogram",
    "power_to_db",
    "resample",
    "slice_spectrogram",
    "slices",
    "sniff_format",
]
