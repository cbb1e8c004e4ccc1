"""Which runtime runs the network on this machine: is OpenVINO there, and which of the runtimes
(and precisions) is fastest here while its outputs match TensorFlow's.

``auto`` is decided by a measurement, not by a table of CPU names: every candidate this machine
can run (TensorFlow and OpenVINO in fp32, and in bf16 where the CPU does it natively) is loaded,
run on the same input and timed in turns (one inference thread, as a job's actors run), and
its output compared with TensorFlow fp32's. The result is cached per machine, model, input size
and library versions in ``<cache>/runtimes/`` (plain JSON; ``posebatch bench`` shows the
same comparison on real frames).
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from .config import (Precision, Runtime, RuntimeConfig, cpu_has_bf16, require_bf16,
                     resolve_precision)
from ..errors import RuntimeUnavailableError

log = logging.getLogger(__name__)

# An OpenVINO fp32 output "matches" TensorFlow's within the golden tests' tolerance (their
# network outputs are compared with atol 1e-3). bf16 is judged against TensorFlow's own bf16,
# whose AP is within 0.01 of fp32 (README "Precision"): OpenVINO's must correlate with
# TensorFlow fp32's output on heatmaps and PAFs at most this much less than it does.
FP32_ATOL = 1e-3
BF16_CORR_SLACK = 0.01
MEASURE_RUNS = 6


@functools.lru_cache(maxsize=1)
def openvino_problem() -> str | None:
    """Why OpenVINO cannot run here (not installed, no CPU plugin for this CPU), or None."""
    try:
        import openvino as ov
    except ImportError:
        return ("OpenVINO is not installed (pip install openvino, or install posebatch with "
                "its [openvino] extra)")
    try:
        devices = ov.Core().available_devices
    except Exception as exc:  # the plugin refuses the CPU (e.g. no SSE4.2) or fails to load
        return f"OpenVINO cannot start on this machine ({type(exc).__name__}: {exc})"
    if "CPU" not in devices:
        return f"OpenVINO's CPU plugin does not support this CPU (devices: {devices or 'none'})"
    return None


def require_openvino():
    """The ``openvino`` module, or a RuntimeUnavailableError saying why not and what to do."""
    problem = openvino_problem()
    if problem:
        raise RuntimeUnavailableError(f"runtime openvino: {problem}; use --runtime tensorflow "
                                      "(or auto, which falls back to TensorFlow here)")
    import openvino

    return openvino


def candidates() -> list[tuple[Runtime, Precision]]:
    """The (runtime, precision) pairs this machine can run, TensorFlow fp32 first."""
    precisions = [Precision.FP32] + ([Precision.BF16] if cpu_has_bf16() else [])
    runtimes = [Runtime.TENSORFLOW] + ([] if openvino_problem() else [Runtime.OPENVINO])
    return [(r, p) for p in precisions for r in runtimes]


def label(runtime: Runtime | str, precision: Precision | str) -> str:
    return f"{Runtime(runtime).value} {Precision(precision).value}"


def machine() -> dict:
    """What identifies this machine's arithmetic and speed: CPU model, its flags, CPU count."""
    model, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"host": platform.node(), "cpu": model, "cpus": os.cpu_count(),
            "flags": hashlib.sha256(flags.encode()).hexdigest()[:12]}


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for pkg in ("tensorflow", "openvino"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _cache_file(model_sha: str, size: tuple[int, int]) -> tuple[Path, dict]:
    from ..models.manifest import cache_dir

    what = {"probe": "demo_video frame 30", "machine": machine(), "model_sha256": model_sha,
            "size": list(size), "versions": _versions(),
            "candidates": [label(*c) for c in candidates()]}
    key = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / "runtimes" / f"{key}.json", what


def _probe_input(size: tuple[int, int]) -> np.ndarray:
    """(1, h, w, 3) float32: a frame of the project's demo video (people walking), resized as
    the reference preprocessing does; a fixed synthetic image where the video cannot be had."""
    import cv2

    w, h = size
    try:
        from ..models.fetch import ensure_asset
        from ..models.manifest import get_asset

        cap = cv2.VideoCapture(str(ensure_asset(get_asset("demo_video"))))
        cap.set(cv2.CAP_PROP_POS_FRAMES, 30)
        ok, frame = cap.read()
        cap.release()
        if ok:
            return cv2.resize(frame, (w, h), interpolation=cv2.INTER_CUBIC
                              ).astype(np.float32)[None]
    except Exception as exc:  # offline, no video: the synthetic image compares arithmetic too
        log.info("runtime probe on a synthetic image (%s)", exc)
    rng = np.random.default_rng(21)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, (xx + yy) / (w + h)], axis=-1) * 200
    return np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.float32)[None]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def measure(model: str, size: tuple[int, int], runs: int = MEASURE_RUNS) -> dict:
    """Load every candidate, compare its output with TensorFlow fp32's and time it (in turns,
    so a busy machine slows all alike; medians). Returns the cache file's document."""
    from ..models.fetch import ensure_model
    from ..storage.atomic import sha256_file
    from .infer import open_runner
    from .layout import get_layout

    spec, path = ensure_model(model)
    layout = get_layout(spec.layout)
    x = _probe_input(size)
    one = RuntimeConfig(intra_threads=1, inter_threads=1)
    runners: dict = {}
    outs: dict = {}
    times: dict = {}
    try:
        for r, p in candidates():
            runner = open_runner(path, spec.input, spec.output,
                                 layout.n_heatmaps + layout.n_pafs, one, p, r)
            runners[label(r, p)] = runner
            outs[label(r, p)] = runner.run(x)[0]      # first runs compile: not timed
            runner.run(x)
        for _ in range(runs):
            for name, runner in runners.items():
                t = time.perf_counter()
                runner.run(x)
                times.setdefault(name, []).append(time.perf_counter() - t)
    finally:
        for runner in runners.values():
            runner.close()
    ref = outs[label(Runtime.TENSORFLOW, Precision.FP32)]
    n_heat = layout.n_heatmaps
    result = {}
    for name, out in outs.items():
        result[name] = {
            "ms": round(statistics.median(times[name]) * 1e3, 2),
            "max_abs_diff": float(np.abs(out - ref).max()),
            "corr_heat": round(_corr(out[..., :n_heat], ref[..., :n_heat]), 6),
            "corr_paf": round(_corr(out[..., n_heat:], ref[..., n_heat:]), 6)}
    return {"model": model, "model_sha256": spec.sha256 or sha256_file(path),
            "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "threads": 1,
            "runs": runs, "results": result}


def measurement(model: str, size: tuple[int, int], refresh: bool = False) -> dict:
    """This machine's measurement for ``model`` at ``size`` (width, height): from the cache,
    else measured now (tens of seconds, once) and cached."""
    from ..storage.atomic import atomic_write_bytes, sha256_file
    from ..models.fetch import ensure_model

    spec, path = ensure_model(model)
    file, what = _cache_file(spec.sha256 or sha256_file(path), size)
    if file.exists() and not refresh:
        try:
            doc = json.loads(file.read_text())
            if doc.get("key") == what:
                return doc
        except (OSError, ValueError):
            pass
    log.warning("measuring which runtime runs %s fastest on this machine (once; cached in %s)",
                model, file)
    doc = {**measure(model, size), "key": what}
    file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(file, json.dumps(doc, indent=1).encode())
    return doc


def matches_tensorflow(name: str, results: dict) -> bool:
    """Whether a candidate's measured output is TensorFlow's, as its precision requires."""
    res = results[name]
    if name.endswith(Precision.FP32.value):
        return res["max_abs_diff"] <= FP32_ATOL
    tf = results[label(Runtime.TENSORFLOW, Precision(name.split()[1]))]
    return (min(res["corr_heat"], res["corr_paf"])
            >= min(tf["corr_heat"], tf["corr_paf"]) - BF16_CORR_SLACK)


def choose(model: str, runtime: Runtime | str, precision: Precision | str,
           size: tuple[int, int]) -> tuple[Runtime, Precision]:
    """Resolve ``auto`` runtime and/or precision for ``model`` at ``size`` on this machine:
    the fastest measured candidate among those asked for whose output matches TensorFlow's.
    ``--runtime openvino`` where OpenVINO cannot run is refused; ``auto`` falls back to
    TensorFlow."""
    runtime, precision = Runtime(runtime), Precision(precision)
    if precision is Precision.BF16:
        require_bf16()
    if runtime is Runtime.OPENVINO:
        require_openvino()
    if runtime is Runtime.AUTO and openvino_problem():
        log.info("runtime auto: %s; TensorFlow runs the network", openvino_problem())
        return Runtime.TENSORFLOW, resolve_precision(precision)
    wanted = [c for c in candidates()
              if runtime in (Runtime.AUTO, c[0]) and precision in (Precision.AUTO, c[1])]
    if len(wanted) == 1:
        return wanted[0]
    results = measurement(model, size)["results"]
    fine = [c for c in wanted if matches_tensorflow(label(*c), results)]
    if not fine:     # OpenVINO's output differs here: TensorFlow, the reference
        log.warning("no runtime among %s matches TensorFlow's output on this machine; "
                    "TensorFlow runs the network", [label(*c) for c in wanted])
        return Runtime.TENSORFLOW, resolve_precision(precision)
    best = min(fine, key=lambda c: results[label(*c)]["ms"])
    log.info("runtime %s precision %s: %s chosen (%s)", runtime.value, precision.value,
             label(*best), ", ".join(f"{label(*c)} {results[label(*c)]['ms']:.0f} ms"
                                     for c in wanted))
    return best


def identical_to_tensorflow(model: str, runtime: Runtime, precision: Precision,
                            size: tuple[int, int]) -> bool:
    """True when this runtime's outputs were measured bit for bit TensorFlow's (same
    precision): then the chunk store keeps TensorFlow's key and chunks are shared."""
    if Runtime(runtime) is Runtime.TENSORFLOW:
        return True
    if Precision(precision) is not Precision.FP32 or openvino_problem():
        return False
    res = measurement(model, size)["results"].get(label(runtime, precision))
    return res is not None and res["max_abs_diff"] == 0.0
