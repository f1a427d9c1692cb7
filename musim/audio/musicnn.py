"""musicnn's pretrained music embedding (Pons & Serra, "musicnn: pre-trained convolutional neural networks for
music audio tagging", ISMIR 2019 LBD), computed in numpy from the weights the ``musicnn`` wheel carries.

The MSD model (trained to tag the Million Song Dataset with its 50 most frequent Last.FM tags) reads 3-second
patches of a 96-band log-mel at 16 kHz; its 200-unit penultimate layer, averaged over the patches of the excerpt,
is the ``musicnn`` block of the descriptor vector (:mod:`musim.audio.descriptors`). Chosen on the development
corpus (``benchmarks/real_music/pretrained_dev.py``: MSD and MagnaTagATune models, four layers each, alone and
beside the handcrafted blocks), never on the benchmark's tracks.

Why numpy and a reader of TensorFlow's checkpoint format here rather than TensorFlow: feature extraction runs
in forked worker processes, where TensorFlow's runtime is not safe to use once a parent has started it, and the
audio layer stays free of TensorFlow. ``tests/audio/test_musicnn.py`` checks both against TensorFlow: every
variable against ``tf.train.load_checkpoint``, and the forward pass against the original TF1 graph of the wheel.
"""

from __future__ import annotations

import functools
import struct
from importlib import resources
from pathlib import Path

import numpy as np

from musim.errors import ParameterError

__all__ = ["EMBEDDING_DIM", "MODEL", "PATCH_FRAMES", "SR", "embedding", "forward", "load_weights", "patches",
           "read_checkpoint", "resample_to_model"]

#: The model the embedding uses (a folder of the ``musicnn`` package).
MODEL = "MSD_musicnn"
#: musicnn's signal setup (``musicnn.configuration``): 16 kHz, 512-point FFT, hop 256, 96 mel bands, 3-s patches.
SR, N_FFT, HOP, N_MELS, PATCH_FRAMES = 16000, 512, 256, 96, 187
EMBEDDING_DIM = 200
_BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default
_FLOAT, _DOUBLE = 1, 2  # TensorFlow's DataType enum


# -- TensorFlow checkpoint (tensor bundle) reader -------------------------------------------------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, pos
        shift += 7


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as int, length-delimited as bytes, fixed as int."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        else:
            raise ValueError(f"protobuf wire type {wire}")
        out.append((field, value))
    return out


def _block_entries(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """Key/value entries of one uncompressed LevelDB table block (prefix-compressed keys, restart array)."""
    block = data[offset:offset + size]
    if data[offset + size] != 0:
        raise ValueError("compressed table block")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    entries, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + vlen]))
        pos += vlen
    return entries


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every float tensor of a TensorFlow checkpoint (``PREFIX.index`` + ``PREFIX.data-00000-of-00001``), by name.

    The index is a LevelDB table of ``BundleEntryProto`` (dtype, shape, shard, offset, size); TensorFlow writes it
    uncompressed. Single-shard checkpoints only (what the musicnn wheel carries).
    """
    prefix = str(prefix)
    index = Path(prefix + ".index").read_bytes()
    shard = Path(prefix + ".data-00000-of-00001").read_bytes()
    footer = index[-48:]
    if struct.unpack_from("<Q", footer, 40)[0] != 0xDB4775248B80FB57:
        raise ValueError(f"{prefix}.index is not a TensorFlow checkpoint index")
    _, pos = _varint(footer, 0)
    _, pos = _varint(footer, pos)  # metaindex handle (unused)
    idx_off, pos = _varint(footer, pos)
    idx_size, _ = _varint(footer, pos)
    out: dict[str, np.ndarray] = {}
    for _, handle in _block_entries(index, idx_off, idx_size):
        off, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        for key, value in _block_entries(index, off, size):
            if not key:  # the bundle header
                continue
            f = dict(_proto_fields(value))
            dtype = f.get(1, 0)
            if dtype not in (_FLOAT, _DOUBLE) or f.get(3, 0) != 0:
                continue  # optimizer step counters and the like; one shard
            dims = [int(dict(_proto_fields(d)).get(1, 0)) for n, d in _proto_fields(f.get(2, b"")) if n == 2]
            start, nbytes = int(f.get(4, 0)), int(f.get(5, 0))
            item = np.dtype(np.float32 if dtype == _FLOAT else np.float64)
            arr = np.frombuffer(shard, item, nbytes // item.itemsize, start)
            out[key.decode("utf-8")] = arr.reshape(dims).astype(np.float32)
    return out


@functools.cache
def load_weights(model: str = MODEL) -> dict[str, np.ndarray]:
    """The inference weights of ``model`` (``MSD_musicnn`` or ``MTT_musicnn``) from the installed musicnn wheel."""
    try:
        folder = resources.files("musicnn") / model
    except ModuleNotFoundError as exc:
        raise ParameterError("musicnn's weights are not installed: run `make install` (the lock installs the musicnn "
                             "wheel)") from exc
    if not (folder / ".index").is_file():
        raise ParameterError(f"no musicnn model {model!r} in {folder}; use MSD_musicnn or MTT_musicnn")
    return {k: v for k, v in read_checkpoint(str(folder) + "/").items() if "Adam" not in k}


# -- forward pass ---------------------------------------------------------------------------------------------------

def _bn(x: np.ndarray, w: dict[str, np.ndarray], i: int) -> np.ndarray:
    scale, shift = _bn_affine(w, i)
    return (x - w[_bn_name(i) + "/moving_mean"]) * scale + shift


def _bn_name(i: int) -> str:
    return "batch_normalization" + ("" if i == 0 else f"_{i}")


def _bn_affine(w: dict[str, np.ndarray], i: int) -> tuple[np.ndarray, np.ndarray]:
    p = _bn_name(i)
    return w[p + "/gamma"] / np.sqrt(w[p + "/moving_variance"] + _BN_EPS), w[p + "/beta"]


#: Output time steps per tile of a front-end convolution: its window matrix and output stay in cache.
_TILE = 32


def _front_block(x: np.ndarray, w: dict[str, np.ndarray], conv: str, bn: int, pad: tuple[int, int]) -> np.ndarray:
    """``max over frequency of BN(ReLU(conv(x) + bias))``, the front end's blocks, as ``(B, T, C)``.

    Bias, ReLU and the batch norm are monotone per channel (the norm decreasing where its scale is negative), and
    so is their rounding, so the maximum over frequency is taken first, of the convolution's maximum or minimum
    per channel (:func:`_conv_extreme`), and the rest applied to ``F`` times fewer values."""
    scale, _ = _bn_affine(w, bn)
    extreme = _conv_extreme(x, w[conv + "/kernel"], pad, lowest=scale < 0)
    return _bn(np.maximum(extreme + w[conv + "/bias"], 0.0), w, bn)


def _conv_extreme(x: np.ndarray, kernel: np.ndarray, pad: tuple[int, int], lowest: np.ndarray) -> np.ndarray:
    """Per channel, the maximum over frequency (the minimum where ``lowest``) of the 2-D convolution of
    ``x (B, T, F)`` (one input channel) with ``kernel (kt, kf, 1, C)``, padded in time only and valid in frequency,
    without bias: ``(B, T', C)``.

    The convolution is a matrix product of each position's window with the kernel, done ``_TILE`` time steps at a
    time so that the windows and the product stay in cache (the whole product of a 3-s patch is ~9 MB); a channel's
    minimum is the maximum of its negated kernel, negated back (exact: negation commutes with the rounding)."""
    kt, kf, _, c = kernel.shape
    sign = np.where(lowest, -1.0, 1.0).astype(np.float32)
    flat = kernel.reshape(kt * kf, c) * sign
    win = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), pad, (0, 0))), (kt, kf), axis=(1, 2))
    batch, steps, bands = win.shape[:3]  # (B, T', F', kt, kf)
    out = np.empty((batch, steps, c), np.float32)
    for b in range(batch):
        for t in range(0, steps, _TILE):
            tile = win[b, t:t + _TILE]
            out[b, t:t + _TILE] = (tile.reshape(-1, kt * kf) @ flat).reshape(len(tile), bands, c).max(axis=1)
    return out * sign


def _mid_block(x: np.ndarray, w: dict[str, np.ndarray], conv: str, bn: int) -> np.ndarray:
    """``BN(ReLU(conv(x) + bias))`` of a mid-end (7 x width) convolution over the whole width, time padded by 3:
    ``(B, T, C)``, as a sum of the 7 time-shifted products (no window matrix)."""
    kernel = w[conv + "/kernel"][:, :, 0]  # (7, width, C)
    kt = len(kernel)
    xp = np.pad(x, ((0, 0), ((kt - 1) // 2, kt // 2), (0, 0)))
    steps = x.shape[1]
    z = xp[:, :steps] @ kernel[0]
    for dt in range(1, kt):
        z += xp[:, dt:dt + steps] @ kernel[dt]
    return _bn(np.maximum(z + w[conv + "/bias"], 0.0), w, bn)


#: Patches per step of :func:`forward`: bounds its memory on long audio (~1.5 MB of activations per patch).
_BATCH = 16


def forward(patches: np.ndarray, weights: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """musicnn on log-mel ``patches (B, 187, 96)``: ``penultimate (B, 200)``, ``mean_pool``/``max_pool (B, 753)``
    and the tag probabilities ``taggram (B, 50)``, as the TF1 graph of the musicnn package computes them."""
    w = load_weights() if weights is None else weights
    patches = np.asarray(patches, np.float32)
    steps = [_forward(patches[i:i + _BATCH], w) for i in range(0, max(len(patches), 1), _BATCH)]
    return {name: np.concatenate([s[name] for s in steps]) for name in steps[0]}


def _forward(patches: np.ndarray, w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    x = _bn(patches, w, 0)
    # timbral blocks: (7 x 38) and (7 x 67) filters, time padded by 3; temporal blocks: (128/64/32 x 1) filters,
    # 'same' in time; each then the maximum over frequency
    front = [_front_block(x, w, "conv2d", 1, (3, 3)), _front_block(x, w, "conv2d_1", 2, (3, 3))]
    for conv, bn in ((2, 3), (3, 4), (4, 5)):
        kt = w[f"conv2d_{conv}/kernel"].shape[0]
        front.append(_front_block(x, w, f"conv2d_{conv}", bn, ((kt - 1) // 2, kt // 2)))
    f = np.concatenate(front, axis=2)  # (B, T, 561)
    # mid-end: three (7 x width) convolutions, the last two residual
    c1 = _mid_block(f, w, "conv2d_5", 6)
    c2 = _mid_block(c1, w, "conv2d_6", 7) + c1
    c3 = _mid_block(c2, w, "conv2d_7", 8) + c2
    mid = np.concatenate([f, c1, c2, c3], axis=2)  # (B, T, 753)
    max_pool, mean_pool = mid.max(axis=1), mid.mean(axis=1)
    flat = _bn(np.stack([max_pool, mean_pool], axis=2).reshape(len(mid), -1), w, 9)  # interleaved, as TF flattens
    penultimate = _bn(np.maximum(flat @ w["dense/kernel"] + w["dense/bias"], 0.0), w, 10)
    logits = penultimate @ w["dense_1/kernel"] + w["dense_1/bias"]
    return {"penultimate": penultimate, "mean_pool": mean_pool, "max_pool": max_pool,
            "taggram": 1.0 / (1.0 + np.exp(-logits))}


def patches(y: np.ndarray, *, hop: int = PATCH_FRAMES) -> np.ndarray:
    """The 3-second log-mel patches ``(B, 187, 96)`` of 16-kHz audio ``y``, one every ``hop`` frames (default: back
    to back, as musicnn tags; musicnn's input is ``log10(10000 * mel + 1)``); audio shorter than a patch is
    repeated to fill one."""
    import librosa

    y = np.asarray(y, np.float32)
    need = (PATCH_FRAMES - 1) * HOP + 1
    if 0 < y.size < need:
        y = np.tile(y, -(-need // y.size))[:need]
    if y.size == 0:
        raise ParameterError("musicnn needs audio, got an empty signal")
    if hop < 1:
        raise ParameterError(f"musicnn patches: hop must be >= 1 frame, got {hop}")
    mel = librosa.feature.melspectrogram(y=y, sr=SR, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS).T
    rep = np.log10(10000 * mel + 1).astype(np.float32)
    starts = range(0, rep.shape[0] - PATCH_FRAMES + 1, hop)
    return np.stack([rep[s:s + PATCH_FRAMES] for s in starts])


def resample_to_model(y: np.ndarray, *, sr: int) -> np.ndarray:
    """``y`` at musicnn's 16 kHz."""
    from musim.audio.io import resample

    y = np.asarray(y, np.float32)
    return resample(y, orig_sr=sr, target_sr=SR) if sr != SR and y.size else y


def embedding(y: np.ndarray, *, sr: int) -> np.ndarray:
    """musicnn's 200-d penultimate layer averaged over the 3-second patches of ``y`` (resampled to 16 kHz)."""
    return forward(patches(resample_to_model(y, sr=sr)))["penultimate"].mean(axis=0).astype(np.float32)
