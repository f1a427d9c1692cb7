"""What extraction computes: the three extractor kinds, their parameters, hashes and object keys.

========================  ===================================  ==========================================
kind                      parameters                           result
========================  ===================================  ==========================================
``log_mel``               :class:`musim.audio.MelParams`       float16 ``.npy`` ``(frames, n_mels)`` at
                                                               ``features/mel/<hash>/<audio_id>.<digest>.npy``
``slices``                :class:`musim.audio.SliceParams`     float16 ``.npy`` ``(n, frames, n_mels)`` at
                                                               ``features/slices/<hash>/<audio_id>.<digest>.npy``
``descriptors``           :class:`DescriptorParams`            a row of ``track_descriptors`` (warehouse)
========================  ===================================  ==========================================

``audio_id`` is the preview's sha256, or ``<sha256>-<offset_ms>-<duration_ms>`` when only an excerpt of
the stored audio is analysed (local whole tracks), so a key always names exactly what was analysed; ``digest``
is the sha256 of the object's bytes, so a key names its content too and is never written with other bytes
(:meth:`Extractor.object_key`). Rows made before keys held it point at ``<audio_id>.npy`` (:func:`key_digest`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from musim.audio import DESCRIPTOR_NAMES, MelParams, SliceParams
from musim.errors import ParameterError

__all__ = ["KINDS", "TENSOR_KINDS", "DescriptorParams", "Extractor", "ExtractorParams", "key_digest",
           "params_from_dict"]

KINDS = ("log_mel", "slices", "descriptors")
TENSOR_KINDS = frozenset({"log_mel", "slices"})
_PREFIX = {"log_mel": "features/mel", "slices": "features/slices"}
_DIGEST_KEY = re.compile(r"\.([0-9a-f]{64})\.npy$")

#: Bumped when the descriptor computation changes its numbers (part of DescriptorParams.hash()); 2: the timbre block;
#: 3: the contrast model; 4: the musicnn block.
_DESCRIPTOR_ALGORITHM = 4


@dataclass(frozen=True)
class DescriptorParams:
    """Parameters of the handcrafted descriptors (:func:`musim.audio.descriptors`).

    Parameters
    ----------
    sr : int
        Rate in Hz the audio is decoded at before the descriptors are computed.
    """

    sr: int = 22050

    def __post_init__(self) -> None:
        if isinstance(self.sr, bool) or not isinstance(self.sr, int) or self.sr <= 0:
            raise ParameterError(f"sr must be a positive integer, got {self.sr!r}")

    @property
    def names(self) -> tuple[str, ...]:
        """The descriptor names, in vector order."""
        return DESCRIPTOR_NAMES

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def hash(self) -> str:
        """12 hex digits over the rate, the descriptor names and the algorithm version."""
        doc = {"kind": "descriptors", "algorithm": _DESCRIPTOR_ALGORITHM, "sr": self.sr,
               "names": list(DESCRIPTOR_NAMES)}
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


ExtractorParams = MelParams | SliceParams | DescriptorParams
_PARAMS_TYPE: dict[str, type] = {"log_mel": MelParams, "slices": SliceParams, "descriptors": DescriptorParams}


def key_digest(object_key: str) -> str | None:
    """The sha256 of the bytes a tensor's ``object_key`` names (:meth:`Extractor.object_key`); None for a key made
    before keys held it (``<audio_id>.npy``: its bytes tell)."""
    m = _DIGEST_KEY.search(object_key)
    return m.group(1) if m else None


def params_from_dict(kind: str, d: dict[str, Any]) -> ExtractorParams:
    """Rebuild the parameters of ``kind`` from their ``to_dict()``."""
    if kind not in _PARAMS_TYPE:
        raise ParameterError(f"unknown extractor kind {kind!r}; use one of {KINDS}")
    cls = _PARAMS_TYPE[kind]
    return cls.from_dict(d) if hasattr(cls, "from_dict") else cls(**d)


@dataclass(frozen=True)
class Extractor:
    """One thing extraction computes: a kind and its parameters."""

    kind: str
    params: ExtractorParams

    def __post_init__(self) -> None:
        if self.kind not in _PARAMS_TYPE:
            raise ParameterError(f"unknown extractor kind {self.kind!r}; use one of {KINDS}")
        if not isinstance(self.params, _PARAMS_TYPE[self.kind]):
            raise ParameterError(f"{self.kind} needs {_PARAMS_TYPE[self.kind].__name__}, "
                                 f"got {type(self.params).__name__}")

    @property
    def params_hash(self) -> str:
        return self.params.hash()

    @property
    def is_tensor(self) -> bool:
        return self.kind in TENSOR_KINDS

    @property
    def sr(self) -> int:
        return int(self.params.sr)

    @property
    def prefix(self) -> str:
        """Object-key prefix of the results (tensors only): ``features/mel/<hash>``."""
        if not self.is_tensor:
            raise ParameterError(f"{self.kind} results are warehouse rows, not objects")
        return f"{_PREFIX[self.kind]}/{self.params_hash}"

    def object_key(self, audio_id: str, digest: str | None = None) -> str:
        """Where the tensor of ``audio_id`` whose ``.npy`` bytes have the sha256 ``digest`` is stored:
        ``<prefix>/<audio_id>.<digest>.npy``. The key names the content, so values computed again that differ (the
        same audio id, other audio; other code) never replace the bytes an older row, and a training set pinned
        before, point at; equal keys are equal values (``sql/features/record.sql`` compares them). Without
        ``digest``: ``<prefix>/<audio_id>.npy``, the key of rows made before keys named their content (extraction
        always gives it)."""
        return f"{self.prefix}/{audio_id}.{digest}.npy" if digest else f"{self.prefix}/{audio_id}.npy"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "params_hash": self.params_hash, "params": self.params.to_dict()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Extractor:
        ex = cls(d["kind"], params_from_dict(d["kind"], dict(d["params"])))
        if "params_hash" in d and d["params_hash"] != ex.params_hash:
            raise ParameterError(f"{d['kind']} parameters hash to {ex.params_hash}, not {d['params_hash']}: "
                                 "the feature code changed between planning and computing")
        return ex
