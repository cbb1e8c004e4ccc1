"""Trajectory jitter with and without sub-pixel peaks: the mean absolute second difference of
each tracked keypoint's position (pixels per frame squared), raw (x, y as detected) and after
the tracking's smoothing (x_smooth, y_smooth), over real videos of one person walking.

    .venv/bin/python benchmarks/jitter.py [VIDEO ...]

Each video runs through the real job (`posebatch run`, tracking on) once per setting. Only
runs of three consecutive frames in which the part was detected (not filled) count, so
gaps do not masquerade as jumps. On a person walking, part of the second difference is real
acceleration, the same in every setting: differences between settings are the jitter. The
torso (neck, shoulders, hips) moves smoothly while walking, so its figure is mostly jitter;
limbs swing and add real acceleration.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posebatch.runner.spec import JobSpec  # noqa: E402
from posebatch.runner import run_job  # noqa: E402
from posebatch.storage.tables import read  # noqa: E402

VIDEOS = [ROOT.parent / "shared/data/videos/biomech_gait_normal_01.mp4",
          ROOT.parent / "shared/data/videos/pose2sim_single_cam02.mp4"]
SETTINGS = {
    "previous default (reference, upsample 4)": dict(quality="reference", coords="center"),
    "previous default + sub-pixel": dict(quality="reference", coords="center",
                                         subpixel=True),
    "balanced without sub-pixel": dict(quality="balanced", subpixel=False),
    "balanced (sub-pixel)": dict(quality="balanced"),
}


TORSO = {"neck", "right_shoulder", "left_shoulder", "right_hip", "left_hip"}


def second_difference(kp: pd.DataFrame, x: str, y: str, parts: set[str] | None = None
                      ) -> tuple[float, int]:
    """Mean |second difference| over x and y of every tracked part's position, over runs of
    three consecutive frames in which it was detected; and how many differences."""
    kp = kp[kp.track.notna() & ~kp.filled].sort_values(["track", "part_id", "frame"])
    if parts is not None:
        kp = kp[kp.part.astype(str).isin(parts)]
    vals = []
    for _, g in kp.groupby(["track", "part_id"], observed=True):
        f = g.frame.to_numpy()
        ok = (f[2:] - f[1:-1] == 1) & (f[1:-1] - f[:-2] == 1)
        for col in (x, y):
            v = g[col].to_numpy(np.float64)
            d2 = v[2:] - 2 * v[1:-1] + v[:-2]
            vals.append(np.abs(d2[ok]))
    allv = np.concatenate(vals) if vals else np.zeros(0)
    return float(allv.mean()) if len(allv) else float("nan"), len(allv)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*", type=Path, default=VIDEOS)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for video in args.videos:
            for name, settings in SETTINGS.items():
                out = Path(tmp) / f"{video.stem}-{len(rows)}"
                run_job(JobSpec(inputs=(str(video),), out=str(out), chunk=64, **settings))
                kp = read(out, "keypoints")
                raw, n = second_difference(kp, "x", "y")
                smooth, _ = second_difference(kp, "x_smooth", "y_smooth")
                traw, tn = second_difference(kp, "x", "y", TORSO)
                tsmooth, _ = second_difference(kp, "x_smooth", "y_smooth", TORSO)
                rows.append((video.name, name, raw, smooth, n, traw, tsmooth, tn))
                print(f"{video.name:<32} {name:<36} raw {raw:6.2f}  smoothed {smooth:6.3f}  "
                      f"torso raw {traw:6.2f} smoothed {tsmooth:6.3f} px/frame^2 ({n}, {tn} "
                      "differences)", flush=True)
    print()
    print("| video | setting | all parts: raw | smoothed | torso: raw | smoothed | "
          "differences (all, torso) |")
    print("|---|---|---|---|---|---|---|")
    for v, name, raw, smooth, n, traw, tsmooth, tn in rows:
        print(f"| {v} | {name} | {raw:.2f} | {smooth:.3f} | {traw:.2f} | {tsmooth:.3f} "
              f"| {n}, {tn} |")


if __name__ == "__main__":
    main()
