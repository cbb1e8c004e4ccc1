"""Drawing: (frame, people) -> a new frame. Never runs inference, never mutates its input.

People are given as keypoints (n, n_parts, 3) = x, y in pixels, score (NaN x/y or score 0 for
parts not found), exactly what :class:`~posebatch.engine.estimator.PoseResult` and the keypoints table
hold.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..engine.layout import KeypointLayout


def _points(kp: np.ndarray) -> list[tuple[int, int] | None]:
    return [None if not (p[2] > 0 and np.isfinite(p[0]) and np.isfinite(p[1]))
            else (int(round(float(p[0]))), int(round(float(p[1])))) for p in kp]


def draw_people(frame: np.ndarray, keypoints: np.ndarray, layout: KeypointLayout,
                thickness: int | None = None) -> np.ndarray:
    """Draw every person's limbs and parts in the OpenPose colours on a copy of ``frame``."""
    out = frame.copy()
    if thickness is None:
        thickness = max(2, round(max(frame.shape[:2]) / 300))
    colors = layout.colors_bgr()
    for person in keypoints:
        pts = _points(person)
        for i, (a, b) in enumerate(layout.limbs[: layout.draw_limbs]):
            if pts[a] is not None and pts[b] is not None:
                cv2.line(out, pts[a], pts[b], colors[i], thickness, cv2.LINE_AA)
        for i, p in enumerate(pts):
            if p is not None:
                cv2.circle(out, p, thickness + 1, colors[i], -1, cv2.LINE_AA)
    return out


def _label(img: np.ndarray, text: str, at: tuple[int, int]) -> None:
    """White text with a dark outline, readable on any background, centred on ``at``."""
    scale = max(0.5, max(img.shape[:2]) / 1200)
    width = max(1, round(2 * scale))
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, width)
    org = (int(np.clip(at[0] - w // 2, 0, img.shape[1] - w)), int(max(at[1], h + 2)))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), width + 3,
                cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), width,
                cv2.LINE_AA)


def skeleton_only(frame_shape: tuple[int, ...], keypoints: np.ndarray,
                  layout: KeypointLayout) -> np.ndarray:
    """The skeletons on a black frame of the given (h, w[, 3]) shape."""
    black = np.zeros((frame_shape[0], frame_shape[1], 3), np.uint8)
    return draw_people(black, keypoints, layout)


def colorize(field: np.ndarray, size: tuple[int, int], signed: bool = False) -> np.ndarray:
    """A 2-D map as a colour image of ``size`` (w, h): [0, 1] (or [-1, 1] when signed) -> JET."""
    f = (field + 1.0) / 2.0 if signed else field
    img = np.clip(f * 255.0, 0, 255).astype(np.uint8)
    img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    return cv2.applyColorMap(img, cv2.COLORMAP_JET)


def _titled(img: np.ndarray, title: str) -> np.ndarray:
    out = img.copy()
    scale = max(0.5, img.shape[1] / 800)
    cv2.putText(out, title, (10, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
    return out


def panels(frame: np.ndarray, keypoints: np.ndarray, heat: np.ndarray, paf: np.ndarray,
           layout: KeypointLayout) -> np.ndarray:
    """A 2x2 study figure: result, heatmap maximum over parts, PAF x and PAF y.

    The PAF panels show, per cell, the limb component of largest magnitude (sign kept), so
    arms pointing left and right appear in different colours.
    """
    h, w = frame.shape[:2]
    heat_max = heat[..., : layout.n_parts].max(axis=2)

    def strongest(ch: np.ndarray) -> np.ndarray:
        idx = np.abs(ch).argmax(axis=2)
        return np.take_along_axis(ch, idx[..., None], axis=2)[..., 0]

    tiles = [
        _titled(draw_people(frame, keypoints, layout), "result"),
        _titled(cv2.addWeighted(frame, 0.4, colorize(heat_max, (w, h)), 0.6, 0), "heatmap max"),
        _titled(colorize(strongest(paf[..., 0::2]), (w, h), signed=True), "PAF x"),
        _titled(colorize(strongest(paf[..., 1::2]), (w, h), signed=True), "PAF y"),
    ]
    return np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])


def track_color(track: int) -> tuple[int, int, int]:
    """A distinct BGR colour per track id (hues spaced by the golden ratio)."""
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((track * 0.618034) % 1.0, 0.85, 1.0)
    return (round(b * 255), round(g * 255), round(r * 255))


def draw_tracked(frame: np.ndarray, keypoints: np.ndarray, tracks: np.ndarray,
                 layout: KeypointLayout, thickness: int | None = None) -> np.ndarray:
    """Draw people on a copy of ``frame``: a tracked person (``tracks[i] >= 0``) all in their
    track's colour with the id beside the head, an untracked one in the OpenPose colours;
    joints fade towards the background as their score drops (score 1: solid)."""
    out = frame.copy()
    if thickness is None:
        thickness = max(2, round(max(frame.shape[:2]) / 300))
    limb_colors = layout.colors_bgr()
    for person, track in zip(keypoints, tracks):
        pts = _points(person)
        own = track_color(int(track)) if track >= 0 else None
        for i, (a, b) in enumerate(layout.limbs[: layout.draw_limbs]):
            if pts[a] is not None and pts[b] is not None:
                cv2.line(out, pts[a], pts[b], own or limb_colors[i], thickness, cv2.LINE_AA)
        for i, p in enumerate(pts):
            if p is None:
                continue
            alpha = float(np.clip(person[i, 2], 0.25, 1.0))
            y, x = min(max(p[1], 0), frame.shape[0] - 1), min(max(p[0], 0), frame.shape[1] - 1)
            bg = frame[y, x].astype(np.float64)
            color = np.array(own or limb_colors[i], np.float64) * alpha + bg * (1 - alpha)
            cv2.circle(out, p, thickness + 1, tuple(int(c) for c in color), -1, cv2.LINE_AA)
        found = [p for p in pts if p is not None]
        if track >= 0 and found:
            top = min(found, key=lambda q: q[1])
            _label(out, str(int(track)), (top[0], top[1] - 4 * thickness))
    return out


def caption(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """``lines`` of text at the top left of a copy of ``frame``, readable on any background."""
    out = frame.copy()
    scale = max(0.4, frame.shape[0] / 800)
    width = max(1, round(2 * scale))
    step = int(30 * scale) + 6
    for i, text in enumerate(lines):
        org = (8, step * (i + 1))
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), width + 3,
                    cv2.LINE_AA)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), width,
                    cv2.LINE_AA)
    return out
