"""Joint and segment angles per frame from one track's wide keypoints (``tables.wide``).

Sagittal-plane conventions, in degrees, for a walker seen side-on. ``direction`` (+1: the
walker moves towards the image's right, -1: left) turns image coordinates into forward (X)
and up (Y), so the signs do not depend on which way the person walks:

- knee flexion: 0 with the leg straight, positive as the shank folds back behind the thigh;
- hip flexion: the thigh against the trunk's downward line, positive with the knee in front;
- elbow flexion: 0 with the arm straight, positive as the forearm comes forward;
- shoulder flexion: the upper arm against the trunk's downward line, positive forward;
- trunk lean: the trunk (mid-hip to neck) from the vertical, positive leaning forward.

Segment angles follow Sports2D: each segment from its proximal to its distal point (thigh:
hip to knee, shank: knee to ankle, trunk: mid-hip to neck), anticlockwise from the image's
horizontal pointing right, with y up, in (-180, 180]; they do not depend on the direction.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

SIDES = ("left", "right")

# Eyes sit at about 0.936 and ankles at 0.039 of a standing person's height (Drillis and
# Contini's segment proportions): eye-to-ankle is about 0.897 of the stature.
_EYE_TO_ANKLE = 0.897
_NECK_TO_ANKLE = 0.779


def xy(wide: pd.DataFrame, part: str) -> np.ndarray:
    """(T, 2) a part's x, y per frame (NaN where not found)."""
    return wide[[f"{part}_x", f"{part}_y"]].to_numpy(np.float64)


def mid_hip(wide: pd.DataFrame) -> np.ndarray:
    """(T, 2) the mean of the two hips, or the one found (NaN when neither is)."""
    left, right = xy(wide, "left_hip"), xy(wide, "right_hip")
    return np.where(np.isnan(left), right, np.where(np.isnan(right), left, (left + right) / 2))


def _signed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) that turns vector ``a`` into ``b``, anticlockwise positive."""
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = (a * b).sum(1)
    return np.degrees(np.arctan2(cross, dot))


def joint_angles(wide: pd.DataFrame, direction: np.ndarray | int) -> pd.DataFrame:
    """Angles per frame (rows of ``wide``, same index). ``direction``: +1 / -1 per frame or
    for all. Columns: ``{side}_knee_flexion``, ``{side}_hip_flexion``,
    ``{side}_elbow_flexion``, ``{side}_shoulder_flexion``, ``trunk_lean``, and the segment
    angles ``{side}_thigh``, ``{side}_shank``, ``trunk``. NaN where a point is missing."""
    with np.errstate(invalid="ignore"):
        d = np.broadcast_to(np.asarray(direction, np.float64), (len(wide),))[:, None]

        def sag(p: np.ndarray) -> np.ndarray:      # image -> forward, up
            return np.stack([p[:, 0], -p[:, 1]], 1) * np.concatenate([d, np.ones_like(d)], 1)

        hip_c, neck = mid_hip(wide), xy(wide, "neck")
        trunk_down = sag(hip_c) - sag(neck)
        out = {}
        for side in SIDES:
            hip, knee, ankle = (sag(xy(wide, f"{side}_{p}")) for p in ("hip", "knee", "ankle"))
            sh, el, wr = (sag(xy(wide, f"{side}_{p}")) for p in ("shoulder", "elbow", "wrist"))
            thigh, shank = knee - hip, ankle - knee
            upper, fore = el - sh, wr - el
            out[f"{side}_knee_flexion"] = -_signed(thigh, shank)
            out[f"{side}_hip_flexion"] = _signed(trunk_down, thigh)
            out[f"{side}_elbow_flexion"] = _signed(upper, fore)
            out[f"{side}_shoulder_flexion"] = _signed(trunk_down, upper)
        trunk_up = -trunk_down
        out["trunk_lean"] = np.degrees(np.arctan2(trunk_up[:, 0], trunk_up[:, 1]))
        for side in SIDES:
            hip, knee, ankle = (xy(wide, f"{side}_{p}") for p in ("hip", "knee", "ankle"))
            out[f"{side}_thigh"] = _segment(hip, knee)
            out[f"{side}_shank"] = _segment(knee, ankle)
        out["trunk"] = _segment(hip_c, neck)
    return pd.DataFrame(out, index=wide.index)


def _segment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Anticlockwise angle from the horizontal of the segment a -> b, y up (image y down)."""
    v = b - a
    return np.degrees(np.arctan2(-v[:, 1], v[:, 0]))


def body_height(w: pd.DataFrame) -> np.ndarray:
    """(T,) the person's apparent stature per frame in pixels: eyes (or nose) to ankles over
    0.897 of the stature, or, where the head is not found, neck to ankles over 0.779 (Drillis
    and Contini's proportions: eyes 0.936, neck (the shoulders' level) 0.818, ankles 0.039)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # frames with none of them: NaN
        top = np.nanmean(np.stack([w["left_eye_y"], w["right_eye_y"], w["nose_y"]]), 0)
        bottom = np.nanmean(np.stack([w["left_ankle_y"], w["right_ankle_y"]]), 0)
    by_head = (bottom - top) / _EYE_TO_ANKLE
    by_neck = (bottom - w["neck_y"].to_numpy(np.float64)) / _NECK_TO_ANKLE
    return np.where(np.isfinite(by_head), by_head, by_neck)
