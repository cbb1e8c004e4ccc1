"""OpenPose's output format: one ``NAME_000000000000_keypoints.json`` per frame with
``people[].pose_keypoints_2d`` = x, y, confidence for each of the 18 parts in OpenPose's COCO
order (ours), 0, 0, 0 for a part not found; ``person_id`` is the track (-1: untracked). Pose2Sim
reads these folders (one per camera) for person association and triangulation. Every frame
has its file, also frames without people or that failed to decode; their status is in an extra
``posebatch`` key readers ignore."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..storage.atomic import atomic_write_bytes
from ..engine.poses import Poses

_EMPTY = ("face_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d",
          "pose_keypoints_3d", "face_keypoints_3d", "hand_left_keypoints_3d",
          "hand_right_keypoints_3d")


def frame_people(rows, layout) -> list[dict]:
    """The OpenPose ``people`` list of one frame's detections (keypoints table rows); a part
    not found is 0, 0, 0 as OpenPose writes it."""
    poses = Poses.from_rows(rows, layout)
    track = rows.groupby("person", sort=True)["track"].first()
    people = []
    for kp, person in zip(poses.keypoints, poses.ids):
        flat = np.nan_to_num(kp.astype(np.float64), nan=0.0)
        t = track.get(person)
        people.append({"person_id": [int(t) if t == t and t is not None else -1],
                       "pose_keypoints_2d": [round(float(v), 3) for v in flat.ravel()],
                       **{k: [] for k in _EMPTY}})
    return people


def write(vt, folder: Path) -> tuple[list[Path], int, int]:
    d = folder / vt.stem
    d.mkdir(parents=True, exist_ok=True)
    kp = vt.keypoints[~vt.keypoints["filled"] & vt.keypoints["person"].notna()]
    by_frame = {f: g for f, g in kp.groupby("frame", sort=False)}
    files, people = [], 0
    for f in vt.frames.itertuples(index=False):
        rows = by_frame.get(f.frame)
        found = frame_people(rows, vt.layout) if rows is not None else []
        people += len(found)
        doc = {"version": 1.3, "people": found,
               "posebatch": {"video": str(vt.row["video"]), "frame": int(f.frame),
                             "time": None if f.time != f.time else float(f.time),
                             "status": str(f.status)}}
        p = d / f"{vt.stem}_{int(f.frame):012d}_keypoints.json"
        atomic_write_bytes(p, json.dumps(doc).encode())
        files.append(p)
    return files, len(files), people
