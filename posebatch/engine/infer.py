"""Run a frozen tf-pose-estimation graph, batch in, raw maps out, with TensorFlow 2 (the
reference) or OpenVINO (the same graph file converted in memory).

TensorFlow: the graph is imported into its own ``tf.Graph`` and run by a
``tf.compat.v1.Session`` bound to that graph, so the rest of the process stays in eager mode and
each runner has its own thread pools (several runners, e.g. Ray actors, can be configured
independently). OpenVINO: ``openvino.convert_model`` reads the same ``graph_opt.pb`` after the
same checks (:func:`check_graph_once`), and one compiled model is kept per input shape.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

from .config import Precision, Runtime, RuntimeConfig, require_bf16
from ..errors import GraphError, InputShapeError

log = logging.getLogger(__name__)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ banner, not our logs


# What tensorflow/__init__ imports eagerly "for SavedModel registration": Keras's optimizers,
# which bring Keras itself (and matplotlib). A frozen graph never uses them, and they are half
# of TensorFlow's import time (1.7 of 3.6 s here), paid by every actor of every job.
_EAGER_KERAS = ("keras.src.optimizers", "tf_keras.src.optimizers")


def _tf():
    """TensorFlow, imported on first use (it takes seconds and most commands never need it),
    without the Keras optimizers: TensorFlow skips them when they cannot be imported, and
    they stay importable afterwards (nothing is left blocked)."""
    if "tensorflow" not in sys.modules:
        blocked = [m for m in _EAGER_KERAS if m not in sys.modules]
        for m in blocked:
            sys.modules[m] = None  # type: ignore[assignment]  # "import ... halted"
        try:
            import tensorflow  # noqa: F401
        finally:
            for m in blocked:
                if m in sys.modules and sys.modules[m] is None:
                    del sys.modules[m]
    import tensorflow as tf

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


# The operations a PAF pose graph is made of (those of tf-pose-estimation's graphs, and the
# pure tensor arithmetic their variants use). A graph is data from a stranger: anything else
# (reading or writing files, saving and restoring, calling Python, queues, datasets,
# memory-mapped constants) is refused before TensorFlow ever runs it.
ALLOWED_OPS = frozenset({
    "Add", "AddN", "AddV2", "AvgPool", "BiasAdd", "Cast", "ConcatV2", "Const", "Conv2D",
    "DepthwiseConv2dNative", "ExpandDims", "Fill", "FusedBatchNorm", "FusedBatchNormV3", "Identity",
    "MaxPool", "Maximum", "Mean", "Minimum", "Mul", "NoOp", "Pack", "Pad", "Placeholder",
    "RealDiv", "Relu", "Relu6", "Reshape", "ResizeBilinear", "ResizeNearestNeighbor", "Rsqrt",
    "Shape", "Sigmoid", "Slice", "Softmax", "Split", "Squeeze", "StridedSlice", "Sub", "Tanh",
    "Transpose",
})
# What the refusals say about the worst of the rest.
_DANGER = {"ReadFile": "reads files", "WriteFile": "writes files", "MatchingFiles":
           "lists files", "Save": "writes files", "SaveV2": "writes files", "SaveSlices":
           "writes files", "Restore": "reads files", "RestoreV2": "reads files",
           "RestoreSlice": "reads files", "PyFunc": "runs Python code", "EagerPyFunc":
           "runs Python code", "PyFuncStateless": "runs Python code", "ImmutableConst":
           "maps a file into memory", "PrintV2": "writes to the output", "Print":
           "writes to the output"}


def check_graph(gd, input: str, output: str, where: str) -> None:
    """Refuse a graph that holds an operation outside ALLOWED_OPS (or any function, which
    could hide one), or whose input and output tensors are missing or not what a pose graph
    has (a float image batch, N x H x W x 3)."""
    if len(gd.library.function):
        raise GraphError(f"{where} defines {len(gd.library.function)} graph functions; a "
                         "tf-pose-estimation pose graph has none, and they can hide any "
                         "operation: refused.")
    ops = {n.op for n in gd.node}
    foreign = sorted(ops - ALLOWED_OPS)
    if foreign:
        said = ", ".join(f"{op} ({_DANGER[op]})" if op in _DANGER else op for op in foreign)
        raise GraphError(f"{where} holds operations a pose graph does not use: {said}. "
                         "posebatch runs only graphs made of the operations of "
                         "tf-pose-estimation's PAF graphs (posebatch.engine.infer.ALLOWED_OPS); "
                         "refused.")
    nodes = {n.name: n for n in gd.node}
    missing = [t for t in (input, output) if t.split(":")[0] not in nodes]
    if missing:
        raise GraphError(f"{where} has no tensor {', '.join(missing)} (expected input {input} "
                         f"and output {output}); it is not a tf-pose-estimation pose graph.")
    image = nodes[input.split(":")[0]]
    if image.op != "Placeholder":
        raise GraphError(f"{where}: the input {input} is a {image.op}, not a Placeholder to "
                         "feed images to.")
    if image.attr["dtype"].type != 1:          # DT_FLOAT
        raise GraphError(f"{where}: the input {input} is not float32 (a pose graph takes "
                         "float BGR images).")
    dims = [d.size for d in image.attr["shape"].shape.dim]
    if image.attr["shape"].shape.unknown_rank is False and dims and (
            len(dims) != 4 or dims[3] not in (-1, 3)):
        raise GraphError(f"{where}: the input {input} has shape {dims}; a pose graph takes "
                         "N x H x W x 3 images.")


def check_graph_file(path: Path, input: str, output: str):
    """Parse ``path`` and check it (:func:`check_graph`); return the GraphDef."""
    gd = load_graph_def(path)
    check_graph(gd, input, output, str(path))
    return gd


def check_graph_once(path: Path, input: str, output: str) -> None:
    """:func:`check_graph_file` for a runtime that never needs TensorFlow (OpenVINO): the check
    parses the graph with TensorFlow, whose import costs every actor of every job 2 s, so a
    pass is remembered in the cache under the file's sha256 and the tensors checked. The same
    bytes are not parsed again; a changed file has another digest and is checked anew, and a
    refusal is never remembered (it is checked, and refused, each time)."""
    from ..models.manifest import cache_dir
    from ..storage.atomic import atomic_write_bytes, sha256_file

    mark = cache_dir() / "checked" / f"{sha256_file(path)}.json"
    pair = [input, output]
    try:
        passed = json.loads(mark.read_text())["passed"]
    except (OSError, ValueError, KeyError, TypeError):
        passed = []
    if pair in passed:
        return
    check_graph_file(path, input, output)
    try:
        atomic_write_bytes(mark, json.dumps({"passed": [*passed, pair]}).encode())
    except OSError:   # a read-only cache: checked each time, as before
        pass


def check_batch(batch: np.ndarray) -> None:
    if batch.ndim != 4 or batch.shape[3] != 3:
        raise InputShapeError(f"expected a batch of shape (N, H, W, 3), got {batch.shape}")
    if batch.shape[1] % 8 or batch.shape[2] % 8:
        raise InputShapeError(f"network input height and width must be multiples of 8, got "
                              f"{batch.shape[1]}x{batch.shape[2]}")


def open_runner(path: Path, input: str, output: str, n_channels: int,
                runtime: RuntimeConfig = RuntimeConfig(), precision: Precision = Precision.FP32,
                engine: Runtime = Runtime.TENSORFLOW):
    """The runner of ``engine`` (resolved: tensorflow or openvino) at ``precision``; bf16
    is refused here too, on the machine that runs the network (a cluster node may differ
    from the one that planned the job)."""
    if Precision(precision) is Precision.BF16:
        require_bf16()
    if Runtime(engine) is Runtime.OPENVINO:
        return OpenVinoRunner(path, input, output, n_channels, runtime, precision)
    if Precision(precision) is Precision.INT8:
        raise GraphError("precision int8 runs on OpenVINO only (--runtime openvino)")
    return GraphRunner(path, input, output, n_channels, runtime,
                       bf16=Precision(precision) is Precision.BF16)


class _Runner:
    """What both runtimes' runners share: the output's channel check and closing as a
    context manager (``path``, ``n_channels`` and ``close`` are the subclass's)."""

    path: Path
    n_channels: int

    def close(self) -> None:
        raise NotImplementedError

    def _checked(self, out: np.ndarray) -> np.ndarray:
        if out.shape[-1] != self.n_channels:
            raise GraphError(f"{self.path} returned {out.shape[-1]} channels, expected "
                             f"{self.n_channels} for its keypoint layout")
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class GraphRunner(_Runner):
    """Holds one loaded graph; ``run`` maps (N, H, W, 3) float32 BGR to (N, H/8, W/8, C)."""

    engine = Runtime.TENSORFLOW

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
        check_batch(batch)
        out = self._session.run(self._output, {self._input: batch.astype(np.float32, copy=False)})
        return self._checked(out)

    def close(self) -> None:
        self._session.close()


class OpenVinoRunner(_Runner):
    """The same graph run by OpenVINO's CPU plugin; ``run`` as :meth:`GraphRunner.run`.

    fp32 asks for f32 inference explicitly (OpenVINO would otherwise pick bf16 by itself on a
    CPU that has it); bf16 asks for bf16; int8 loads the quantised model calibrated for this
    graph (posebatch.engine.int8). Threads are not pinned to cores: several actors share a machine.
    """

    engine = Runtime.OPENVINO

    def __init__(self, path: Path, input: str, output: str, n_channels: int,
                 runtime: RuntimeConfig = RuntimeConfig(), precision: Precision = Precision.FP32,
                 model=None):
        """``model``: an OpenVINO model already made from this graph (a study's quantised
        variant, benchmarks/int8.py); by default the graph is converted here (fp32, bf16) or
        the cached INT8 model loaded."""
        from .runtimes import require_openvino

        ov = require_openvino()
        check_graph_once(path, input, output)   # the untrusted-graph checks, as TensorFlow's
        self.path = Path(path)
        self.n_channels = n_channels
        self.precision = Precision(precision)
        if model is not None:
            self._model = model
        elif self.precision is Precision.INT8:
            from .int8 import quantized_model

            self._model = quantized_model(self.path)
        else:
            self._model = ov.convert_model(str(self.path))
        self._core = ov.Core()
        self._config = {"INFERENCE_PRECISION_HINT":
                        "bf16" if self.precision is Precision.BF16 else "f32",
                        "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
                        "ENABLE_CPU_PINNING": False}
        if runtime.intra_threads:
            self._config["INFERENCE_NUM_THREADS"] = runtime.intra_threads
        names = [o.get_names() for o in self._model.outputs]
        self._out = next((i for i, n in enumerate(names) if output in n or
                          output.split(":")[0] in n), None)
        if self._out is None:
            raise GraphError(f"{path}: OpenVINO's conversion has no output {output} (its "
                             f"outputs: {names})")
        self._compiled: dict[tuple[int, ...], object] = {}

    def _request(self, shape: tuple[int, ...]):
        """An inference request for batches of ``shape`` (compiled once per shape)."""
        req = self._compiled.get(shape)
        if req is None:
            self._model.reshape({self._model.inputs[0]: list(shape)})
            compiled = self._core.compile_model(self._model, "CPU", self._config)
            req = self._compiled[shape] = compiled.create_infer_request()
        return req

    def run(self, batch: np.ndarray) -> np.ndarray:
        check_batch(batch)
        x = np.ascontiguousarray(batch, dtype=np.float32)
        req = self._request(x.shape)
        req.infer({0: x})
        out = req.get_output_tensor(self._out).data.copy()
        return self._checked(out)

    def close(self) -> None:
        self._compiled.clear()


def probe_graph(source: Path, input: str, output: str, layout: str) -> None:
    """Check the graph's operations and tensors, then run it once on a small black image
    (safe now: nothing in it can touch a file or run code) to see that its output has the
    channels its keypoint layout needs."""
    from .layout import get_layout

    lay = get_layout(layout)
    with GraphRunner(source, input, output, lay.n_heatmaps + lay.n_pafs) as runner:
        out = runner.run(np.zeros((1, 64, 64, 3), np.float32))
    if out.ndim != 4:
        raise GraphError(f"{source} returned an output of shape {out.shape}; a pose graph "
                         "returns N x H/8 x W/8 x channels maps.")
