"""Toe-offs timed from the picture (posebatch.gait.toe_tip) on drawn frames whose toe-off
frame is known: a foot that stands, rolls onto its toes and leaves, with its shadow behind
it and the other foot standing ahead, both in the box."""
from __future__ import annotations

import numpy as np
import pytest

from posebatch.engine.config import GaitConfig
from posebatch.errors import ConfigError
from posebatch.gait import toe_tip

H = 500.0              # body height, pixels
FLOOR_Y = 160          # the sole's row
TOE_OFF = 12           # the last frame the toes touch
N = 20


def _scene(seed: int = 0) -> np.ndarray:
    """A floor with some texture: grey-green tiles."""
    rng = np.random.default_rng(seed)
    im = np.empty((240, 400, 3), np.uint8)
    im[:] = (120, 140, 130)
    im[(np.arange(240)[:, None] // 20 + np.arange(400)[None] // 20) % 2 == 1] = (110, 128, 120)
    return np.clip(im.astype(int) + rng.integers(-3, 4, im.shape), 0, 255).astype(np.uint8)


def _foot(im: np.ndarray, heel: tuple[float, float], toe: tuple[float, float]) -> None:
    """A reddish-brown foot from heel to toe (its sole), 14 px thick."""
    import cv2

    (hx, hy), (tx, ty) = heel, toe
    nx, ny = (ty - hy), -(tx - hx)
    norm = np.hypot(nx, ny) or 1.0
    nx, ny = 14 * nx / norm, 14 * ny / norm
    if ny > 0:                      # the foot's top is above its sole
        nx, ny = -nx, -ny
    pts = np.array([(hx, hy), (tx, ty), (tx + 0.3 * nx, ty + 0.3 * ny), (hx + nx, hy + ny)])
    cv2.fillPoly(im, [np.round(pts).astype(np.int32)], (40, 60, 150))


def walk_frames(hidden_tip: bool = False, arriving: int = 0
                ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Frames, the rear ankle (x, y) per frame and the background. The rear foot (walking
    right) stands flat until frame 8, pivots on its toe (heel up) until ``TOE_OFF``, then
    its toe lifts and swings on. A shadow trails behind it; the other foot stands ahead.
    ``hidden_tip``: up on its toes, the foot shows 20 pixels above the floor (a thin pointed
    toe lost in its shadow, as on the labelled set: 16-19 pixels there). ``arriving``: in
    that many first frames the foot's front is 15 pixels further back (its blob still coming
    into the box, as on the labelled set's panning pass)."""
    back = _scene()
    frames, ankle = [], []
    toe = np.array([150.0, FLOOR_Y])
    for f in range(N):
        im = back.copy()
        # the shadow: the floor darker, its colour unchanged
        im[FLOOR_Y - 4:FLOOR_Y + 6, 60:150] = (im[FLOOR_Y - 4:FLOOR_Y + 6, 60:150] * 0.6
                                               ).astype(np.uint8)
        _foot(im, (185, FLOOR_Y), (235, FLOOR_Y))        # the front foot, standing
        lift = max(0, f - 8) * 6.0                       # the heel's rise (degrees)
        if f > TOE_OFF:
            toe = toe + (9.0, -4.0)
        a = np.radians(lift)
        heel = toe - 50 * np.array([np.cos(a), np.sin(a)])
        up = np.array([0.0, 20.0 if hidden_tip and lift > 0 else 0.0])
        short = np.array([15.0 if f < arriving else 0.0, 0.0])
        _foot(im, tuple(heel - up), tuple(toe - up - short))
        frames.append(im)
        ankle.append((heel[0] + 8, heel[1] - 20))
    return frames, np.array(ankle), back


def test_the_toe_off_is_the_last_frame_the_toe_tip_stays_put():
    frames, ankle, back = walk_frames()
    at = TOE_OFF - 2                    # the ankles' toe-off: two frames early, as they are
    box = toe_tip.foot_box(ankle, at, +1, H, toe_tip.STAND)
    assert box is not None and box.x0 < 100 and box.x1 > 200     # the other foot is in it
    crops = [im[box.y0:box.y1, box.x0:box.x1] for im in frames]
    got = toe_tip.toe_leaves(crops, back[box.y0:box.y1, box.x0:box.x1], at, box, +1, H)
    assert got == TOE_OFF
    # the shadow is not foot: against the scene, only the two feet are found
    mask = toe_tip.foreground(frames[0], back)
    assert mask[FLOOR_Y - 2:FLOOR_Y + 4, 60:95].mean() < 0.05
    assert mask[FLOOR_Y - 8:FLOOR_Y, 110:140].mean() > 0.9


def test_a_toe_tip_lost_in_its_shadow_still_stands():
    """Up on its toes the foot's lowest point shows 20 pixels (0.04 body heights) above the
    flat foot's: the tip is followed from the foot's own lowest point while that is near
    the floor (within LIFT), so the toe-off is not put where the tip merely faded from the
    flat foot's band (frame 8 here, by that rule)."""
    frames, ankle, back = walk_frames(hidden_tip=True)
    at = TOE_OFF - 2
    box = toe_tip.foot_box(ankle, at, +1, H, toe_tip.STAND)
    crops = [im[box.y0:box.y1, box.x0:box.x1] for im in frames]
    assert toe_tip.toe_leaves(crops, back[box.y0:box.y1, box.x0:box.x1], at, box, +1,
                              H) == TOE_OFF


def test_the_tip_s_place_is_where_it_stood_just_before():
    """The tip's place is taken from the last frames before the toe-off, not from the whole
    window: where the foot's blob came into place in its first five frames, the median of
    the window has the tip moved on already at the first frame looked at, and no toe-off
    from the picture at all."""
    frames, ankle, back = walk_frames(arriving=5)
    at = TOE_OFF - 2
    box = toe_tip.foot_box(ankle, at, +1, H, toe_tip.STAND)
    crops = [im[box.y0:box.y1, box.x0:box.x1] for im in frames]
    b = back[box.y0:box.y1, box.x0:box.x1]
    assert toe_tip.toe_leaves(crops, b, at, box, +1, H) == TOE_OFF
    assert toe_tip.toe_leaves(crops, b, at, box, +1, H, place=len(crops)) is None


def test_standing_rows_that_hold_the_other_ankle_are_left_out():
    """Where the ankle labels are swapped in most of the frames that show the foot standing
    (the other foot's ankle, ahead, given as this one's: seen on the labelled set's
    variable-frame-rate pass), the standing place is taken from the rows that are not ahead
    of the rising ankle. With the median of every standing row the box holds the other foot
    as the one to follow, whose tip never moves: no toe-off from the picture at all."""
    frames, ankle, back = walk_frames()
    at = TOE_OFF - 2
    other = (193.0, FLOOR_Y - 20.0)                  # the standing front foot's ankle
    swapped = ankle.copy()
    swapped[:5] = other                              # 5 of the 7 standing rows
    box = toe_tip.foot_box(swapped, at, +1, H, toe_tip.STAND)
    assert box is not None and abs(box.sx - ankle[0, 0]) < 1    # the rear foot's own place
    crops = [im[box.y0:box.y1, box.x0:box.x1] for im in frames]
    b = back[box.y0:box.y1, box.x0:box.x1]
    assert toe_tip.toe_leaves(crops, b, at, box, +1, H) == TOE_OFF
    every = toe_tip.Box(box.x0, box.x1, box.y0, box.y1,
                        *np.median(swapped[:at - toe_tip.STAND], axis=0))
    assert toe_tip.toe_leaves(crops, b, at, every, +1, H) is None
    # every standing row the other foot's: no place to start from, the ankle's time stays
    swapped[:at - toe_tip.STAND] = other
    assert toe_tip.foot_box(swapped, at, +1, H, toe_tip.STAND) is None


def test_walking_left_is_the_mirror_image():
    frames, ankle, back = walk_frames()
    flip = [im[:, ::-1].copy() for im in frames]
    ankle = np.column_stack([back.shape[1] - 1 - ankle[:, 0], ankle[:, 1]])
    box = toe_tip.foot_box(ankle, TOE_OFF - 2, -1, H, toe_tip.STAND)
    crops = [im[box.y0:box.y1, box.x0:box.x1] for im in flip]
    back = back[:, ::-1]
    assert toe_tip.toe_leaves(crops, back[box.y0:box.y1, box.x0:box.x1], TOE_OFF - 2, box,
                              -1, H) == TOE_OFF


def test_no_foot_no_time():
    """Where the rear foot is not in its box (an empty floor, or frames that could not be
    read), there is no picture time: the ankle's stays."""
    frames, ankle, back = walk_frames()
    box = toe_tip.foot_box(ankle, TOE_OFF - 2, +1, H, toe_tip.STAND)
    empty = back[box.y0:box.y1, box.x0:box.x1]
    assert toe_tip.toe_leaves([empty] * N, empty, TOE_OFF - 2, box, +1, H) is None
    assert toe_tip.toe_leaves([None] * N, empty, TOE_OFF - 2, box, +1, H) is None
    unknown = np.full_like(ankle, np.nan)
    assert toe_tip.foot_box(unknown, TOE_OFF - 2, +1, H, toe_tip.STAND) is None


def test_window_lengths_scale_with_the_frame_rate():
    assert toe_tip.frames_at(30, 8) == 8 and toe_tip.frames_at(24, 8) == 8
    assert toe_tip.frames_at(60, 8) == 16 and toe_tip.frames_at(float("nan"), 8) == 8


def test_the_setting_is_checked():
    assert GaitConfig().toe_offs == "picture"
    with pytest.raises(ConfigError, match="picture, ankle"):
        GaitConfig(toe_offs="heel")


def test_a_live_stream_or_a_moved_video_keeps_the_ankles_times(tmp_path):
    """What a job's videos row says decides whether the video can be read again: a live
    session's stream cannot, a file that has moved or changed cannot, and each says so."""
    import pandas as pd

    from posebatch.gait import _pictures
    from posebatch.storage.tables import JobTables

    video = tmp_path / "walk.mp4"
    video.write_bytes(b"0" * 100)
    frames = pd.DataFrame({"video": ["v"] * 3, "frame": [0, 1, 2], "time": [0.0, 0.04, 0.08]})

    def job(**row):
        videos = pd.DataFrame([{"video": "v", "path": str(video), "size": 100,
                                "decode": "seek", **row}])
        empty = pd.DataFrame()
        return JobTables(empty, empty, frames, empty, videos)

    pictures, why = _pictures(job(), "v")
    assert why is None and pictures.path == video and list(pictures.frames) == [0, 1, 2]
    assert _pictures(job(decode="live", path="udp://0.0.0.0:5000"), "v")[1] == (
        "toe-offs from the ankles: a live stream is not kept to be read again")
    assert "has changed since the job read it" in _pictures(job(size=99), "v")[1]
    assert "is no longer at" in _pictures(job(path=str(tmp_path / "gone.mp4")), "v")[1]
