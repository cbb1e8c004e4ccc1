"""The runtime choice (posebatch.engine.runtimes, infer.OpenVinoRunner): OpenVINO fp32 reads the same
checked graph and passes the golden tests within their tolerance; ``auto`` is decided by a
measurement cached per machine and model; a machine without OpenVINO gets a clear refusal for
``--runtime openvino`` and TensorFlow for ``auto``; the runtime travels in the job's config,
manifest and (where outputs differ) chunk key."""
from __future__ import annotations

import json

import numpy as np
import pytest

from posebatch.engine import runtimes
from posebatch.engine.config import PoseConfig, Precision, Runtime
from posebatch.errors import ConfigError, GraphError, RuntimeUnavailableError
from posebatch.runner.images import read_image
from posebatch.engine.quality import resolve

from .helpers import GOLDEN_NAMES as NAMES
from .helpers import match_within_one_cell, need_shared, posebatch, reference_cells

pytest.importorskip("openvino")

TF, OV = Runtime.TENSORFLOW, Runtime.OPENVINO
FP32, BF16 = Precision.FP32, Precision.BF16


@pytest.fixture(scope="module")
def ov_estimator():
    """The golden tests' pipeline (quality reference) with OpenVINO running the network."""
    from posebatch.engine.estimator import Estimator

    est = Estimator("mobilenet_thin", resolve("reference", "mobilenet_thin", (432, 368),
                                              runtime="openvino"))
    assert type(est.runner).__name__ == "OpenVinoRunner"
    yield est
    est.close()


def _corr(a, b):
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


@pytest.mark.parametrize("name", NAMES)
def test_openvino_fp32_network_output_equals_golden(name, ov_estimator):
    """The golden network outputs within the golden test's tolerance (atol 1e-3), and
    heatmaps and PAFs correlated with them at 1.0000."""
    net = ov_estimator.network(read_image(need_shared("data", "images", f"{name}.jpg")))
    golden = np.load(need_shared("data", "golden", f"{name}.net.npy"))
    assert net.shape == golden.shape == (46, 54, 57)
    np.testing.assert_allclose(net, golden, atol=1e-3, rtol=0)
    assert _corr(net[..., :19], golden[..., :19]) > 0.99995
    assert _corr(net[..., 19:], golden[..., 19:]) > 0.99995


def test_openvino_pipeline_on_every_image_matches_the_reference(ov_estimator, reference_humans):
    """As tests/test_estimator.py's whole-pipeline test: same people count per image and
    >= 99% of reference keypoints within one heatmap cell."""
    within = total = 0
    for name in NAMES:
        res = ov_estimator.estimate(read_image(need_shared("data", "images", f"{name}.jpg")))
        ref = reference_cells(reference_humans[f"{name}.jpg"]["humans"])
        assert res.n_people == len(ref), name
        w, t = match_within_one_cell(res.cells(), ref)
        within, total = within + w, total + t
    assert within / total >= 0.99, f"{within}/{total}"


def test_openvino_batches_flip_and_new_shapes(ov_estimator):
    """A batch of two and a second input shape (one compiled model per shape) give what one
    frame at a time gives."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 368, 432, 3)).astype(np.float32)
    both = ov_estimator.runner.run(x)
    for i in range(2):
        np.testing.assert_allclose(both[i], ov_estimator.runner.run(x[i:i + 1])[0], atol=1e-4)
    assert ov_estimator.runner.run(x[:1, :256, :320]).shape == (1, 32, 40, 57)


def test_the_untrusted_graph_checks_stand_in_front_of_openvino(tmp_path):
    """A graph that reads files is refused before OpenVINO converts or runs any of it."""
    from posebatch.engine.infer import OpenVinoRunner

    from .reliability.test_models import OUT, _pose_like, graph

    path = graph(tmp_path / "reads.pb",
                 lambda tf, im: (_pose_like(tf, im), tf.io.read_file("/etc/hostname")))
    with pytest.raises(GraphError, match=r"ReadFile \(reads files\)"):
        OpenVinoRunner(path, "image:0", f"{OUT}:0", 57)


@pytest.mark.parametrize("runtime", ["tensorflow", "openvino", "auto"])
def test_int8_is_refused_with_the_measured_reason(runtime):
    with pytest.raises(ConfigError, match=r"^precision int8 is not offered: no INT8 "
                       r"configuration measured so far keeps the people .*README \"INT8\""):
        PoseConfig(precision="int8", runtime=runtime)


def _fake(monkeypatch, results: dict, cands=((TF, FP32), (OV, FP32), (TF, BF16), (OV, BF16))):
    monkeypatch.setattr(runtimes, "candidates", lambda: list(cands))
    monkeypatch.setattr(runtimes, "measurement",
                        lambda model, size, refresh=False: {"results": results})


def _row(ms, diff=0.0, heat=1.0, paf=1.0):
    return {"ms": ms, "max_abs_diff": diff, "corr_heat": heat, "corr_paf": paf}


@pytest.mark.parametrize("results, runtime, precision, chosen", [
    # OpenVINO faster and exact: chosen by auto
    ({"tensorflow fp32": _row(100), "openvino fp32": _row(70)}, "auto", "fp32", (OV, FP32)),
    # TensorFlow faster: TensorFlow
    ({"tensorflow fp32": _row(60), "openvino fp32": _row(70)}, "auto", "fp32", (TF, FP32)),
    # OpenVINO faster but its output differs beyond the golden tolerance: TensorFlow
    ({"tensorflow fp32": _row(100), "openvino fp32": _row(50, diff=0.01)}, "auto", "fp32",
     (TF, FP32)),
    # precision auto: the fastest of all, bf16 judged against TensorFlow's own bf16
    ({"tensorflow fp32": _row(100), "openvino fp32": _row(90),
      "tensorflow bf16": _row(60, 0.2, 0.9994, 0.85), "openvino bf16": _row(40, 0.2, 0.9994,
                                                                            0.85)},
     "auto", "auto", (OV, BF16)),
    ({"tensorflow fp32": _row(100), "openvino fp32": _row(90),
      "tensorflow bf16": _row(60, 0.2, 0.9994, 0.85), "openvino bf16": _row(40, 0.5, 0.99, 0.5)},
     "auto", "auto", (TF, BF16)),
    # bf16 slower than fp32 on this CPU (no AMX): fp32 even though the CPU has bf16
    ({"tensorflow fp32": _row(90), "openvino fp32": _row(80),
      "tensorflow bf16": _row(150, 0.2, 0.9994, 0.85), "openvino bf16": _row(140, 0.2, 0.9994,
                                                                             0.85)},
     "openvino", "auto", (OV, FP32)),
])
def test_auto_is_the_fastest_measured_candidate_whose_outputs_match(monkeypatch, results,
                                                                   runtime, precision, chosen):
    _fake(monkeypatch, results)
    assert runtimes.choose("mobilenet_thin", runtime, precision, (432, 368)) == chosen
    cfg = PoseConfig(runtime=runtime, precision=precision)
    assert (cfg.runtime, cfg.precision) == chosen


def test_without_openvino_auto_falls_back_and_openvino_is_refused(monkeypatch):
    monkeypatch.setattr(runtimes, "openvino_problem", lambda: "OpenVINO is not installed (...)")
    monkeypatch.setattr(runtimes, "measurement", lambda *a, **k: pytest.fail("measured"))
    assert runtimes.candidates() == [(TF, FP32)] + ([(TF, BF16)] if
                                                    runtimes.cpu_has_bf16() else [])
    cfg = PoseConfig(runtime="auto", precision="fp32")
    assert (cfg.runtime, cfg.precision) == (TF, FP32)
    with pytest.raises(RuntimeUnavailableError,
                       match=r"^runtime openvino: OpenVINO is not installed .*use --runtime "
                             r"tensorflow \(or auto, which falls back to TensorFlow here\)$"):
        PoseConfig(runtime="openvino")


def test_a_cpu_openvino_does_not_support_is_said_so(monkeypatch):
    import openvino

    class NoCpu:
        available_devices: list = []

    runtimes.openvino_problem.cache_clear()
    monkeypatch.setattr(openvino, "Core", NoCpu)
    try:
        assert runtimes.openvino_problem() == ("OpenVINO's CPU plugin does not support this "
                                               "CPU (devices: none)")
    finally:
        monkeypatch.undo()
        runtimes.openvino_problem.cache_clear()
    assert runtimes.openvino_problem() is None


def test_the_measurement_is_real_cached_per_machine_and_model(monkeypatch):
    """Every candidate measured on a real frame, TensorFlow fp32 the reference; the second
    call reads the cache (keyed by machine, model digest, size and library versions)."""
    doc = runtimes.measurement("mobilenet_thin", (432, 368))
    res = doc["results"]
    assert set(res) == {runtimes.label(*c) for c in runtimes.candidates()}
    assert res["tensorflow fp32"]["max_abs_diff"] == 0.0
    assert all(r["ms"] > 0 for r in res.values())
    assert res["openvino fp32"]["max_abs_diff"] <= runtimes.FP32_ATOL
    assert doc["key"]["machine"] == runtimes.machine()
    monkeypatch.setattr(runtimes, "measure", lambda *a, **k: pytest.fail("measured again"))
    assert runtimes.measurement("mobilenet_thin", (432, 368)) == doc
    path, _ = runtimes._cache_file(doc["model_sha256"], (432, 368))
    assert json.loads(path.read_text()) == doc


def test_the_chunk_key_holds_the_runtime_only_where_outputs_differ(monkeypatch):
    from posebatch.runner.spec import params_key

    tf = PoseConfig(runtime="tensorflow")
    ov = PoseConfig(runtime="openvino", precision="fp32")
    same = runtimes.measurement("mobilenet_thin", (432, 368))["results"]["openvino fp32"][
        "max_abs_diff"] == 0.0
    assert (params_key("sha", tf, 1) == params_key("sha", ov, 1)) is same
    _fake(monkeypatch, {"tensorflow fp32": _row(100), "openvino fp32": _row(90, diff=1e-5)})
    assert params_key("sha", tf, 1) != params_key("sha", ov, 1)


def test_cli_without_the_openvino_package(tmp_path):
    """As on a machine where `pip install openvino` was never run: `--runtime openvino` is one
    clear line and exit 1, `--runtime auto` runs on TensorFlow."""
    fake = tmp_path / "site" / "openvino"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named openvino')\n")
    import os

    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"),
                                          os.environ.get("PYTHONPATH", "")])}
    img = need_shared("data", "images", "p1.jpg")
    r = posebatch("image", img, "--out", tmp_path / "ov", "--runtime", "openvino", env=env)
    assert r.returncode == 2
    assert "error: runtime openvino: OpenVINO is not installed" in r.stderr
    assert "Traceback" not in r.stderr
    r = posebatch("image", img, "--out", tmp_path / "auto", "--runtime", "auto", env=env)
    assert r.returncode == 0, r.stderr
    assert "p1.jpg" in r.stdout


@pytest.mark.slow   # a posebatch job through Ray
def test_openvino_job_records_its_runtime_and_finds_tensorflows_people(demo_clip, estimator,
                                                                        tmp_path):
    """`posebatch run --runtime openvino` through the Ray actors: the manifest records the
    runtime (asked and resolved), the chunk key is TensorFlow's exactly where OpenVINO's
    outputs were measured equal to it, and every frame's people are those TensorFlow finds
    (the `estimator` fixture: the reference preset, TensorFlow)."""
    from .helpers import frame_keypoints
    from posebatch.decode import decode_sequential
    from posebatch.runner.spec import params_key
    from posebatch.storage.schemas import CHUNK_SCHEMA_VERSION

    from .helpers import read

    out = tmp_path / "ov"
    r = posebatch("run", demo_clip, "--out", out, "--chunk", 6, "--quality", "reference",
                  "--runtime", "openvino", "--no-progress")
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    params = manifest["params"]
    assert params["runtime"] == params["config"]["runtime"] == "openvino"
    same = runtimes.identical_to_tensorflow("mobilenet_thin", OV, FP32, (432, 368))
    sha = manifest["model"]["sha256"]
    tf_key = params_key(sha, estimator.config, CHUNK_SCHEMA_VERSION)
    assert (manifest["params_key"] == tf_key) is same
    kp, frames = read(out, "keypoints"), read(out, "frames")
    for f in decode_sequential(demo_clip):
        want = estimator.estimate(f.image)
        got = frame_keypoints(kp, f.index, as_detected=True)
        assert frames.people[f.index] == want.n_people == len(got)
        np.testing.assert_allclose(got[..., :2], want.keypoints[..., :2], atol=1e-3)


def test_int8_study_model_is_cached_with_its_settings_and_checksum(tmp_path, monkeypatch):
    """posebatch.engine.int8.quantized_model: calibrated once on real frames (here 6 of the demo
    video, for time), read back from the cache without calibrating, calibrated again when the
    cached weights are altered; only the backbone is quantised (RULE), so the heatmaps stay
    close to fp32's."""
    pytest.importorskip("nncf")
    import openvino as ov

    from posebatch.engine import int8
    from posebatch.models.fetch import ensure_model

    monkeypatch.setenv("POSEBATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("POSEBATCH_CALIBRATION_IMAGES", raising=False)
    monkeypatch.setattr(int8, "CALIBRATION_VIDEO_FRAMES", 6)
    _, path = ensure_model("mobilenet_thin")   # the graph, from the fixture's cache
    calls = []
    real = int8.quantize
    monkeypatch.setattr(int8, "quantize", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = int8.quantized_model(path)
    assert len(calls) == 1
    fq = [o for o in first.get_ordered_ops() if o.get_type_name() == "FakeQuantize"]
    assert fq, "nothing was quantised"
    int8.quantized_model(path)
    assert len(calls) == 1                     # from the cache
    (bin_,) = (tmp_path / "cache" / "int8").glob("*.bin")
    data = bytearray(bin_.read_bytes())
    data[100] ^= 0xFF
    bin_.write_bytes(bytes(data))
    int8.quantized_model(path)
    assert len(calls) == 2                     # the checksum caught it
    from posebatch.engine.infer import OpenVinoRunner
    from posebatch.engine.runtimes import _probe_input

    x = _probe_input((432, 368))
    q = OpenVinoRunner(path, "image:0", "Openpose/concat_stage7:0", 57, precision="int8",
                       model=first).run(x)[0]
    f = OpenVinoRunner(path, "image:0", "Openpose/concat_stage7:0", 57,
                       model=ov.convert_model(str(path))).run(x)[0]
    assert _corr(q[..., :19], f[..., :19]) > 0.99
