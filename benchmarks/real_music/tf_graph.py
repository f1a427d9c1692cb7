"""The ``musicnn`` wheel's own TF1 inference graphs, variables frozen from their checkpoints: the reference that
``tests/audio/test_musicnn.py`` checks musim's numpy forward pass against, and what ``vgg_dev`` computes the VGG
models' layers with. Needs TensorFlow (a dependency of the project, never of the audio path)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

import numpy as np


def _meta_graph(model: str):
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString((resources.files("musicnn") / model / ".meta").read_bytes())
    return meta


def nodes_of(model: str, op: str) -> list[str]:
    """Names of ``model``'s graph nodes of type ``op`` (e.g. ``"Sigmoid"``, ``"MaxPool"``)."""
    return [n.name for n in _meta_graph(model).graph_def.node if n.op == op]


class FrozenGraph:
    """The part of ``model``'s graph that computes ``outputs`` (name -> node), with its variables as constants."""

    def __init__(self, model: str, outputs: Mapping[str, str]) -> None:
        import tensorflow as tf

        graph_def = tf.compat.v1.graph_util.extract_sub_graph(_meta_graph(model).graph_def, list(outputs.values()))
        reader = tf.compat.v1.train.NewCheckpointReader(str(resources.files("musicnn") / model) + "/")
        for node in graph_def.node:
            node.attr.pop("_output_shapes", None)
            if node.op == "VariableV2":
                dtype = node.attr["dtype"]
                node.op = "Const"
                node.ClearField("attr")
                node.attr["dtype"].CopyFrom(dtype)
                node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(reader.get_tensor(node.name)))
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
            self._placeholders = [self.graph.get_tensor_by_name(n.name + ":0") for n in graph_def.node
                                  if n.op == "Placeholder"]
            self._outputs = {k: self.graph.get_tensor_by_name(v + ":0") for k, v in outputs.items()}
            self.session = tf.compat.v1.Session(graph=self.graph)

    def run(self, patches: np.ndarray) -> dict[str, np.ndarray]:
        """The outputs on log-mel ``patches (B, 187, 96)`` float32, in inference mode."""
        import tensorflow as tf

        feed = {p: (patches if p.dtype == tf.float32 else False) for p in self._placeholders}  # input, is_training
        return self.session.run(self._outputs, feed)
