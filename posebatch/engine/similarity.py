"""How alike two poses are: an OKS-like keypoint similarity scaled by the person's height.

The tracker matches detections to tracks with it, and the second look keeps the person of
the crop that matches the first pass; one definition, so both agree on what "the same person"
means.
"""
from __future__ import annotations

import numpy as np

from .layout import KeypointLayout

_MIN_COMMON = 3          # similarity is averaged over at least this many parts
_MIN_HEIGHT = 16.0       # pixels: the scale of a person never drops below this


def part_tolerance(layout: KeypointLayout) -> np.ndarray:
    """(P,) tolerance per part as a fraction of the person's height: 2 x COCO's sigma (the
    OKS kappa), with the person's height standing in for COCO's sqrt(area)."""
    return 2 * layout.part_sigmas()


def person_height(kp: np.ndarray) -> float:
    """Height in pixels of the box around the found parts (people stand up: steadier than
    the width, which changes as they turn)."""
    y = kp[kp[:, 2] > 0, 1]
    return max(float(y.max() - y.min()), _MIN_HEIGHT) if len(y) else _MIN_HEIGHT


def similarity(pred: np.ndarray, found_pred: np.ndarray, seen: np.ndarray,
               height: np.ndarray, det: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """(T, D) OKS-like similarity in [0, 1] of T tracks' predicted keypoints ``pred``
    (T, P, 2) and D detections ``det`` (D, P, 3): per common part exp(-d^2 / (2 (tol *
    height)^2)), summed and divided by the parts in the track's last detection (``seen``,
    (T, P)) or the detection (at least _MIN_COMMON), so a fragment of a person (the parser
    sometimes splits one in two) scores below the whole person. ``found_pred`` (T, P): parts
    the track can predict; ``height`` (T,) pixels; ``tol`` (P,) fractions of the height."""
    found_det = det[..., 2] > 0
    common = found_pred[:, None] & found_det[None]
    d2 = ((pred[:, None] - det[None, :, :, :2]) ** 2).sum(-1)
    scale = 2 * (tol[None, None] * height[:, None, None]) ** 2
    e = np.exp(-np.where(common, d2, 0.0) / scale) * common
    parts = (seen[:, None] | found_det[None]).sum(-1)
    return e.sum(-1) / np.maximum(parts, _MIN_COMMON)
