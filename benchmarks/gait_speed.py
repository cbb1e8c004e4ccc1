"""How long the gait analysis of a 10-minute video takes: two synthetic walkers pacing back
and forth for 10 minutes at 30 fps (18,000 frames), through the job's tracking tables, then
`tables.wide`, `gait.analyse` and writing OUT/gait/.

    .venv/bin/python benchmarks/gait_speed.py [--minutes 10]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posebatch import gait  # noqa: E402
from posebatch.storage import tables  # noqa: E402
from posebatch.engine.config import GaitConfig, TrackConfig  # noqa: E402
from posebatch.engine.layout import COCO18  # noqa: E402
from posebatch.track.apply import track_tables  # noqa: E402
from posebatch.storage.schemas import frame_tables  # noqa: E402
from tests.walkers import gait_pose  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    times = np.arange(int(args.minutes * 60 * 30)) / 30
    recs = []
    for f, t in enumerate(times):
        people = []
        for k, (y, h, stride) in enumerate(((600, 400, 1.1), (300, 250, 1.2))):
            leg = (t % 20.0)                                  # 10 s each way, then back
            facing = 1 if leg < 10 else -1
            x = 200 + 0.8 * h * (leg if leg < 10 else 20 - leg)
            pts = gait_pose(t / stride + 0.3 * k, h, facing) + (x + 300 * k, y)
            pts += rng.normal(0, 1.5, pts.shape)
            people.append(np.concatenate([pts, np.full((18, 1), 0.8)], 1))
        recs.append({"frame": f, "pts": f, "time": float(t), "status": "ok",
                     "keypoints": np.asarray(people, np.float32),
                     "scores": np.full(2, 0.9, np.float32)})
    chunk = frame_tables(recs, COCO18)
    t0 = time.perf_counter()
    tracked = track_tables(chunk["keypoints"], chunk["people"], chunk["frames"], COCO18,
                           TrackConfig())
    t1 = time.perf_counter()
    kp = tracked["keypoints"].to_pandas().assign(video="ten_minutes.mp4")
    job = tables.JobTables(kp, None, None, None, None)
    result = gait.analyse(job, GaitConfig())
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        from posebatch.gait.outputs import write_gait

        write_gait(Path(out), result, GaitConfig())
    t3 = time.perf_counter()
    print(f"{len(times)} frames, 2 walkers, {len(kp)} keypoint rows, "
          f"{int(result.summary.strides.sum())} strides in {len(result.summary)} tracks")
    print(f"tracking + smoothing {t1 - t0:.1f} s; gait analysis (wide view, angles, events, "
          f"strides, summary) {t2 - t1:.1f} s; writing the tables and figures {t3 - t2:.1f} s")


if __name__ == "__main__":
    main()
