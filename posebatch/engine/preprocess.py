"""Frame to network input: resize and convert to float32, BGR, no scaling (as trained)."""
from __future__ import annotations

import cv2
import numpy as np

from .config import PoseConfig, Preprocess
from ..errors import InputShapeError


def network_size(frame_w: int, frame_h: int, config: PoseConfig) -> tuple[int, int]:
    """Network input (width, height) for a frame.

    Reference mode: the fixed size (432x368 by default), stretching the frame. Aspect mode: the
    configured height, width from the frame's aspect rounded to a multiple of 8. Area mode:
    about net_width x net_height pixels at the frame's aspect, each side a multiple of 8.
    """
    return input_size(frame_w, frame_h, config.preprocess, config.net_width, config.net_height)


def input_size(frame_w: int, frame_h: int, mode: Preprocess, net_w: int, net_h: int
               ) -> tuple[int, int]:
    """:func:`network_size` for a mode and a reference size (net_w, net_h)."""
    if mode is Preprocess.REFERENCE:
        return net_w, net_h
    if mode is Preprocess.AREA:
        h = max(16, int(round((net_w * net_h * frame_h / frame_w) ** 0.5 / 8.0)) * 8)
    else:
        h = net_h
    return max(8, int(round(frame_w * h / frame_h / 8.0)) * 8), h


def check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        raise InputShapeError(f"expected a BGR frame of shape (h, w, 3), got "
                              f"{getattr(frame, 'shape', type(frame).__name__)}")
    if frame.dtype != np.uint8:
        raise InputShapeError(f"expected a uint8 BGR frame, got dtype {frame.dtype}")


def preprocess(frame: np.ndarray, config: PoseConfig, size: tuple[int, int] | None = None
               ) -> np.ndarray:
    """(h, w, 3) uint8 BGR -> (H, W, 3) float32 network input, resized with cubic interpolation
    to ``size`` (width, height), by default :func:`network_size`."""
    check_frame(frame)
    w, h = size or network_size(frame.shape[1], frame.shape[0], config)
    resized = cv2.resize(frame, (w, h), interpolation=cv2.INTER_CUBIC)
    return resized.astype(np.float32)
