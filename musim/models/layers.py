"""musim's own Keras layers, registered so a saved ``.keras`` file loads anywhere.

Each layer is registered with ``keras.saving.register_keras_serializable(package="musim")``: loading a
model needs this module imported (``musim.models.load_model`` does it), never the training code, a
``custom_objects`` mapping or unsafe deserialisation (no ``Lambda`` layers).

Importing this module imports Keras (and TensorFlow): import it lazily.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from musim.models.constants import TOP_DB

__all__ = ["L1Distance", "LogMelScale"]


@keras.saving.register_keras_serializable(package="musim")
class LogMelScale(keras.layers.Layer):
    """Map log-mel dB values in ``[-top_db, 0]`` to ``[0, 1]``: ``x / top_db + 1``.

    Inside the model, so that callers feed the feature store's dB arrays as they are.
    """

    def __init__(self, top_db: float = TOP_DB, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not top_db > 0:
            raise ValueError(f"top_db must be > 0, got {top_db}")
        self.top_db = float(top_db)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        return x / ops.cast(self.top_db, self.compute_dtype) + ops.cast(1.0, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "top_db": self.top_db}


@keras.saving.register_keras_serializable(package="musim")
class L1Distance(keras.layers.Layer):
    """Element-wise absolute difference of two encodings: ``|a - b|`` (the siamese head's input).

    Takes a list ``[a, b]`` of tensors of the same shape ``(batch, d)`` and returns ``(batch, d)``. Summed
    with weights by the following unit, it is a learned weighted L1 distance.
    """

    def call(self, inputs):
        a, b = inputs
        return ops.abs(ops.subtract(a, b))

    def compute_output_shape(self, input_shape):
        return input_shape[0]
