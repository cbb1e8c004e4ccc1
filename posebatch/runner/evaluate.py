"""COCO keypoint results and evaluation with pycocotools (its COCOeval is the reference AP)."""
from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np

from ..engine.layout import KeypointLayout

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def to_coco(image_id: int, keypoints: np.ndarray, scores: np.ndarray,
            layout: KeypointLayout) -> list[dict]:
    """One COCO result per person: 17 (x, y, v) triplets in COCO order, rounded to pixels like
    the reference evaluation; v = 1 for found parts, missing parts are (0, 0, 0)."""
    out = []
    for kp, score in zip(keypoints, scores):
        flat: list[float] = []
        for part in layout.coco17:
            x, y, s = kp[part]
            flat += [float(round(x)), float(round(y)), 1.0] if s > 0 else [0.0, 0.0, 0.0]
        out.append({"image_id": int(image_id), "category_id": 1, "keypoints": flat,
                    "score": float(score)})
    return out


def image_id_from_name(path: Path, fallback: int) -> int:
    """COCO file names carry the id (000000000785.jpg -> 785); others get ``fallback``."""
    digits = re.findall(r"\d+", Path(path).stem)
    return int(digits[-1]) if digits else fallback


def evaluate(gt_json: Path, results: list[dict]) -> dict[str, float]:
    """COCOeval (iouType 'keypoints') over the images that have results; returns its stats."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_json))
        if not results:
            return {k: 0.0 for k in STAT_NAMES}
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {k: float(v) for k, v in zip(STAT_NAMES, ev.stats)}


def gt_images(gt_json: Path) -> list[tuple[int, str]]:
    """(image id, file name) of every image in a COCO annotation file."""
    data = json.loads(Path(gt_json).read_text())
    return [(im["id"], im["file_name"]) for im in data["images"]]
