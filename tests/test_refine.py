"""The second look at each person (``--refine people``): crop geometry and the way back to
frame pixels (pure functions), a real picture and a crowded frame with the real model, and
the job's refine stage on a short real clip (refined rows, resume from its own cache)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from posebatch.errors import ConfigError, InputShapeError
from posebatch.engine.layout import COCO18, flip_index
from posebatch.engine.quality import resolve_refine
from posebatch.engine.refine import (Crop, RefineConfig, crop_for_box, cut, match, merge,
                                     person_box, refine_result, to_frame)

from .helpers import need_shared, posebatch


NET = (432, 368)


# --- geometry (pure) ---------------------------------------------------------------------

@pytest.mark.parametrize("box, margin", [
    ((100, 50, 160, 350), 0.5),        # a standing person: widened to the network's aspect
    ((0, 0, 400, 60), 0.25),           # lying down: heightened
    ((900, 500, 1900, 1070), 0.0),     # past the frame's edge is allowed (black there)
    ((10.5, 20.25, 11.5, 21.5), 0.5),  # a point: at least 32 px, then the zoom limit
])
def test_crop_holds_the_box_with_its_margin_at_the_network_aspect(box, margin):
    c = crop_for_box(np.array(box, float), NET, margin, max_zoom=3.0)
    x0, y0, x1, y1 = box
    w, h = max(x1 - x0, 32) * (1 + 2 * margin), max(y1 - y0, 32) * (1 + 2 * margin)
    assert c.width >= w - 1 and c.height >= h - 1                      # margin kept
    assert c.x0 - 0.5 <= x0 and c.x0 + c.width - 0.5 >= x1             # box inside
    assert c.y0 - 0.5 <= y0 and c.y0 + c.height - 0.5 >= y1
    assert abs(c.width / c.height - NET[0] / NET[1]) < 2 / min(c.width, c.height)
    assert c.height >= NET[1] / 3 - 1                                   # zoom at most 3 x
    # centred on the box within half a pixel
    assert abs((c.x0 + (c.width - 1) / 2) - (x0 + x1) / 2) <= 0.5
    assert abs((c.y0 + (c.height - 1) / 2) - (y0 + y1) / 2) <= 0.5


def test_a_person_filling_the_frame_is_cropped_within_it_and_seen_larger_than_before():
    """A walker 530 px tall in a 1280x720 frame: the default margin would take the crop to
    1060 px, past the frame, so the network would see them no larger than in the whole
    frame (368 / 1060 against 432 / 1280 input pixels per frame pixel) with black around.
    Given the frame, the crop is shrunk to it (at least ``MIN_MARGIN`` around the box) and
    lies inside it; a small person's crop is unchanged but for being moved off the edge."""
    from posebatch.engine.refine import MIN_MARGIN

    frame = (1280, 720)
    big = np.array([600.0, 95, 760, 625])
    c = crop_for_box(big, NET, 0.5, 3.0, frame)
    assert c.height <= frame[1] and c.width <= frame[0]
    assert 0 <= c.x0 and c.x0 + c.width <= frame[0] and 0 <= c.y0 and c.y0 + c.height <= frame[1]
    assert c.height >= 531 * (1 + 2 * MIN_MARGIN) - 1                   # the least margin kept
    assert NET[1] / c.height > 1.4 * min(NET[0] / frame[0], NET[1] / frame[1])
    unbounded = crop_for_box(big, NET, 0.5, 3.0)
    assert unbounded.height > frame[1] and NET[1] / unbounded.height < 1.05 * NET[0] / frame[0]
    # bigger than the frame even at the least margin: that margin, past the frame
    huge = crop_for_box(np.array([0.0, 0, 1279, 719]), NET, 0.5, 3.0, frame)
    assert huge.height >= 720 * (1 + 2 * MIN_MARGIN) - 1
    # a small person at the edge: the same size, moved inside the frame
    small = np.array([5.0, 300, 65, 500])
    a, b = crop_for_box(small, NET, 0.5, 3.0), crop_for_box(small, NET, 0.5, 3.0, frame)
    assert (a.width, a.height) == (b.width, b.height) and a.x0 < 0 and b.x0 == 0
    assert b.y0 == a.y0


@pytest.mark.parametrize("box", [(np.nan, 0, 1, 1), (5, 5, 4, 9), (0, 0, 1)])
def test_crop_of_a_bad_box_says_what_it_expected(box):
    with pytest.raises(InputShapeError, match="expected finite"):
        crop_for_box(np.array(box, float), NET)


def test_cut_and_map_back_agree_with_the_frame_pixel_for_pixel():
    rng = np.random.default_rng(0)
    frame = rng.integers(1, 255, (90, 160, 3), np.uint8)          # no black pixel
    crop = Crop(x0=120, y0=-10, width=64, height=40)               # past right and top
    pic = cut(frame, crop)
    assert pic.shape == (40, 64, 3)
    inside = pic[10:, :40]
    assert np.array_equal(inside, frame[0:30, 120:160])
    assert (pic[:10] == 0).all() and (pic[:, 40:] == 0).all()       # black outside
    # a keypoint on crop pixel (u, v) is frame pixel (u + x0, v + y0): the same picture
    u, v = 7, 23
    kp = np.array([[[u, v, 0.9], [np.nan, np.nan, 0.0]]], np.float32)
    back = to_frame(kp, crop)
    assert np.array_equal(frame[int(back[0, 0, 1]), int(back[0, 0, 0])], pic[v, u])
    assert np.isnan(back[0, 1, :2]).all() and back[0, 1, 2] == 0


def test_person_box_spans_found_parts_only():
    kp = np.zeros((18, 3), np.float32)
    kp[..., :2] = np.nan
    kp[[0, 10, 13], :] = [[50, 20, 0.8], [40, 200, 0.6], [70, 190, 0.5]]
    assert person_box(kp).tolist() == [40, 20, 70, 200]
    assert np.isnan(person_box(np.zeros((18, 3)))).all()


def _person(rng, x=200.0, y=100.0, h=300.0):
    kp = np.zeros((18, 3), np.float32)
    kp[:, 0] = x + rng.uniform(-40, 40, 18)
    kp[:, 1] = y + np.linspace(0, h, 18)
    kp[:, 2] = 0.7
    return kp


def test_match_takes_the_same_person_even_mirrored_and_refuses_strangers():
    rng = np.random.default_rng(1)
    me = _person(rng)
    other = _person(rng, x=600)
    mirrored = me[flip_index(COCO18)] + np.float32([2, -1, 0])     # sides the other way round
    i, flipped, sim = match(np.stack([other, mirrored]), me, COCO18, 0.3)
    assert (i, flipped) == (1, True) and sim > 0.9
    i, flipped, sim = match(np.stack([me + 3, other]), me, COCO18, 0.3)
    assert (i, flipped) == (0, False)
    assert match(other[None], me, COCO18, 0.3)[0] == -1              # nobody of the crop
    assert match(np.empty((0, 18, 3), np.float32), me, COCO18, 0.3)[0] == -1


def test_merge_keeps_the_second_look_and_fills_in_from_the_first_in_its_labelling():
    rng = np.random.default_rng(2)
    first = _person(rng)
    second = first + np.float32([1, 1, 0])
    right_ankle, left_ankle = COCO18.part_id("right_ankle"), COCO18.part_id("left_ankle")
    second[right_ankle] = [np.nan, np.nan, 0]                      # the crop missed it
    kp, refined = merge(first, second, mirrored=False, layout=COCO18)
    assert np.array_equal(kp[right_ankle], first[right_ankle]) and not refined[right_ankle]
    assert refined.sum() == 17 and np.array_equal(kp[left_ankle], second[left_ankle])
    # the first pass had the sides the other way round: its left ankle is this right one
    kp, _ = merge(first, second, mirrored=True, layout=COCO18)
    assert np.array_equal(kp[right_ankle], first[left_ankle])


def test_presets_refine_where_accuracy_comes_first_and_reference_never():
    assert resolve_refine("accurate").enabled
    assert not resolve_refine("balanced").enabled and not resolve_refine("fast").enabled
    assert not resolve_refine("reference").enabled
    assert resolve_refine("balanced", "people").enabled
    assert not resolve_refine("accurate", "off").enabled
    with pytest.raises(ConfigError, match="refine must be off or people"):
        RefineConfig(mode="sometimes")
    # a job's option (command line or job file) on top of its preset
    from posebatch.runner.spec import JobSpec, refine_config

    assert refine_config(JobSpec(quality="accurate")).enabled
    assert refine_config(JobSpec(refine="people")).enabled
    assert not refine_config(JobSpec(quality="reference")).enabled
    with pytest.raises(ConfigError, match="refine must be off or people, got True"):
        JobSpec(refine=True)


# --- the real model on pictures ---------------------------------------------------------------

def test_second_look_keeps_every_person_of_a_real_picture_and_raises_ap(default_estimator):
    """ski.jpg: five skiers, each found again in their own crop. On the four COCO val
    images (12 people) AP goes from 0.569 to at least 0.65 (0.665 by `posebatch evaluate
    --refine people`, 2026-12-01; 0.676 before the crop was kept within the frame)."""
    from posebatch.runner.evaluate import evaluate, gt_images, to_coco
    from posebatch.runner.images import read_image

    est, cfg = default_estimator, RefineConfig(mode="people")
    img = read_image(need_shared("data", "images", "ski.jpg"))
    first = est.estimate(img)
    again = refine_result(est, img, first.keypoints, first.scores, cfg)
    assert first.n_people == 5 and again.keypoints.shape == first.keypoints.shape
    assert again.matched.all()
    # nobody loses parts: every part the first pass found is still there
    assert ((again.keypoints[..., 2] > 0) >= (first.keypoints[..., 2] > 0)).all()

    coco = need_shared("data", "coco")
    gt = coco / "test_coco.json"
    before, after = [], []
    for image_id, name in gt_images(gt):
        img = read_image(coco / name)
        res = est.estimate(img)
        before += to_coco(image_id, res.keypoints, res.scores, est.layout)
        r = refine_result(est, img, res.keypoints, res.scores, cfg)
        after += to_coco(image_id, r.keypoints, r.scores, est.layout)
    ap0, ap1 = evaluate(gt, before)["AP"], evaluate(gt, after)["AP"]
    assert round(ap0, 3) == 0.569 and ap1 >= 0.65, (ap0, ap1)


def test_a_crowded_frame_gets_a_second_look_at_each_of_its_people(default_estimator):
    """Ten people in one frame (ski.jpg twice, side by side): each looked at in its own crop,
    each kept as itself (its parts stay in its own half of the frame)."""
    from posebatch.runner.images import read_image

    est = default_estimator
    ski = read_image(need_shared("data", "images", "ski.jpg"))
    frame = np.concatenate([ski, ski], axis=1)
    first = est.estimate(frame)
    assert first.n_people >= 9
    again = refine_result(est, frame, first.keypoints, first.scores, RefineConfig(mode="people"))
    assert len(again.crops) == first.n_people and again.matched.sum() >= first.n_people - 1
    half = ski.shape[1]
    for k0, k1 in zip(first.keypoints, again.keypoints):
        left0 = np.nanmedian(k0[k0[:, 2] > 0, 0]) < half
        found = k1[:, 2] > 0
        assert ((k1[found, 0] < half) == left0).mean() > 0.9


# --- the job's stage ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def refine_job(tmp_path_factory, demo_frames):
    """24 frames of the demo video (the man on the box: one tracked person) in chunks of 8,
    with the second look."""
    from .clips import write_clip

    base = tmp_path_factory.mktemp("refine")
    clip = write_clip(base / "box.mp4", demo_frames[:24], options={"crf": "18"})
    out = base / "out"
    r = posebatch("run", clip, "--out", out, "--chunk", 8, "--refine", "people",
                  "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "a second look at each person" in r.stdout
    return clip, out


def _refine_files(out):
    return sorted((out / ".chunks").glob("*/*/refine-*/*.parquet"))


@pytest.mark.slow   # a posebatch job through Ray
def test_job_writes_refined_rows_from_its_own_cache(refine_job):
    from posebatch.storage import tables

    _, out = refine_job
    t = tables.load(out)
    m = json.loads((out / "manifest.json").read_text())
    tracked = t.people[t.people.track.notna()]
    assert m["refine"]["people"] == len(tracked) >= 20
    assert m["refine"]["matched"] >= 0.9 * len(tracked) and m["refine"]["ms_per_person"] > 0
    kp = t.keypoints
    det = kp[~kp.filled]
    assert det[det.track.notna()].refined.mean() > 0.8       # the second look's values
    assert not det[det.track.isna()].refined.any()           # untracked: first pass only
    assert not kp[kp.filled].refined.any()
    assert [f.name for f in _refine_files(out)] == [
        f"{s:08d}-{s + 8:08d}.{t}.parquet" for s in (0, 8, 16) for t in ("keypoints", "people")]


@pytest.mark.slow   # a posebatch job through Ray
def test_job_resumes_the_second_look_from_its_cache(refine_job, tmp_path):
    """A refine chunk lost (and the video's tables): the rerun does only that chunk, no
    first-pass inference, and ends with the same tables."""
    import shutil

    from .helpers import same_tables

    clip, out = refine_job
    again = tmp_path / "again"
    shutil.copytree(out, again)
    files = _refine_files(again)
    kept = {f: f.stat().st_mtime_ns for f in files if not f.name.startswith("00000008")}
    lost = [f for f in files if f.name.startswith("00000008")]
    lost_people = len(pd.read_parquet(lost[1]))
    for f in lost:
        f.unlink()
    (again / "frames" / "00000000.parquet").unlink()
    r = posebatch("run", clip, "--out", again, "--chunk", 8, "--refine", "people",
                  "--no-progress")
    assert r.returncode == 0, r.stderr
    m = json.loads((again / "manifest.json").read_text())
    assert m["timing"]["frames_done"] == 0                           # no first-pass chunk
    assert m["refine"]["people"] == lost_people >= 1                 # only the lost chunk
    assert {f: f.stat().st_mtime_ns for f in kept} == kept           # nothing else redone
    same_tables(out, again)
