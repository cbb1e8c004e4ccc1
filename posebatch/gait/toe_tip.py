"""Toe-offs timed from the picture. The network has no toe: the ankle rule
(``events.toe_off_time``) tells when the heel rises, and the toes leave a few frames later.
Around each toe-off the ankles found, the rear foot is cut out of the video and its toe tip
followed:

- a box fixed on the floor at the rear ankle (the legs as they follow the events' sides);
- the foot against the scene's median picture by normalised chromaticity, which leaves the
  walker's shadow out (a plain colour difference took a shadow on a white floor for the foot);
- of that mask, the blob nearest the ankle where it stood before the toe-off (not the other
  foot, not the other shin), then followed from frame to frame by its overlap with the blob
  before (as the foot rolls onto its toes it leaves the ankle's old place);
- the toe tip: the blob's foremost pixel within ``TOE_BAND`` body heights of its lowest
  point (up on its toes the foot's lowest point may show a little above the flat foot's: a
  pointed toe is thin, and the mask loses it in its shadow), while that point is within
  ``LIFT`` of the floor; the toe-off is the last frame before the tip moves on by more than
  ``MOVED`` body heights from where it stood just before (``PLACE``), or the foot leaves
  the floor.

Where no foot is found the ankle rule's time stays (``events.from_picture`` false). Measured
on the labelled set (``benchmarks/gait_validation.py``; the gait guide has the figures).
Pure functions over arrays here; ``VideoPictures`` reads the crops from the video (the edge).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import pandas as pd

# all in body heights (the track's median standing height in pixels)
BACK, AHEAD = 0.10, 0.24     # the box reaches this far behind / ahead of the rear ankle
ABOVE, BELOW = 0.08, 0.05    # ... above / below the floor
FLOOR = 0.04                 # the floor: this far below the ankle's lowest point
CHROMA = 0.06                # chromaticity distance from the background: the foot
BRIGHTER, DARKER = 1.25, 0.35  # ... or brighter / darker than a shadow makes the floor
NEAR = 0.06                  # the foot's blob comes within this of the standing ankle
AHEAD_OF_IT = 0.05           # the standing ankle is never further ahead of the rising one
TOE_BAND = 0.03              # the toe tip: within this of the foot's lowest point ...
LIFT = 0.06                  # ... which is off the floor once this far above it
MOVED = 0.016                # the tip has left its place
# frames at 30 fps (more at higher rates): the window either side of the ankles' toe-off,
# where the foot still stands (the ground from frames up to STILL before it, the tip's place
# from the PLACE frames before those), and how early the toe-off may come (EARLIEST before
# the ankles')
WINDOW, STILL, STAND, EARLIEST, PLACE = 8, 2, 3, 4, 3
BACKGROUND_FRAMES = 61       # the scene: the median of this many frames ...
BACKGROUND_SPAN = 15.0       # ... spread over this many seconds either side


@dataclass(frozen=True)
class Box:
    """The rear foot's box in frame pixels (``x1``, ``y1`` may pass the frame's edge) and
    where the ankle stood before the toe-off (``sx``, ``sy``)."""

    x0: int
    x1: int
    y0: int
    y1: int
    sx: float
    sy: float


@dataclass(frozen=True)
class Window:
    """The frames (the job's numbers) around one toe-off and its box; ``time``: the
    toe-off's, the centre of the background's frames."""

    frames: np.ndarray
    box: Box
    time: float


class Pictures(Protocol):
    """Crops of a video: for each window its frames' crops (None where a frame could not be
    read) and the scene behind them (None where it could not be made)."""

    def read(self, windows: Sequence[Window]
             ) -> list[tuple[list[np.ndarray | None], np.ndarray | None]]: ...


def frames_at(fps: float, n: int) -> int:
    """``n`` frames at 30 fps, as many at ``fps`` (never fewer)."""
    return max(n, int(round(n * fps / 30.0))) if np.isfinite(fps) else n


def foot_box(ankle: np.ndarray, at: int, direction: int, height: float,
             stand: int) -> Box | None:
    """The box on the floor at the rear ankle. ``ankle``: (k, 2) its x, y over the window
    (NaN where unknown), ``at`` the toe-off's row, ``stand`` the rows before it that show
    the ankle standing."""
    before = ankle[:at + 1]
    standing = ankle[:max(at - stand, 1)]
    if not np.isfinite(before).any() or not np.isfinite(ankle[at]).all():
        return None
    ax = ankle[at, 0]
    # a foot stands behind where its ankle is as the heel rises: a standing row ahead of it
    # is the other ankle, the labels swapped there
    standing = standing[np.isfinite(standing).all(1)
                        & (direction * (standing[:, 0] - ax) <= AHEAD_OF_IT * height)]
    if not len(standing):
        return None
    floor = np.nanmax(before[:, 1]) + FLOOR * height
    sx, sy = np.median(standing, axis=0)
    x0 = int(max(ax - (BACK if direction > 0 else AHEAD) * height, 0))
    x1 = int(ax + (AHEAD if direction > 0 else BACK) * height)
    y0, y1 = int(max(floor - ABOVE * height, 0)), int(floor + BELOW * height)
    if x1 <= x0 or y1 <= y0:
        return None
    return Box(x0, x1, y0, y1, float(sx), float(sy))


def foreground(crop: np.ndarray, back: np.ndarray) -> np.ndarray:
    """uint8 mask: chromaticity unlike the background's, or far brighter or darker than a
    shadow makes it."""
    import cv2

    c, b = crop.astype(np.float32) + 8, back.astype(np.float32) + 8
    cs, bs = c.sum(2, keepdims=True), b.sum(2, keepdims=True)
    chroma = np.abs(c / cs - b / bs).sum(2)
    ratio = cs[..., 0] / bs[..., 0]
    m = ((chroma > CHROMA) | (ratio > BRIGHTER) | (ratio < DARKER)).astype(np.uint8)
    return cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def blob_near(mask: np.ndarray, px: float, py: float, reach: float,
              before: np.ndarray | None = None) -> np.ndarray | None:
    """The connected part of ``mask`` that overlaps ``before`` most (the foot in the frame
    before: it is followed as it rolls forward and away from where the ankle stood), else the
    one nearest (px, py), if within ``reach`` pixels."""
    import cv2

    n, labels = cv2.connectedComponents(mask, connectivity=8)
    if n < 2:
        return None
    if before is not None:
        shared = np.bincount(labels[before], minlength=n)[1:]
        if shared.max() > 0:
            return labels == 1 + int(np.argmax(shared))
    best, dist = 0, np.inf
    for k in range(1, n):
        ys, xs = np.nonzero(labels == k)
        d = float(np.min(np.hypot(xs - px, ys - py)))
        if d < dist:
            best, dist = k, d
    return (labels == best) if best and dist <= reach else None


def toe_leaves(crops: Sequence[np.ndarray | None], back: np.ndarray, at: int, box: Box,
               direction: int, height: float, still: int = STILL,
               earliest: int = EARLIEST, place: int = PLACE) -> int | None:
    """The window's row of the last frame in which the rear foot's toe tip stays put (the
    toe-off), or None where the foot is not found. ``crops``: the box in each frame of the
    window, ``back`` in the scene, ``at`` the ankles' toe-off row."""
    feet: list[np.ndarray | None] = []
    low = np.full(len(crops), np.nan)
    for k, crop in enumerate(crops):
        foot = None
        if crop is not None and crop.shape == back.shape and crop.size:
            foot = blob_near(foreground(crop, back), box.sx - box.x0, box.sy - box.y0,
                             NEAR * height, feet[-1] if feet else None)
        feet.append(foot)
        if foot is not None:
            low[k] = np.flatnonzero(foot.any(1)).max()
    settled = low[:max(at - still + 1, 0)]
    if not np.isfinite(settled).any():
        return None
    ground = float(np.nanmedian(settled))
    tip = np.full(len(crops), np.nan)
    for k, foot in enumerate(feet):
        if foot is None:
            continue
        if low[k] < ground - LIFT * height:
            continue        # the foot is off the floor
        band = foot[max(int(low[k] - TOE_BAND * height), 0):int(low[k]) + 1]
        cols = np.flatnonzero(band.any(0))
        if len(cols):
            tip[k] = box.x0 + (cols.max() if direction > 0 else cols.min())
    # the tip's place: where it stood in the last frames before the toe-off (the blob in the
    # window's first frames may still be coming into the box, or be another foot's)
    placed = tip[:max(at - still + 1, 0)]
    if np.isfinite(placed[-place:]).any():
        placed = placed[-place:]
    if not np.isfinite(placed).any():
        return None
    ref = float(np.nanmedian(placed))
    last = None
    for k in range(max(at - earliest, 0), len(tip)):
        if not np.isfinite(tip[k]) or direction * (tip[k] - ref) > MOVED * height:
            return last
        last = k
    return None         # the tip never left within the window: not this foot, or no toe-off


def retime(ev: pd.DataFrame, w: pd.DataFrame, t: np.ndarray, direction: np.ndarray,
           height: float, pictures: Pictures) -> pd.DataFrame:
    """``ev`` with its toe-offs timed from the picture where the rear foot is found
    (``from_picture``); ``w``: the track's wide view with legs that follow the events'
    sides, ``t`` its times, ``direction`` (+1 right, -1 left) per row."""
    ev = ev.assign(from_picture=False)
    if not len(ev) or len(t) < 2:
        return ev
    fps = 1.0 / float(np.median(np.diff(t)))
    n, stand = frames_at(fps, WINDOW), frames_at(fps, STAND)
    frames = w["frame"].to_numpy()
    plans = []
    for j in np.flatnonzero((ev["event"] == "toe_off").to_numpy()):
        e = ev.iloc[j]
        i0 = int(np.argmin(np.abs(t - e["time"])))
        lo, hi = max(i0 - n, 0), min(i0 + n, len(t))
        ankle = w[[f"{e['side']}_ankle_x", f"{e['side']}_ankle_y"]].to_numpy(np.float64)[lo:hi]
        d = int(direction[i0]) or 1
        box = foot_box(ankle, i0 - lo, d, height, stand)
        if box is not None:
            plans.append((j, lo, i0, d, Window(frames[lo:hi], box, float(t[i0]))))
    if not plans:
        return ev
    read = pictures.read([p[-1] for p in plans])
    when, at_frame = ev["time"].to_numpy(float).copy(), ev["frame"].to_numpy().copy()
    picture = np.zeros(len(ev), bool)
    for (j, lo, i0, d, win), (crops, back) in zip(plans, read):
        if back is None:
            continue
        k = toe_leaves(crops, back, i0 - lo, win.box, d, height, frames_at(fps, STILL),
                       frames_at(fps, EARLIEST), frames_at(fps, PLACE))
        if k is not None:
            when[j], at_frame[j], picture[j] = t[lo + k], frames[lo + k], True
    ev = ev.assign(time=when, frame=at_frame, from_picture=picture)
    return ev.sort_values("time", kind="stable", ignore_index=True)


class VideoPictures:
    """A job's video read again for the toe-off windows: one pass from the first frame needed
    to the last, the crops kept, not the frames. ``frames``, ``times``: the video's rows in
    the job's frames table (the background's frames are chosen among them)."""

    def __init__(self, path: Path, frames: np.ndarray, times: np.ndarray) -> None:
        self.path = Path(path)
        self.frames = np.asarray(frames)
        self.times = np.asarray(times, np.float64)

    def _scene_frames(self, time: float) -> np.ndarray:
        near = self.frames[np.abs(self.times - time) <= BACKGROUND_SPAN]
        if not len(near):
            return near
        return np.unique(near[np.linspace(0, len(near) - 1, BACKGROUND_FRAMES).astype(int)])

    def read(self, windows: Sequence[Window]
             ) -> list[tuple[list[np.ndarray | None], np.ndarray | None]]:
        from ..decode import decode_range, index_video, upright

        scenes = [self._scene_frames(win.time) for win in windows]
        wanted: dict[int, list[int]] = {}
        for k, (win, scene) in enumerate(zip(windows, scenes)):
            for f in np.union1d(win.frames, scene):
                wanted.setdefault(int(f), []).append(k)
        crops: dict[tuple[int, int], np.ndarray] = {}
        if wanted:
            index = index_video(self.path)
            lo, hi = min(wanted), min(max(wanted) + 1, index.frames)
            for fr in decode_range(index, max(lo, 0), hi):
                if fr.index in wanted:
                    image = upright(fr.image, index.turn)
                    for k in wanted[fr.index]:
                        b = windows[k].box
                        crops[(k, fr.index)] = image[b.y0:b.y1, b.x0:b.x1].copy()
        out: list[tuple[list[np.ndarray | None], np.ndarray | None]] = []
        for k, (win, scene) in enumerate(zip(windows, scenes)):
            seen = [crops[(k, int(f))] for f in scene if (k, int(f)) in crops]
            back = (np.median(np.stack(seen), axis=0).astype(np.uint8)
                    if len(seen) >= BACKGROUND_FRAMES // 2 else None)
            out.append(([crops.get((k, int(f))) for f in win.frames], back))
        return out


def video_pictures(path: str, size: int | None, frames: np.ndarray, times: np.ndarray
                   ) -> tuple[VideoPictures | None, str | None]:
    """The job's video to time toe-offs from, or None and why not: it must still be where the
    job read it, the same size (else the ankles' times stay)."""
    p = Path(path)
    if not p.is_file():
        return None, (f"toe-offs from the ankles: the video is no longer at {p} (where it "
                      "is now: posebatch gait --video-dir DIR)")
    if size is not None and not pd.isna(size) and os.stat(p).st_size != int(size):
        return None, f"toe-offs from the ankles: {p} has changed since the job read it"
    return VideoPictures(p, frames, times), None
