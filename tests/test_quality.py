"""Quality presets and the settings behind them: test-time flip and scales, sub-pixel peaks,
the person score; and the presets' accuracy claims on the COCO sets in ../shared."""
import warnings

import cv2
import numpy as np
import pytest

from posebatch.engine.augment import combine, scaled_config_size, unflip
from posebatch.engine.config import Coords, PersonScore, PoseConfig, Preprocess
from posebatch.errors import ConfigError
from posebatch.engine.estimator import Estimator, person_scores, result_from_network_output
from posebatch.engine.layout import COCO18, flip_index
from posebatch.engine.postprocess import find_peaks_refined, smooth, subpixel_offsets
from posebatch.engine.quality import PRESETS, Quality, resolve
from .helpers import need_shared



def test_reference_preset_is_tf_pose_estimation_and_options_override_presets():
    ref = resolve("reference", "mobilenet_thin", (432, 368))
    assert ref == PoseConfig(coords=Coords.TFPOSE)        # 432x368 stretched, upsample 4
    for q in Quality:
        cfg = resolve(q, "mobilenet_thin", (432, 368), upsample=3.0, flip=False)
        assert (cfg.upsample, cfg.flip) == (3.0, False)
        want = PRESETS[q]
        assert (cfg.preprocess, cfg.subpixel, cfg.scales) == (
            want["preprocess"], want["subpixel"], want["scales"])
    cfg = resolve("balanced", "mobilenet_thin", (432, 368), preprocess="reference", height=288)
    assert (cfg.net_width, cfg.net_height) == (336, 288)   # the model's shape kept
    with pytest.raises(ConfigError, match="height .* multiple of 8"):
        resolve("fast", "mobilenet_thin", (432, 368), height=300)
    with pytest.raises(ConfigError, match="the first must be 1"):
        resolve("fast", "mobilenet_thin", (432, 368), scales=(0.5, 1.0))


def test_job_options_override_the_preset_and_the_manifest_records_the_result(tmp_path):
    from posebatch.runner.spec import make_spec, pose_config

    f = tmp_path / "job.toml"
    f.write_text('inputs = ["v.mp4"]\nout = "o"\nquality = "accurate"\nflip = false\n'
                 'scales = [1, 0.75]\n')
    spec = make_spec(f, {"upsample": 2.0})
    cfg = pose_config(spec, (432, 368))
    acc = resolve("accurate", "mobilenet_thin", (432, 368))
    assert (cfg.flip, cfg.scales, cfg.upsample) == (False, (1.0, 0.75), 2.0)
    assert (cfg.preprocess, cfg.net_height, cfg.subpixel) == (
        acc.preprocess, acc.net_height, acc.subpixel)
    f.write_text('inputs = ["v.mp4"]\nout = "o"\nquality = "best"\n')
    with pytest.raises(ConfigError, match="quality must be fast, balanced, accurate or reference, got .best."):
        make_spec(f, {})
    f.write_text('inputs = ["v.mp4"]\nout = "o"\nflip = "yes"\n')
    with pytest.raises(ConfigError, match=r"flip must be true or false, got 'yes'"):
        make_spec(f, {})


def test_flip_channels_exchange_left_and_right_and_negate_paf_x():
    """A synthetic output whose every channel holds its own index: mirrored back, part maps
    come from their mirror part, and each limb's PAF from its mirror limb with x negated."""
    h, w, c = 3, 4, COCO18.n_heatmaps + COCO18.n_pafs
    out = np.broadcast_to(np.arange(c, dtype=np.float32), (h, w, c)).copy()
    out[:, :, :] += np.arange(w, dtype=np.float32)[None, :, None] * 1000
    back = unflip(out, COCO18)
    fi = flip_index(COCO18)
    assert back[0, 0, 2] == 3 * 1000 + 5 and back[0, 0, 0] == 3000      # r shoulder <- l
    assert back[0, 0, 18] == 3000 + 18                                   # background its own
    limb = {tuple(l): i for i, l in enumerate(COCO18.limbs)}
    for i, (a, b) in enumerate(COCO18.limbs):
        m = limb[(fi[a], fi[b])]
        (x, y), (mx, my) = COCO18.limb_paf[i], COCO18.limb_paf[m]
        assert back[1, 1, 19 + x] == -(2000 + 19 + mx) and back[1, 1, 19 + y] == 2000 + 19 + my
    np.testing.assert_array_equal(unflip(unflip(out, COCO18), COCO18), out)


def test_mirrored_frame_mirrored_back_agrees_with_the_frame(estimator):
    """The real network on ski.jpg and on its mirror image: the mirror's output, mirrored
    back with left and right exchanged, is much closer to the frame's own output than the
    mirror's output merely flipped (left and right kept)."""
    img = cv2.imread(str(need_shared("data", "images", "ski.jpg")))
    o = estimator.network(img)
    m = estimator.network(np.ascontiguousarray(img[:, ::-1]))
    lr = [p for pair in COCO18.flip_pairs for p in pair] + list(range(19, 57))
    right = np.abs(unflip(m, COCO18) - o)[..., lr].mean()
    naive = np.abs(m[:, ::-1] - o)[..., lr].mean()
    assert right < 0.5 * naive, (right, naive)


def test_flip_and_scales_find_the_people_and_keep_the_grid(layout):
    """With flip or a second scale the estimator still reports the same people on ski.jpg
    (five), on the first scale's grid, within two map cells of the plain estimate."""
    img = cv2.imread(str(need_shared("data", "images", "ski.jpg")))
    plain = Estimator(config=PoseConfig()).estimate(img)
    for cfg in (PoseConfig(flip=True), PoseConfig(scales=(1.0, 0.75)),
                PoseConfig(flip=True, scales=(1.0, 1.25))):
        est = Estimator(config=cfg)
        assert est.augmented
        res = est.estimate(img)
        assert res.n_people == plain.n_people == 5 and res.map_size == plain.map_size
        for kp in plain.cells():
            with warnings.catch_warnings():     # parts nobody has are NaN throughout
                warnings.simplefilter("ignore", RuntimeWarning)
                d = np.nanmin(np.nanmax(np.abs(res.cells() - kp), axis=2), axis=0)
            assert np.nanmedian(d) < 2.0
        est.close()


def test_scaled_outputs_line_up_on_the_first_grid():
    """A blob at the same place in the frame, seen at two input sizes: the second output,
    resized onto the first's grid as the estimator combines them, has its centre where the
    first one's is (within a tenth of a cell), and so has their average."""
    cfg = PoseConfig(preprocess=Preprocess.ASPECT, scales=(1.0, 0.75))
    sizes = [scaled_config_size(1280, 720, cfg, s) for s in cfg.scales]
    assert sizes == [(656, 368), (480, 272)]
    fx, fy = 0.37, 0.61                    # where the blob is, as fractions of the frame
    outs = []
    for w, h in sizes:
        gw, gh = w // 8, h // 8
        yy, xx = np.mgrid[0:gh, 0:gw]
        # output cell j covers the fraction [j, j + 1) / gw of the frame's width
        blob = np.exp(-(((xx + 0.5) / gw - fx) ** 2 + ((yy + 0.5) / gh - fy) ** 2) / 0.004)
        outs.append(np.repeat(blob[..., None], 3, axis=2).astype(np.float32))

    def centre(m):
        yy, xx = np.mgrid[0:m.shape[0], 0:m.shape[1]]
        return np.array([(m * xx).sum(), (m * yy).sum()]) / m.sum()

    first = centre(outs[0][..., 0])
    np.testing.assert_allclose(first, [fx * 82 - 0.5, fy * 46 - 0.5], atol=0.05)
    second = combine([outs[1]], outs[0].shape[:2])
    both = combine(outs, outs[0].shape[:2])
    np.testing.assert_allclose(centre(second[..., 0]), first, atol=0.1)
    np.testing.assert_allclose(centre(both[..., 0]), first, atol=0.1)


def test_subpixel_offset_recovers_a_peak_between_cells():
    """A Gaussian bump centred between cells: the parabola through its top three values
    moves the peak towards the true centre; an edge peak keeps its cell."""
    yy, xx = np.mgrid[0:21, 0:21]
    cy, cx = 10.3, 9.8
    m = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 3.0 ** 2)).astype(np.float32)[..., None]
    d = subpixel_offsets(m, np.array([10, 0]), np.array([10, 10]), np.array([0, 0]))
    assert abs(10 + d[0, 0] - cx) < 0.05 and abs(10 + d[0, 1] - cy) < 0.05
    assert d[1, 1] == 0                 # row 0 is the map's edge


def test_subpixel_peaks_equal_on_crops_and_whole_maps(estimator, layout):
    """The pipeline refines peaks from the smoothed crops it already has; the same offsets
    come from the whole smoothed maps (keep_maps), and they move keypoints by < 1 cell."""
    img = cv2.imread(str(need_shared("data", "images", "ski.jpg")))
    net = estimator.network(img)
    cfg = PoseConfig(subpixel=True, upsample=8.0)
    fast = result_from_network_output(net, (img.shape[1], img.shape[0]), layout, cfg)
    whole = result_from_network_output(net, (img.shape[1], img.shape[0]), layout, cfg,
                                       keep_maps=True)
    plain = result_from_network_output(net, (img.shape[1], img.shape[0]), layout,
                                       PoseConfig(upsample=8.0))
    np.testing.assert_allclose(fast.keypoints, whole.keypoints, atol=1e-4)
    moved = np.abs(fast.cells() - plain.cells())
    assert np.nanmax(moved) <= 0.5 + 1e-4 and np.nanmean(moved) > 0.05
    peaks, offsets = find_peaks_refined(net, layout, 8.0, 0.05)
    sm = smooth(whole.maps.heat[..., :layout.n_parts])
    ys, xs, ps = np.nonzero(peaks > 0.05)
    order = np.argsort((ys * peaks.shape[1] + xs) * layout.n_parts + ps)
    np.testing.assert_allclose(offsets.dxy, subpixel_offsets(sm, ys, xs, ps)[order], atol=1e-5)


def test_person_score_parts_weights_by_parts_found():
    kp = np.zeros((2, 18, 3), np.float32)
    kp[0, :18, 2] = 0.5
    kp[1, :9, 2] = 0.9
    s = person_scores(kp, np.array([1.0, 2.0], np.float32), COCO18, PersonScore.PARTS)
    np.testing.assert_allclose(s, [1.0, 1.0])
    assert person_scores(kp, s, COCO18, PersonScore.OPENPOSE) is s


def _ap(quality: str, gt, images, **settings) -> float:
    from posebatch.runner.evaluate import evaluate, gt_images, to_coco

    est = Estimator(config=resolve(quality, "mobilenet_thin", (432, 368), **settings))
    results = []
    for image_id, name in gt_images(gt):
        r = est.estimate(cv2.imread(str(images / name)))
        results += to_coco(image_id, r.keypoints, r.scores, est.layout)
    est.close()
    return evaluate(gt, results)["AP"]


def test_presets_keep_their_promises_on_the_development_set():
    """pycocotools AP on ../shared/data/coco_dev (50 COCO train images), in fp32: balanced
    beats the previous default (reference preprocessing, upsample 4, centre coordinates),
    fast is within 0.01 of it, accurate beats balanced. (Costs: benchmarks/accuracy.py and
    `posebatch bench --quality Q`, README.)"""
    d = need_shared("data", "coco_dev")
    gt, images = d / "person_keypoints_train2017.json", d / "train2017"
    before = _ap("reference", gt, images, coords=Coords.CENTER)
    assert round(before, 3) == 0.196         # as measured when the presets were chosen
    fast = _ap("fast", gt, images)       # bf16 where the CPU does it natively
    balanced = _ap("balanced", gt, images)
    accurate = _ap("accurate", gt, images)
    print(f"coco_dev AP: previous default {before:.3f}, fast {fast:.3f}, balanced "
          f"{balanced:.3f}, accurate {accurate:.3f}")
    assert fast >= before - 0.01
    assert balanced > before + 0.02
    assert accurate > balanced + 0.01
