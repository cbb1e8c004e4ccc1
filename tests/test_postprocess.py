"""Post-processing against tf-pose-estimation's own intermediates (golden *.upsampled.npz)."""
import numpy as np
import pytest
from scipy.stats import norm

from posebatch.engine.postprocess import gaussian_taps, local_maxima, postprocess, smooth, upsample
from .helpers import need_shared



@pytest.mark.parametrize("name", ["ski", "p3"])
def test_matches_reference_intermediates(name, layout):
    net = np.load(need_shared("data", "golden", f"{name}.net.npy"))
    ref = np.load(need_shared("data", "golden", f"{name}.upsampled.npz"))
    maps = postprocess(net, layout, ratio=4.0)
    assert maps.heat.shape == ref["heatmap"].shape == (184, 216, 19)
    assert maps.paf.shape == ref["paf"].shape == (184, 216, 38)
    np.testing.assert_allclose(maps.heat, ref["heatmap"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(maps.paf, ref["paf"], atol=1e-4, rtol=0)
    # Peak cells above the parser's 0.05 threshold, on the 18 part channels the parser reads.
    ours = np.argwhere(maps.peaks > 0.05)
    theirs = np.argwhere(ref["peaks"][..., :18] > 0.05)
    assert ours.tolist() == theirs.tolist()
    np.testing.assert_allclose(maps.peaks[maps.peaks > 0.05],
                               ref["peaks"][..., :18][maps.peaks > 0.05], atol=1e-5)


def test_gaussian_taps_factorise_the_reference_2d_kernel():
    size, nsig = 25, 3.0
    interval = (2 * nsig + 1.0) / size
    k = np.diff(norm.cdf(np.linspace(-nsig - interval / 2, nsig + interval / 2, size + 1)))
    k2 = np.sqrt(np.outer(k, k))
    k2 /= k2.sum()
    t = gaussian_taps(size, nsig)
    np.testing.assert_allclose(np.outer(t, t), k2, atol=1e-9)


def test_upsample_is_legacy_bilinear():
    a = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
    up = upsample(a, 2.0)[..., 0]
    # Output cell (y, x) samples (y/2, x/2): even cells copy, odd cells average, edges clamp.
    assert up.shape == (6, 8)
    assert up[0, 0] == 0 and up[0, 1] == 0.5 and up[0, 7] == 3 and up[5, 7] == 11
    assert up[1, 0] == 2.0


def test_local_maxima_equals_a_3x3_maximum_filter():
    from scipy.ndimage import maximum_filter

    rng = np.random.default_rng(0)
    m = rng.random((40, 50, 3), dtype=np.float32)
    expected = np.where(m == maximum_filter(m, size=(3, 3, 1), mode="constant", cval=-np.inf),
                        m, 0)
    np.testing.assert_array_equal(local_maxima(m), expected)
    single = np.zeros((5, 5, 1), np.float32)
    single[2, 2, 0], single[2, 3, 0] = 1.0, 0.5
    p = local_maxima(single)
    assert p[2, 2, 0] == 1.0 and p[2, 3, 0] == 0.0


def test_smoothing_preserves_mass_away_from_borders():
    m = np.zeros((101, 101, 1), np.float32)
    m[50, 50, 0] = 1.0
    s = smooth(m)
    assert abs(float(s.sum()) - 1.0) < 1e-5
    assert s[50, 50, 0] == s.max()


def test_upsample_region_is_the_same_slice_of_the_whole_map():
    from posebatch.engine._upsample import upsample_region

    a = np.random.default_rng(0).random((46, 54, 57), dtype=np.float32)
    whole = upsample(a, 4.0)
    for y0, y1, x0, x1, c0, c1 in [(0, 184, 0, 216, 0, 57), (3, 50, 7, 90, 2, 40),
                                   (180, 184, 210, 216, 18, 19), (5, 5, 0, 10, 0, 3)]:
        assert np.array_equal(upsample_region(a, 184, 216, y0, y1, x0, x1, c0, c1),
                              whole[y0:y1, x0:x1, c0:c1])


def _blobs(rng, h=46, w=54, n=18, people=3):
    """A network-like output: noise below the threshold, Gaussian blobs for parts (some on the
    map's edges and corners), random PAFs."""
    net = rng.random((h, w, 57), dtype=np.float32) * 0.03
    yy, xx = np.mgrid[0:h, 0:w]
    centres = [(0, 0), (h - 1, w - 1), (0, w // 2)] + [
        (rng.integers(h), rng.integers(w)) for _ in range(people)]
    for cy, cx in centres:
        for c in rng.choice(n, size=8, replace=False):
            net[..., c] += rng.uniform(0.1, 1.0) * np.exp(
                -((yy - cy - rng.normal()) ** 2 + (xx - cx - rng.normal()) ** 2) / 2)
    net[..., 19:] = rng.normal(size=(h, w, 38)).astype(np.float32)
    return net


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ratio", [4.0, 8.0, 2.5])
def test_peaks_found_near_hot_cells_equal_the_whole_maps(seed, ratio, layout):
    """find_peaks_above (what the pipeline runs) against find_peaks over the whole upsampled
    maps: every peak above the parser's threshold at the same cell with the same value."""
    from posebatch.engine.postprocess import find_peaks, find_peaks_above

    net = _blobs(np.random.default_rng(seed))
    whole = find_peaks(upsample(net, ratio)[..., :19], layout)
    near = find_peaks_above(net, layout, ratio, 0.05)
    assert whole.shape == near.shape
    above = whole > 0.05
    assert above.sum() > 20     # the scene has peaks to find
    assert np.array_equal(np.where(above, whole, 0), np.where(near > 0.05, near, 0))


def _same_people(a, b) -> bool:
    return (np.array_equal(a.keypoints, b.keypoints, equal_nan=True)
            and np.array_equal(a.scores, b.scores))


def test_people_without_whole_maps_equal_people_from_them(estimator, demo_frames):
    """The pipeline's path (peaks near hot cells; the parser sampling heat and PAFs from the
    network output on demand) finds the same people, bit for bit, as the whole-map path that
    matches tf-pose-estimation's intermediates, on 24 frames of the demo video."""
    from posebatch.engine.estimator import result_from_network_output

    found = 0
    for frame in demo_frames:
        net = estimator.network(frame)
        size = (frame.shape[1], frame.shape[0])
        full = result_from_network_output(net, size, estimator.layout, estimator.config,
                                          keep_maps=True)
        fast = result_from_network_output(net, size, estimator.layout, estimator.config)
        assert fast.maps is None and full.maps is not None
        assert _same_people(full, fast)
        found += full.n_people
    assert found >= 24


@pytest.mark.parametrize("name", ["ski", "p1", "p2", "p3", "apink1", "cat",
                                  "COCO_val2014_000000000357", "valid_person1"])
def test_golden_people_without_whole_maps(name, layout):
    """Same as above on the golden network outputs of the original pipeline (ratios 4 and 8)."""
    from posebatch.engine.config import PoseConfig
    from posebatch.engine.estimator import result_from_network_output

    net = np.load(need_shared("data", "golden", f"{name}.net.npy"))
    for ratio in (4.0, 8.0):
        cfg = PoseConfig(upsample=ratio)
        full = result_from_network_output(net, (640, 480), layout, cfg, keep_maps=True)
        fast = result_from_network_output(net, (640, 480), layout, cfg)
        assert _same_people(full, fast)
