"""Would a second look at a larger network input steady the ankles of walkers who already
fill the frame? (issue 19: the second look did not halve their left/right switches.)

    .venv/bin/python benchmarks/refine_input.py [--height 736] VIDEO ...

In one process, per frame of each video: the first pass (``balanced``), then the second look
at the walker (the tallest person found) as the job does it (``posebatch.engine.refine``, its
crop at the network's aspect), once at the network's input size (432x368) and once at
``--height`` (the width following at the model's aspect: 864x736 by default, the walker at
about the video's own resolution). Printed per video and over all: the ankles' left/right
label switches between consecutive frames (``benchmarks/refine.py``'s
``switches_along``, the rule its ``ankle_switches`` applies per track, here on the walker of
each frame, untracked), per minute of video, the
frames with both ankles found, and the network time per frame. The tracker's correction is
not applied: this compares what the network itself says at each input size.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posebatch.decode import decode_sequential  # noqa: E402
from posebatch.engine.estimator import Estimator  # noqa: E402
from posebatch.engine.layout import COCO18  # noqa: E402
from posebatch.engine.quality import resolve  # noqa: E402
from posebatch.engine.refine import RefineConfig, person_box, refine_people  # noqa: E402
from benchmarks.refine import switches_along  # noqa: E402

ANKLES = (COCO18.parts.index("right_ankle"), COCO18.parts.index("left_ankle"))


def ankles(keypoints: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """(right, left) ankle positions (n, 2) of the walker per frame, NaN where not found."""
    out = np.full((2, len(keypoints), 2), np.nan)
    for k, kp in enumerate(keypoints):
        if kp is not None and (kp[ANKLES, 2] > 0).all():
            out[:, k] = kp[ANKLES, :2]
    return out[0], out[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--height", type=int, default=736,
                    help="the larger second look's network input height")
    args = ap.parse_args(argv)
    first = Estimator("mobilenet_thin", quality="balanced")
    w, h = first.spec.input_size
    large = Estimator("mobilenet_thin",
                      config=resolve("balanced", "mobilenet_thin", (w, h), height=args.height))
    looks = {"first pass": None, f"second look {w}x{h}": first,
             f"second look {large.config.net_width}x{large.config.net_height}": large}
    cfg = RefineConfig(mode="people")
    total = {name: [0, 0, 0.0] for name in looks}
    minutes = 0.0
    for video in args.videos:
        kps: dict[str, list] = {name: [] for name in looks}
        secs = {name: 0.0 for name in looks}
        heights: list[float] = []
        times: list[float] = []
        for frame in decode_sequential(Path(video)):
            times.append(frame.time)
            t0 = time.perf_counter()
            res = first.estimate(frame.image)
            secs["first pass"] += time.perf_counter() - t0
            if not res.n_people:
                heights.append(np.nan)
                for name in looks:
                    kps[name].append(None)
                continue
            boxes = np.stack([person_box(p) for p in res.keypoints])
            i = int(np.nanargmax(boxes[:, 3] - boxes[:, 1]))
            heights.append(float(boxes[i, 3] - boxes[i, 1]))
            kps["first pass"].append(res.keypoints[i])
            for name, est in looks.items():
                if est is None:
                    continue
                t0 = time.perf_counter()
                out = refine_people(est, frame.image, boxes[i:i + 1], res.keypoints[i:i + 1],
                                    res.scores[i:i + 1], cfg)
                secs[name] += time.perf_counter() - t0
                kps[name].append(out.keypoints[0])
        n = len(times)
        mins = (times[-1] - times[0]) * n / max(n - 1, 1) / 60
        minutes += mins
        print(f"{Path(video).name}: {n} frames, {60 * mins:.1f} s, walker "
              f"{np.nanmedian(heights):.0f} px tall (median)")
        for name in looks:
            s, both = switches_along(*ankles(kps[name]), np.asarray(times), heights)
            total[name][0] += s
            total[name][1] += both
            total[name][2] += secs[name]
            print(f"  {name:24s} {s:3d} switches ({s / mins:5.1f} a minute), "
                  f"{both} frames with both ankles, {1000 * secs[name] / n:6.1f} ms/frame")
    print(f"all {len(args.videos)} videos, {minutes:.2f} minutes:")
    for name, (s, both, sec) in total.items():
        print(f"  {name:24s} {s:3d} switches ({s / minutes:5.1f} a minute), "
              f"{both} frames with both ankles")


if __name__ == "__main__":
    main()
