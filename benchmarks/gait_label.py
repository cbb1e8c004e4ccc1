"""Contact sheets of a walker's feet, frame by frame at full resolution: what the gait labels
in ``benchmarks/gait_set/`` were decided from (see its README for the rules).

    .venv/bin/python benchmarks/gait_label.py OUT VIDEO TRACK [--start F --end F] [--dir DIR]
    .venv/bin/python benchmarks/gait_label.py OUT VIDEO TRACK --contact F --toe-off F ...

OUT is a finished job folder (``posebatch run``), VIDEO the video's name in it, TRACK a track
id. For every frame of the track a window around its feet is cut out of the decoded frame
(no scaling before the cut), enlarged to 150 px high with nearest-neighbour pixels (no
smoothing that would blur the moment the heel touches), and labelled with the frame number.
The window follows the walker (centred between the smoothed ankles) but its height and floor
line are fixed for the whole track, so a foot that rises or lands shows as a change against
the same line. Sheets of 16 frames (4 x 4) are written as PNG: ``DIR/VIDEO.tTRACK.FFFF.png``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from posebatch.storage import tables
from posebatch.decode import decode_sequential

PER_ROW, ROWS, HIGH = 4, 4, 150


def foot_windows(kp, track: int) -> dict[int, tuple[int, int, int, int]]:
    """frame -> (x0, y0, x1, y1) in frame pixels: a window 0.8 statures wide and 0.3 high
    whose bottom is the track's lowest ankle plus a tenth of a stature."""
    k = kp[kp["track"] == track]
    ank = k[k["part"].isin(["right_ankle", "left_ankle"])]
    stature = float(k.groupby("frame")["y_smooth"].agg(lambda y: y.max() - y.min()).median())
    floor = float(np.nanpercentile(ank["y_smooth"], 98)) + 0.1 * stature
    top = floor - 0.3 * stature
    half = 0.4 * stature
    out = {}
    for frame, g in ank.groupby("frame"):
        cx = float(np.nanmean(g["x_smooth"]))
        if np.isfinite(cx):
            out[int(frame)] = (int(cx - half), int(top), int(cx + half), int(floor))
    return out


def crop(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The box cut out of ``img``, padded with grey where it leaves the frame."""
    x0, y0, x1, y1 = box
    h, w = img.shape[:2]
    out = np.full((y1 - y0, x1 - x0, 3), 96, np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def sheets(out: Path, video: str, track: int, start: int | None, end: int | None,
           dest: Path) -> list[Path]:
    job = tables.load(out)
    row = job.videos[job.videos["video"] == video].iloc[0]
    kp = job.keypoints[job.keypoints["video"] == video]
    windows = foot_windows(kp, track)
    lo = start if start is not None else min(windows)
    hi = end if end is not None else max(windows)
    tiles: list[np.ndarray] = []
    for f in decode_sequential(Path(row["path"])):
        i = f.index
        if i > hi:
            break
        if lo <= i and i in windows:
            c = crop(f.image, windows[i])
            scale = HIGH / c.shape[0]
            c = cv2.resize(c, (int(round(c.shape[1] * scale)), HIGH),
                           interpolation=cv2.INTER_NEAREST)
            c = cv2.copyMakeBorder(c, 26, 0, 0, 0, cv2.BORDER_CONSTANT)
            cv2.putText(c, str(i), (6, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
            tiles.append(c)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    per = PER_ROW * ROWS
    stem = video.replace("/", "_")
    for s in range(0, len(tiles), per):
        group = tiles[s:s + per]
        w = max(t.shape[1] for t in group)
        group = [cv2.copyMakeBorder(t, 2, 2, 2, 2 + w - t.shape[1], cv2.BORDER_CONSTANT)
                 for t in group]
        blank = np.zeros_like(group[0])
        group += [blank] * (-len(group) % PER_ROW)
        sheet = np.vstack([np.hstack(group[r:r + PER_ROW])
                           for r in range(0, len(group), PER_ROW)])
        path = dest / f"{stem}.t{track}.{s // per:04d}.png"
        cv2.imwrite(str(path), sheet)
        written.append(path)
    return written


def strip(out: Path, video: str, track: int, frame: int, event: str, dest: Path) -> Path:
    """The second look: frames ``frame - before`` .. ``frame + after`` of one foot event in a
    window that does NOT move (centred on the front foot for a contact, the rear foot for a
    toe-off, at ``frame``; frames F-5..F+2 for a contact, F-3..F+4 for a toe-off), 0.4
    statures wide, enlarged 3-4 x. A window that follows the
    walker hides the foot's last forward slide before the heel settles; a fixed one shows it
    as the heel still moving against the floor. Contact: the first frame in which the heel
    has stopped on the floor; toe-off: the last frame in which the toes touch it."""
    before, after = (5, 2) if event == "contact" else (3, 4)
    job = tables.load(out)
    row = job.videos[job.videos["video"] == video].iloc[0]
    k = job.keypoints[(job.keypoints["video"] == video) & (job.keypoints["track"] == track)]
    stature = float(k.groupby("frame")["y_smooth"].agg(lambda y: y.max() - y.min()).median())
    hips = k[k["part"].isin(["right_hip", "left_hip"])].groupby("frame")["x_smooth"].mean()
    direction = np.sign(hips.iloc[-1] - hips.iloc[0]) or 1.0
    ank = k[(k["frame"] == frame) & k["part"].isin(["right_ankle", "left_ankle"])]
    xs, ys = ank["x_smooth"].to_numpy(), ank["y_smooth"].to_numpy()
    pick = np.argmax(direction * xs) if event == "contact" else np.argmin(direction * xs)
    cx, cy = float(xs[pick]), float(ys[pick])
    up, down = (0.08, 0.08) if event == "contact" else (0.04, 0.14)   # the heel is raised
    box = (int(cx - 0.2 * stature), int(cy - up * stature), int(cx + 0.2 * stature),
           int(cy + down * stature))
    tiles = []
    for f in decode_sequential(Path(row["path"])):
        if f.index > frame + after:
            break
        if f.index >= frame - before:
            c = crop(f.image, box)
            c = cv2.resize(c, None, fx=300 / c.shape[1], fy=300 / c.shape[1],
                           interpolation=cv2.INTER_NEAREST)
            c = cv2.copyMakeBorder(c, 24, 2, 2, 2, cv2.BORDER_CONSTANT)
            cv2.putText(c, str(f.index), (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.65,
                        (255, 255, 255), 2)
            tiles.append(c)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 4)
    sheet = np.vstack([np.hstack(tiles[r:r + 4]) for r in range(0, len(tiles), 4)])
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{video.replace('/', '_')}.t{track}.{event}.{frame:04d}.png"
    cv2.imwrite(str(path), sheet)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("video")
    ap.add_argument("track", type=int)
    ap.add_argument("--start", type=int)
    ap.add_argument("--end", type=int)
    ap.add_argument("--dir", type=Path, default=Path("gait_label_sheets"))
    ap.add_argument("--contact", type=int, action="append", default=[],
                    help="a fixed-window strip around this frame's contact (repeatable)")
    ap.add_argument("--toe-off", type=int, action="append", default=[],
                    help="a fixed-window strip around this frame's toe-off (repeatable)")
    a = ap.parse_args()
    if a.contact or a.toe_off:
        for event, frames in (("contact", a.contact), ("toe_off", a.toe_off)):
            for f in frames:
                print(strip(a.out, a.video, a.track, f, event, a.dir))
        return
    for p in sheets(a.out, a.video, a.track, a.start, a.end, a.dir):
        print(p)


if __name__ == "__main__":
    main()
