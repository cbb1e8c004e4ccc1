"""Post-processing against tf-pose-estimation's own intermediates (golden *.upsampled.npz)."""
import numpy as np
import pytest
from scipy.stats import norm

from posebatch.postprocess import gaussian_taps, local_maxima, postprocess, smooth, upsample

from .conftest import need_shared


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
