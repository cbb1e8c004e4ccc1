"""Untrusted models: a graph that could read or write files or run code, or whose tensors
are not a pose graph's, is refused by `models add` and by loading, with a clear error,
before TensorFlow runs any of it. (An altered cached graph is refused or fetched again:
tests/test_fetch.py.)"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posebatch.engine.infer import probe_graph
from posebatch.models import fetch, manifest as models
from posebatch.errors import GraphError
from posebatch.engine.infer import GraphRunner
from ..helpers import posebatch


OUT = "Openpose/concat_stage7"


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEBATCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def graph(path: Path, build, dtype: str = "float32") -> Path:
    """A frozen graph with an ``image`` input and whatever ``build(tf, image)`` adds."""
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        image = tf.compat.v1.placeholder(getattr(tf, dtype), [None, None, None, 3],
                                         name="image")
        build(tf, image)
    path.write_bytes(g.as_graph_def().SerializeToString())
    return path


def _pose_like(tf, image, channels=57):
    tf.nn.conv2d(image, tf.zeros([8, 8, 3, channels]), strides=8, padding="SAME", name=OUT)


def _add(name: str, path: Path):
    return fetch.add_model(name, path, "image:0", f"{OUT}:0", (432, 368), "coco18",
                           probe_graph)


@pytest.mark.parametrize("name, build, message", [
    ("reads", lambda tf, im, target: (_pose_like(tf, im), tf.io.read_file("/etc/hostname")),
     r"operations a pose graph does not use: ReadFile \(reads files\)"),
    ("writes", lambda tf, im, target: (_pose_like(tf, im), tf.io.write_file(target, "owned")),
     r"operations a pose graph does not use: WriteFile \(writes files\)"),
    ("python", lambda tf, im, target: tf.identity(
        tf.compat.v1.py_func(lambda x: x, [im], tf.float32), name=OUT),
     r"operations a pose graph does not use: .*PyFunc \(runs Python code\)"),
])
def test_graphs_that_touch_files_or_run_code_are_refused(cache, tmp_path, name, build,
                                                         message):
    target = tmp_path / "written-by-the-graph"
    path = graph(tmp_path / f"{name}.pb", lambda tf, im: build(tf, im, str(target)))
    with pytest.raises(GraphError, match=message):
        _add(name, path)
    with pytest.raises(GraphError, match=message):
        GraphRunner(path, "image:0", f"{OUT}:0", 57)
    assert name not in models.known_models()
    assert not target.exists()
    r = posebatch("models", "add", name, path, env={"POSEBATCH_CACHE": str(cache)})
    assert r.returncode == 2 and "refused" in r.stderr and "Traceback" not in r.stderr


def test_graphs_whose_tensors_are_not_a_pose_graphs_are_refused(cache, tmp_path):
    wrong_channels = graph(tmp_path / "ten.pb", lambda tf, im: _pose_like(tf, im, 10))
    with pytest.raises(GraphError, match="returned 10 channels, expected 57"):
        _add("ten", wrong_channels)
    ints = graph(tmp_path / "int.pb", lambda tf, im: tf.identity(im, name=OUT), dtype="int32")
    with pytest.raises(GraphError, match=r"the input image:0 is not float32"):
        _add("ints", ints)
    no_output = graph(tmp_path / "none.pb", lambda tf, im: tf.identity(im, name="other"))
    with pytest.raises(GraphError, match=r"has no tensor Openpose/concat_stage7:0"):
        _add("none", no_output)
    assert not {"ten", "ints", "none"} & set(models.known_models())
    ok = graph(tmp_path / "ok.pb", _pose_like)        # a pose graph's shape: accepted
    assert _add("shaped-right", ok).name == "shaped-right"


def test_openvino_checks_a_graph_once_per_content_and_a_changed_file_again(cache, tmp_path,
                                                                           monkeypatch):
    """OpenVINO never needs TensorFlow, except for the checks above: a pass is remembered by
    the file's sha256 (in the cache), so actors skip TensorFlow's 2 s import; bytes that
    changed since are checked again and a hostile graph under the old name is still refused."""
    from posebatch.engine import infer
    from posebatch.storage.atomic import sha256_file

    path = graph(tmp_path / "pose.pb", _pose_like)
    with infer.OpenVinoRunner(path, "image:0", f"{OUT}:0", 57) as runner:
        assert runner.run(np.zeros((1, 64, 64, 3), np.float32)).shape == (1, 8, 8, 57)
    assert (cache / "checked" / f"{sha256_file(path)}.json").is_file()

    def no_parse(_path):
        raise AssertionError("the remembered graph was parsed again")

    with monkeypatch.context() as m:       # the same bytes: loaded without parsing
        m.setattr(infer, "load_graph_def", no_parse)
        infer.OpenVinoRunner(path, "image:0", f"{OUT}:0", 57).close()
        with pytest.raises(AssertionError, match="parsed again"):   # other tensors: checked
            infer.OpenVinoRunner(path, "image:0", "other:0", 57)
    graph(path, lambda tf, im: (_pose_like(tf, im), tf.io.read_file("/etc/hostname")))
    with pytest.raises(GraphError, match=r"ReadFile \(reads files\)"):
        infer.OpenVinoRunner(path, "image:0", f"{OUT}:0", 57)
    with pytest.raises(GraphError, match=r"ReadFile \(reads files\)"):   # and again: never
        infer.OpenVinoRunner(path, "image:0", f"{OUT}:0", 57)           # remembered
