"""Run a frozen tf-pose-estimation graph with TensorFlow 2, batch in, raw maps out.

The graph is imported into its own ``tf.Graph`` and run by a ``tf.compat.v1.Session`` bound to
that graph, so the rest of the process stays in eager mode and each runner has its own thread
pools (several runners, e.g. Ray actors, can be configured independently).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from .config import RuntimeConfig
from .errors import GraphError, InputShapeError

log = logging.getLogger(__name__)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ banner, not our logs


def _tf():
    import tensorflow as tf  # imported lazily: it takes seconds and most commands never need it

    return tf


def load_graph_def(path: Path):
    tf = _tf()
    gd = tf.compat.v1.GraphDef()
    try:
        gd.ParseFromString(Path(path).read_bytes())
    except Exception as exc:  # protobuf raises its own DecodeError
        raise GraphError(f"{path} is not a frozen TensorFlow graph (GraphDef): {exc}. "
                         "Pass the graph_opt.pb file of a tf-pose-estimation model.") from None
    return gd


def check_graph_file(path: Path, input: str, output: str):
    """Parse ``path`` and make sure it has the input and output tensors; return the GraphDef."""
    gd = load_graph_def(path)
    names = {n.name for n in gd.node}
    missing = [t for t in (input, output) if t.split(":")[0] not in names]
    if missing:
        raise GraphError(f"{path} has no tensor {', '.join(missing)} (expected input {input} "
                         f"and output {output}); it is not a tf-pose-estimation pose graph.")
    return gd


class GraphRunner:
    """Holds one loaded graph; ``run`` maps (N, H, W, 3) float32 BGR to (N, H/8, W/8, C)."""

    def __init__(self, path: Path, input: str, output: str, n_channels: int,
                 runtime: RuntimeConfig = RuntimeConfig(), bf16: bool = False):
        tf = _tf()
        gd = check_graph_file(path, input, output)
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.import_graph_def(gd, name="")
        self._input = self.graph.get_tensor_by_name(input)
        self._output = self.graph.get_tensor_by_name(output)
        self.n_channels = n_channels
        cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=runtime.intra_threads,
                                       inter_op_parallelism_threads=runtime.inter_threads)
        if bf16:   # oneDNN's graph rewrite: convolutions and friends in bfloat16
            from tensorflow.core.protobuf import rewriter_config_pb2

            cfg.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = (
                rewriter_config_pb2.RewriterConfig.ON)
        self._session = tf.compat.v1.Session(graph=self.graph, config=cfg)
        self.path = Path(path)

    def run(self, batch: np.ndarray) -> np.ndarray:
        if batch.ndim != 4 or batch.shape[3] != 3:
            raise InputShapeError(f"expected a batch of shape (N, H, W, 3), got {batch.shape}")
        if batch.shape[1] % 8 or batch.shape[2] % 8:
            raise InputShapeError(f"network input height and width must be multiples of 8, got "
                                  f"{batch.shape[1]}x{batch.shape[2]}")
        out = self._session.run(self._output, {self._input: batch.astype(np.float32, copy=False)})
        if out.shape[-1] != self.n_channels:
            raise GraphError(f"{self.path} returned {out.shape[-1]} channels, expected "
                             f"{self.n_channels} for its keypoint layout")
        return out

    def close(self) -> None:
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
