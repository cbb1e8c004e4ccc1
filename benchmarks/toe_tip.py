"""Toe-offs timed from the picture: a probe, not yet part of the gait analysis.

    .venv/bin/python benchmarks/toe_tip.py WORK [clip ...]

WORK is a finished ``benchmarks/gait_validation.py --out WORK`` (its job and clips); the
Biomechanics-of-gait clips are found as there (``$POSEBATCH_GAIT_VIDEOS``). The network has no
toe, and the ankle rule (``posebatch.gait.events.toe_off_time``) tells when the heel rises, not
when the toes leave. Here, around each toe-off the gait found, the rear foot is cut out of the
picture and its toe tip followed:

- a box fixed on the floor at the rear ankle (the gait's legs, ``--legs gait`` as exported);
- the foot against the clip's median background (61 frames) by normalised chromaticity, which
  leaves out the walker's shadow (a plain colour difference took it for the foot);
- of that mask, the blob nearest the ankle where it stood before the toe-off (not the other
  foot, not the other shin);
- the toe tip: its foremost pixel within 0.03 body heights of the floor; the toe-off, the last
  frame before the tip moves on by more than 0.012 body heights (or the blob leaves the box).

Where no blob is found the ankle rule's frame is kept. Printed: within 1 and 2 frames of the
labels and the mean error (frames), for the ankle rule and for the tip, over the found
toe-offs that have a label of confidence >= 0.4 within 6 frames (the labels' README says how
they were made).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import gait_validation as gv  # noqa: E402

from posebatch.decode import decode_sequential  # noqa: E402
from posebatch.export import gait_angles, select_videos, video_tables  # noqa: E402
from posebatch.storage import tables  # noqa: E402

BACK, AHEAD = 0.10, 0.24     # the box, body heights behind / ahead of the rear ankle
ABOVE, BELOW = 0.08, 0.05    # ... above / below the floor (the ankle's lowest point + 0.04)
CHROMA = 0.06                # chromaticity distance from the background: foot
NEAR = 0.06                  # the foot's blob within this of the standing ankle
TOE_BAND = 0.03              # the toe tip: within this of the floor
MOVED = 0.012                # the tip has left its place
WINDOW = 8                   # frames either side of the found toe-off


def background(ims: list[np.ndarray], n: int = 61) -> np.ndarray:
    """The clip's still scene: the median of ``n`` frames spread over it."""
    picks = np.linspace(0, len(ims) - 1, n).astype(int)
    return np.median(np.stack([ims[k] for k in picks]), axis=0).astype(np.uint8)


def foreground(crop: np.ndarray, back: np.ndarray) -> np.ndarray:
    """uint8 mask: chromaticity unlike the background's, or far brighter or darker than a
    shadow makes it."""
    c, b = crop.astype(np.float32) + 8, back.astype(np.float32) + 8
    cs, bs = c.sum(2, keepdims=True), b.sum(2, keepdims=True)
    chroma = np.abs(c / cs - b / bs).sum(2)
    ratio = cs[..., 0] / bs[..., 0]
    m = ((chroma > CHROMA) | (ratio > 1.25) | (ratio < 0.35)).astype(np.uint8)
    return cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def blob_near(m: np.ndarray, px: float, py: float, reach: float) -> np.ndarray | None:
    n, labels = cv2.connectedComponents(m, connectivity=8)
    best, dist = 0, np.inf
    for k in range(1, n):
        ys, xs = np.nonzero(labels == k)
        d = float(np.min(np.hypot(xs - px, ys - py)))
        if d < dist:
            best, dist = k, d
    return (labels == best) if best and dist <= reach else None


def toe_leaves(ims, bg, f0: int, ankle: np.ndarray, d: int, height: float) -> int | None:
    """The last frame the rear foot's toe tip stays put, around the found toe-off ``f0``;
    ``ankle``: (frames, 2) the rear ankle's x, y by frame (NaN where unknown)."""
    before = ankle[max(f0 - WINDOW, 0):f0 + 1]
    if not np.isfinite(before).any() or not np.isfinite(ankle[f0]).all():
        return None
    floor = np.nanmax(before[:, 1]) + 0.04 * height
    sx, sy = np.nanmedian(ankle[max(f0 - WINDOW, 0):max(f0 - 3, 1)], axis=0)
    ax = ankle[f0, 0]
    x0 = int(max(ax - (BACK if d > 0 else AHEAD) * height, 0))
    x1 = int(ax + (AHEAD if d > 0 else BACK) * height)
    y0, y1 = int(max(floor - ABOVE * height, 0)), int(floor + BELOW * height)
    low, tip = {}, {}
    feet = {}
    for f in range(max(f0 - WINDOW, 0), min(f0 + WINDOW, len(ims))):
        m = foreground(ims[f][y0:y1, x0:x1], bg[y0:y1, x0:x1])
        feet[f] = blob_near(m, sx - x0, sy - y0, NEAR * height)
        rows = np.flatnonzero(feet[f].any(1)) if feet[f] is not None else []
        low[f] = rows.max() if len(rows) else np.nan
    ground = np.nanmedian([low[f] for f in low if f <= f0 - 2] or [np.nan])
    if not np.isfinite(ground):
        return None
    for f, foot in feet.items():
        if foot is None:
            tip[f] = np.nan
            continue
        band = foot[max(int(ground - TOE_BAND * height), 0):int(ground) + 1]
        cols = np.flatnonzero(band.any(0))
        tip[f] = np.nan if not len(cols) else x0 + (cols.max() if d > 0 else cols.min())
    tips = pd.Series(tip)
    ref = tips.loc[:f0 - 2].median()
    last = None
    for f in tips.index[tips.index >= f0 - 4]:
        if not np.isfinite(tips[f]) or d * (tips[f] - ref) > MOVED * height:
            break
        last = int(f)
    return last


def probe(work: Path, names: list[str]) -> pd.DataFrame:
    out = work / "out"
    events = pd.read_parquet(out / "gait" / "events.parquet")
    summary = pd.read_parquet(out / "gait" / "summary.parquet")
    angles = gait_angles(out)
    frames = tables.read(out, "frames")
    rows = []
    for name in names:
        clip = gv.load_clip(name, work / "clips")
        if clip.path is None:
            continue
        video = f"inputs/{clip.input}{clip.path.suffix}"
        times = frames[frames.video.astype(str) == video].set_index("frame").time
        dt = float(np.median(np.diff(times.to_numpy())))
        ev = events[events.video.astype(str) == video]
        lo, hi = times.loc[clip.span[0]], times.loc[clip.span[1]]
        inside = ev[(ev.time >= lo - dt) & (ev.time <= hi + dt)]
        track = int(inside.track.value_counts().idxmax())
        s = summary[(summary.video.astype(str) == video) & (summary.track == track)].iloc[0]
        height = float(s.standing_height_px)
        d = 1 if clip.meta["direction"] == "right" else -1
        row = next(r for r in select_videos(out) if str(r["video"]) == video)
        w = video_tables(out, row, track, angles=angles).wide().reset_index().set_index("frame")
        ims = [f.image for f in decode_sequential(clip.path)]   # numbered as the job's frames
        bg = background(ims)
        labels = clip.events[(clip.events.event == "toe_off")
                             & (clip.events.confidence >= gv.MIN_CONFIDENCE)]
        toes = inside[(inside.track == track) & (inside.event == "toe_off")]
        for _, e in toes.iterrows():
            f0 = int(times.index[np.argmin(np.abs(times.to_numpy() - e.time))])
            ankle = (w[[f"{e.side}_ankle_x", f"{e.side}_ankle_y"]]
                     .reindex(range(len(ims))).to_numpy(np.float64))
            lf = labels[labels.side == e.side].frame.to_numpy()
            label = int(lf[np.argmin(np.abs(lf - f0))]) if len(lf) else None
            if label is None or abs(label - f0) > 6:
                continue
            tip = toe_leaves(ims, bg, f0, ankle, d, height)
            rows.append({"clip": name, "side": e.side, "label": label, "ankle": f0,
                         "tip": tip if tip is not None else f0, "tip_found": tip is not None})
    return pd.DataFrame(rows)


def main() -> None:
    work = Path(sys.argv[1])
    names = sys.argv[2:] or [n for n in gv.clip_names() if not n.endswith(tuple(gv.DERIVED))]
    gv.VIDEOS.extend(Path(p) for p in os.environ.get("POSEBATCH_GAIT_VIDEOS", "").split(
        os.pathsep) if p and Path(p) not in gv.VIDEOS)
    r = probe(work, names)
    pd.set_option("display.width", 200)
    print(r.to_string(index=False))
    for col in ("ankle", "tip"):
        err = (r[col] - r.label).astype(float)
        print(f"{col}: within 1 frame {(err.abs() <= 1).mean():.2f}, within 2 "
              f"{(err.abs() <= 2).mean():.2f}, mean error {err.mean():+.2f} frames "
              f"(n = {len(err)}; tip found at {r.tip_found.sum()})")


if __name__ == "__main__":
    main()
