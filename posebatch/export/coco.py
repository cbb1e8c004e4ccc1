"""COCO keypoint results for video: ``NAME.results.json`` holds one result per detected person
and frame (17 COCO keypoints, ``image_id`` = the frame index, the person score), and
``NAME.images.json`` a COCO dataset header naming each frame as an image (id, size, time), so
pycocotools' ``COCO.loadRes`` loads the results against it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..engine.poses import Poses
from ..runner.evaluate import to_coco
from ..storage.atomic import atomic_write_bytes
from ..errors import ConfigError

# COCO's person category: its keypoint names (our part names in COCO order) and skeleton.
SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
            [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6],
            [5, 7]]


def category(layout) -> dict:
    return {"id": 1, "name": "person", "supercategory": "person",
            "keypoints": [layout.parts[i] for i in layout.coco17], "skeleton": SKELETON}


def write(vt, folder: Path) -> tuple[list[Path], int, int]:
    if not vt.layout.coco17:
        raise ConfigError(f"the job's keypoint layout {vt.layout.name} has no COCO keypoints; "
                          "export it as openpose, csv or trc")
    folder.mkdir(parents=True, exist_ok=True)
    kp = vt.keypoints
    scores = {(int(p.frame), int(p.person)): float(p.score)
              for p in vt.people.itertuples(index=False)}
    w, h = int(vt.row["width"]), int(vt.row["height"])
    images, results = [], []
    for f in vt.frames.itertuples(index=False):
        images.append({"id": int(f.frame), "file_name": f"{vt.row['video']}#{int(f.frame)}",
                       "width": w, "height": h, "frame": int(f.frame),
                       "time": None if f.time != f.time else float(f.time),
                       "status": str(f.status)})
    for frame, rows in kp[~kp["filled"] & kp["person"].notna()].groupby("frame"):
        people = Poses.from_rows(rows, vt.layout)        # left/right corrected
        results += to_coco(int(frame), people.keypoints,
                           np.array([scores.get((int(frame), int(p)), 0.0) for p in people.ids]),
                           vt.layout)
    header = {"info": {"description": f"frames of {vt.row['video']} (posebatch export)"},
              "images": images, "annotations": [], "categories": [category(vt.layout)]}
    a, b = folder / f"{vt.stem}.results.json", folder / f"{vt.stem}.images.json"
    atomic_write_bytes(a, json.dumps(results).encode())
    atomic_write_bytes(b, json.dumps(header).encode())
    return [a, b], len(images), len(results)
