"""The second look at each person (``--refine people``) on the side-on walking clips: ankle
left/right swaps per minute, jitter of still parts, the gait found, and the cost per person.

    .venv/bin/python benchmarks/refine.py [--quality balanced] [VIDEO ...]

Each video runs through the real job twice in the same output folder: without the second
look, then with it (the first pass's chunks are reused, so the second run's actor time is
the second look's alone: the manifest's ``refine``).

- *Ankle swaps*: left/right label switches of the ankles along each reported track
  (:func:`ankle_switches`), as the network labelled them and after the tracker's left/right
  correction, per minute of the tracks' durations; and in the gait's legs (named as the
  gait reads them: ``angles.legs_traded``, posebatch.gait.legs).
Swaps are counted over the walking tracks (a walking bout found by ``posebatch.gait``);
jitter over every track.

- *Sides at labelled events*: at each contact and toe-off of the labelled gait set
  (``benchmarks/gait_set``), whether the ankle labelled with the event's side is the front
  (contact) or rear (toe-off) one: the network's labels and the tracked ones.
- *Jitter of still parts*: the mean length of the second difference of a part's detected
  position (pixels) over three consecutive frames in which its smoothed position moves less
  than 0.5% of the track's height per frame (the part stands still, so what moves is noise).
- *Gait*: strides, cadence and how regularly contacts alternate (``posebatch.gait``).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posebatch.cli.common import resolve_asset  # noqa: E402
from posebatch.runner.spec import JobSpec  # noqa: E402
from posebatch.runner import run_job  # noqa: E402
from posebatch.storage.tables import load  # noqa: E402

VIDEOS = ["asset:demo_video", str(ROOT.parent / "shared/data/videos/biomech_gait_normal_01.mp4")]
ANKLES = ("right_ankle", "left_ankle")
GAIT_SET = ROOT / "benchmarks" / "gait_set"


def ankle_switches(kp: pd.DataFrame, tracks: pd.DataFrame, as_detected: bool
                   ) -> tuple[int, float]:
    """(left/right label switches of the ankles, minutes of tracks) over a video's reported
    tracks. Along each track, every frame where both ankles are found at least 5% of the
    track's height apart is compared with the previous such frame (within 0.25 s): the
    labels switched when pairing each ankle with the other side's previous position is
    closer, by at least 5% of the height, than pairing it with its own side's. A swap that
    comes and goes is two switches. ``as_detected``: the network's labels (the tracker's
    left/right corrections undone); else the corrected ones the tables give."""
    switches = 0
    height = tracks.set_index("track")["box_height"]
    a = kp[kp["track"].notna() & ~kp["filled"] & kp["part"].astype(str).isin(ANKLES)]
    for track, rows in a.groupby("track"):
        side = rows["part"].astype(str)
        if as_detected:          # undo the tracker's correction: the network's labels
            side = side.where(~rows["swapped"], side.map(dict(zip(ANKLES, ANKLES[::-1]))))
        w = rows.assign(side=side.to_numpy()).pivot_table(index="time", columns="side",
                                                          values=["x", "y"])
        if w.shape[1] < 4:
            continue
        switches += switches_along(w.xs(ANKLES[0], axis=1, level=1).to_numpy(),
                                   w.xs(ANKLES[1], axis=1, level=1).to_numpy(),
                                   w.index.to_numpy(), float(height[track]))[0]
    minutes = float((tracks["end"] - tracks["start"]).sum()) / 60
    return switches, minutes


def switches_along(r: np.ndarray, l: np.ndarray, t: np.ndarray, h) -> tuple[int, int]:
    """(left/right switches, frames compared) along one person: ``r``, ``l`` (n, 2) the
    right and left ankle per frame (NaN: not found), ``t`` (n,) times, ``h`` the person's
    height (or (n,) per frame). Frames with both ankles at least 5 % of ``h`` apart are
    compared with the previous such frame within 0.25 s: switched when pairing each ankle
    with the other side's previous position is closer, by at least 5 % of ``h``, than with
    its own."""
    h = np.broadcast_to(np.asarray(h, np.float64), (len(t),))
    ok = np.isfinite(r).all(1) & np.isfinite(l).all(1)
    with np.errstate(invalid="ignore"):
        ok &= np.linalg.norm(r - l, axis=1) >= 0.05 * h
    idx = np.flatnonzero(ok)
    switches = 0
    for i, j in zip(idx[:-1], idx[1:]):
        if t[j] - t[i] > 0.25:
            continue
        direct = np.linalg.norm(r[j] - r[i]) + np.linalg.norm(l[j] - l[i])
        mirror = np.linalg.norm(r[j] - l[i]) + np.linalg.norm(l[j] - r[i])
        switches += int(mirror + 0.05 * h[j] < direct)
    return switches, len(idx)


def labelled_sides(kp: pd.DataFrame, tracks: pd.DataFrame, video: str
                   ) -> tuple[int, int, int] | None:
    """Ankle sides against the labelled gait set (benchmarks/gait_set): at each labelled
    contact the landing foot is the front one, at each toe-off the leaving foot the rear one
    (along the pass's walking direction). Returns (wrong as the network labelled them, wrong
    after the tracker's correction, events with both ankles detected) for the walker (the
    track whose ankles travel furthest across the pass), None when the video has no labels.
    Label files are matched by the video's file name (every pass of it)."""
    import tomllib

    labels = [tomllib.loads(p.read_text()) for p in GAIT_SET.glob("*.toml")]
    name = Path(video).name
    passes = [m for m in labels if Path(m["source"].rsplit(":", 1)[-1]).name == name
              or m["source"] == video]
    if not passes or tracks.empty:
        return None
    a = kp[kp["track"].notna() & ~kp["filled"] & kp["part"].astype(str).isin(ANKLES)]
    wrong = {True: 0, False: 0}
    n = 0
    for meta in passes:
        way = 1 if meta["direction"] == "right" else -1
        lo, hi = meta["frames"]
        span = a[(a["frame"] >= lo) & (a["frame"] <= hi)]
        if span.empty:
            continue
        # the walker: the track whose ankles travel furthest across the pass
        walker = span.groupby("track")["x"].agg(lambda x: x.max() - x.min()).idxmax()
        for event, side, frame, confidence in meta["events"]:
            rows = span[(span["frame"] == frame) & (span["track"] == walker)]
            if confidence < 0.4 or len(rows) != 2:   # hidden foot, or an ankle not found
                continue
            n += 1
            for as_detected in (True, False):
                label = rows["part"].astype(str)
                if as_detected:
                    label = label.where(~rows["swapped"],
                                        label.map(dict(zip(ANKLES, ANKLES[::-1]))))
                front = label.to_numpy()[np.argmax(way * rows["x"].to_numpy())]
                moving = f"{side}_ankle"
                wrong[as_detected] += (front == moving) != (event == "contact")
    return wrong[True], wrong[False], n


def still_jitter(kp: pd.DataFrame, tracks: pd.DataFrame) -> tuple[float, int]:
    """(mean second difference in pixels, triples) of parts standing still."""
    height = tracks.set_index("track")["box_height"]
    d = kp[kp["track"].notna() & ~kp["filled"]].sort_values(["track", "part_id", "frame"])
    vals = []
    for (track, _), rows in d.groupby(["track", "part_id"]):
        f = rows["frame"].to_numpy()
        xy = rows[["x", "y"]].to_numpy(float)
        sm = rows[["x_smooth", "y_smooth"]].to_numpy(float)
        if len(f) < 3:
            continue
        ok = (f[2:] - f[:-2]) == 2
        speed = np.linalg.norm(sm[2:] - sm[:-2], axis=1) / 2
        still = ok & (speed < 0.005 * height[track])
        second = np.linalg.norm(xy[2:] - 2 * xy[1:-1] + xy[:-2], axis=1)
        vals.append(second[still])
    v = np.concatenate(vals) if vals else np.empty(0)
    return (float(v.mean()) if len(v) else float("nan")), len(v)


def gait(out: Path):
    """The job's gait analysis (posebatch.gait.GaitResult)."""
    from posebatch.engine.config import GaitConfig
    from posebatch.gait import analyse

    return analyse(load(out), GaitConfig())


def gait_legs(kp: pd.DataFrame, angles: pd.DataFrame) -> pd.DataFrame:
    """The keypoints with the legs named as the gait reads them: traded where
    ``angles.legs_traded`` (posebatch.gait.legs)."""
    traded = pd.MultiIndex.from_frame(angles.loc[angles["legs_traded"], ["track", "frame"]])
    at = pd.MultiIndex.from_arrays([kp["track"], kp["frame"]]).isin(traded)
    part = kp["part"].astype(str)
    legs = part.str.match(r"(left|right)_(hip|knee|ankle)$")
    other = part.str.replace("left_", "@").str.replace("right_", "left_").str.replace("@", "right_")
    return kp.assign(part=part.where(~(at & legs.to_numpy()), other))


def measure(video: str, quality: str, out: Path) -> dict:
    """Both runs' figures over the video's walking tracks (those in which the gait analysis
    finds a walking bout: the ones the swaps matter for)."""
    rows = {}
    for refine in ("off", "people"):
        report = run_job(JobSpec(inputs=(video,), out=str(out), quality=quality,
                                 refine=refine, chunk=64), resolve_asset=resolve_asset)
        t = load(out)
        v = t.videos.iloc[0]
        result = gait(out)
        g = result.summary[[c for c in ("track", "bouts", "walking_s", "strides",
                                        "cadence_steps_per_min", "alternation", "reason")
                            if c in result.summary]]
        walking = set(g.loc[g["bouts"].fillna(0) > 0, "track"])
        kp = t.keypoints[t.keypoints["track"].isin(walking)]
        tracks = t.tracks[t.tracks["track"].isin(walking)]
        as_gait = gait_legs(t.keypoints, result.angles)
        raw, minutes = ankle_switches(kp, tracks, as_detected=True)
        fixed, _ = ankle_switches(kp, tracks, as_detected=False)
        legs, _ = ankle_switches(as_gait[as_gait["track"].isin(walking)], tracks,
                                 as_detected=False)
        jitter, n = still_jitter(t.keypoints, t.tracks)
        sides = labelled_sides(t.keypoints, t.tracks, video)
        gait_sides = labelled_sides(as_gait, t.tracks, video)
        manifest = json.loads(report.manifest.read_text())
        row = {"ankle switches (network)": raw, "after tracking": fixed,
               "in the gait's legs": legs,
               "minutes": round(minutes, 3),
               "network switches/min": round(raw / minutes, 1) if minutes else None,
               "tracked switches/min": round(fixed / minutes, 1) if minutes else None,
               "gait legs switches/min": round(legs / minutes, 1) if minutes else None,
               "still jitter px": round(jitter, 3), "still triples": n,
               "labelled events, ankle sides wrong (network, tracked, events)": sides,
               "the same in the gait's legs": gait_sides,
               "refined share": round(float(t.keypoints["refined"].mean()), 3),
               "walking tracks": sorted(walking),
               "gait": g[g["track"].isin(walking)].round(2).to_dict("records")}
        if refine == "off":
            row["first pass ms/frame (actor)"] = round(1000 * v["seconds"] / v["frames"], 1)
        else:
            r = manifest.get("refine", {})
            row.update({"people looked at": r.get("people"), "matched": r.get("matched"),
                        "ms/person (actor)": r.get("ms_per_person")})
        rows[refine] = row
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("videos", nargs="*", default=VIDEOS)
    ap.add_argument("--quality", default="balanced")
    ap.add_argument("--keep", type=Path, help="Keep each video's output folder under here "
                    "(a rerun then reuses its first pass).")
    ap.add_argument("--margin", type=float, help="The second look's margin (default: "
                    "RefineConfig's).")
    ap.add_argument("--max-zoom", type=float, help="The second look's zoom limit.")
    args = ap.parse_args()
    if args.margin is not None or args.max_zoom is not None:
        import dataclasses

        import posebatch.runner.job as job

        settings = {k: v for k, v in (("margin", args.margin), ("max_zoom", args.max_zoom))
                    if v is not None}
        resolve = job.refine_config
        job.refine_config = lambda spec: dataclasses.replace(resolve(spec), **settings)
    results = {}
    for i, video in enumerate(args.videos):
        with tempfile.TemporaryDirectory() as tmp:
            out = args.keep / f"{i}-{args.quality}" if args.keep else Path(tmp)
            results[video] = measure(video, args.quality, out)
        print(json.dumps({video: results[video]}, indent=1, default=str), flush=True)


if __name__ == "__main__":
    main()
