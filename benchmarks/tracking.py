"""How the tracking defaults were chosen: sweeps of each setting on synthetic scenes with known
identities and swaps, and on the stored detections of real jobs; Winter's residual analysis
for the low-pass cut-off; the lengths of keypoint gaps inside tracks.

    .venv/bin/python benchmarks/tracking.py OUT [OUT ...]

OUT: folders of finished `posebatch run` jobs (their stored detections are re-tracked here;
no inference). Prints one table per setting.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posebatch.engine.config import TrackConfig  # noqa: E402
from posebatch.engine.layout import COCO18  # noqa: E402
from posebatch.storage.store import Store  # noqa: E402
from posebatch.track import lowpass, track_video  # noqa: E402
from posebatch.track.apply import detections  # noqa: E402
from tests.walkers import crossing  # noqa: E402

SWEEPS = {
    "max_gap": [0.25, 0.5, 1.0, 2.0],
    "min_seen": [0.1, 0.3, 0.5, 1.0],
    "min_similarity": [0.05, 0.1, 0.2, 0.4, 0.6],
    "swap_horizon": [0.05, 0.1, 0.2, 0.4, 1.0],
}


def real_videos(outs: list[Path]) -> list[tuple[str, tuple]]:
    """(name, (times, frame, keypoints)) of every video with detections in the job folders."""
    found = []
    for out in outs:
        m = json.loads((out / "manifest.json").read_text())
        for v in m["videos"]:
            if not v["store"]:
                continue
            store = Store(out, m["params_key"])
            vkey = Path(v["store"]).parts[1]
            chunks = [tuple(c) for c in v["chunks"]]
            found.append((v["name"], detections(*store.read_detections(vkey, chunks),
                                                COCO18)[:3]))
    return found


def synthetic(config: TrackConfig, seeds: int = 30, **scene) -> dict[str, int]:
    """Identity problems (seeds where a walker is split or merged) and swap errors."""
    bad = missed = false = injected = 0
    for seed in range(seeds):
        s = crossing(seed, **scene)
        vt = track_video(s.times, s.frame, s.keypoints, COCO18, config)
        ids = [set(np.unique(vt.track[s.person == p])) for p in range(3)]
        bad += not (all(len(i) == 1 for i in ids) and len(set.union(*ids)) == 3
                    and -1 not in set.union(*ids))
        injected += int(s.swapped.any(1).sum())
        missed += int((s.swapped & ~vt.swapped).any(1).sum())
        false += int((vt.swapped & ~s.swapped).any(1).sum())
    return {"id problems": bad, "swaps injected": injected, "missed": missed, "false": false}


def real(config: TrackConfig, videos) -> dict[str, str]:
    out = {}
    for name, (times, frame, kp) in videos:
        vt = track_video(times, frame, kp, COCO18, config)
        spans = [np.ptp(times[frame[vt.track == t]]) for t in range(vt.n_tracks)]
        out[Path(name).stem[:14]] = (f"{vt.n_tracks} tr, {sum(s > 2 for s in spans)} >2s, "
                                     f"{int((vt.track < 0).sum())} loose, "
                                     f"{int(vt.swapped.any(1).sum())} sw")
    return out


def print_table(title: str, rows: list[dict]) -> None:
    cols = list(rows[0])
    print(f"\n{title}")
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))


def residuals(videos, cutoffs=(1, 2, 3, 4, 5, 6, 8, 10, 12)) -> None:
    """Winter's residual analysis: RMS difference (px) between raw and filtered trajectories
    of tracked keypoints against the cut-off. Past the signal's band the residual falls
    linearly with the cut-off (noise only); the cut-off is chosen where the residual meets
    the extrapolated noise line."""
    rows = []
    for name, (times, frame, kp) in videos:
        vt = track_video(times, frame, kp, COCO18, TrackConfig())
        res = {c: [] for c in cutoffs}
        for t in range(vt.n_tracks):
            sel = vt.sample_track == t
            ft = times[vt.sample_frame[sel]]
            raw = np.full((sel.sum(), COCO18.n_parts, 2), np.nan)
            dets = vt.sample_det[sel]
            have = dets >= 0
            found = vt.keypoints[dets[have], :, 2] > 0
            raw[have] = np.where(found[..., None], vt.keypoints[dets[have], :, :2], np.nan)
            for p in range(COCO18.n_parts):
                v = raw[:, p]
                for c in cutoffs:
                    f = lowpass(ft, v, float(c))
                    ok = np.isfinite(v).all(1)
                    res[c].append((v[ok] - f[ok]).ravel())
        row = {"video": Path(name).stem[:20]}
        rms = []
        for c in cutoffs:
            d = np.concatenate(res[c]) if res[c] else np.zeros(1)
            rms.append(float(np.sqrt(np.mean(d ** 2))))
            row[f"{c} Hz"] = f"{rms[-1]:.2f}"
        # the noise line through the three highest cut-offs, extrapolated to 0 Hz
        slope, intercept = np.polyfit(cutoffs[-3:], rms[-3:], 1)
        row["Winter"] = next((f"{c} Hz" for c, r in zip(cutoffs, rms) if r <= intercept), "-")
        rows.append(row)
    print_table("residual RMS (px) raw - filtered, by cut-off", rows)


def gaps(videos) -> None:
    """How long a tracked keypoint goes missing, per video: the time from the detection before
    the gap to the one after, where at least one frame lies between."""
    print("\nkeypoint gaps inside tracks (time from the detection before to the one after)")
    for name, (times, frame, kp) in videos:
        lengths = []
        vt = track_video(times, frame, kp, COCO18, TrackConfig())
        for t in range(vt.n_tracks):
            f = frame[vt.track == t]
            have = vt.keypoints[vt.track == t, :, 2] > 0
            for p in range(COCO18.n_parts):
                fp = f[have[:, p]]
                gap = np.diff(fp) > 1
                lengths += list(times[fp[1:][gap]] - times[fp[:-1][gap]])
        lengths = np.array(lengths)
        print(f"{Path(name).stem[:20]}: {len(lengths)} gaps; " + ", ".join(
            f"<= {q:.1f} s: {np.mean(lengths <= q + 1e-9):.0%}" for q in (0.1, 0.2, 0.3, 0.5, 1.0)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outs", nargs="*", type=Path)
    args = ap.parse_args()
    videos = real_videos(args.outs)
    for name, values in SWEEPS.items():
        rows = []
        for v in values:
            cfg = dataclasses.replace(TrackConfig(), **{name: v})
            t0 = time.perf_counter()
            row = {name: v, **{f"syn {k}": x for k, x in synthetic(cfg).items()},
                   **{f"drop30 {k}": x for k, x in synthetic(cfg, drop=0.3, seeds=10).items()},
                   **real(cfg, videos), "s": f"{time.perf_counter() - t0:.1f}"}
            rows.append(row)
        print_table(f"sweep of {name} (others at their defaults)", rows)
    if videos:
        residuals(videos)
        gaps(videos)


if __name__ == "__main__":
    main()
