"""Test-time augmentation: the network also sees the mirrored frame and other input scales, and
their outputs are averaged on the grid of the first scale, so the rest of the pipeline (peaks,
parser, coordinates) runs unchanged on one (h, w, C) output.

Alignment: output cell j of a network input W pixels wide covers input pixels [8j, 8j + 8),
i.e. the fraction [(j)/w, (j + 1)/w) of the frame's width whatever the input size, so outputs of
different scales line up under half-pixel-centre resizing (``cv2.INTER_LINEAR``), and the
mirrored input's cell j is the original's cell w - 1 - j exactly.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .config import PoseConfig
from .layout import KeypointLayout, flip_index
from .preprocess import input_size


def scaled_config_size(frame_w: int, frame_h: int, config: PoseConfig, scale: float
                       ) -> tuple[int, int]:
    """Network input (width, height) for one of ``config.scales``: the preprocessing mode's
    size for the reference size scaled, each side a multiple of 8."""
    w = max(16, int(round(config.net_width * scale / 8.0)) * 8)
    h = max(16, int(round(config.net_height * scale / 8.0)) * 8)
    return input_size(frame_w, frame_h, config.preprocess, w, h)


@lru_cache(maxsize=8)
def _flip_channels(layout: KeypointLayout) -> tuple[np.ndarray, np.ndarray]:
    """(source channel, sign) per output channel of a mirrored output: part maps take their
    mirror part's map (the background its own); a limb's PAF takes its mirror limb's field
    with x negated (both components when the mirror limb is listed the other way round)."""
    fi = flip_index(layout)
    src = list(fi) + list(range(layout.n_parts, layout.n_heatmaps))
    sign = [1.0] * layout.n_heatmaps
    paf_src = [0] * layout.n_pafs
    paf_sign = [1.0] * layout.n_pafs
    index = {limb: i for i, limb in enumerate(layout.limbs)}
    for i, (a, b) in enumerate(layout.limbs):
        ma, mb = int(fi[a]), int(fi[b])
        if (ma, mb) in index:
            m, reverse = index[(ma, mb)], 1.0
        elif (mb, ma) in index:
            m, reverse = index[(mb, ma)], -1.0
        else:
            raise ValueError(f"layout {layout.name}: limb {a}-{b} has no mirror limb, so a "
                             "mirrored frame cannot be used (flip)")
        (x, y), (mx, my) = layout.limb_paf[i], layout.limb_paf[m]
        paf_src[x], paf_sign[x] = mx, -reverse
        paf_src[y], paf_sign[y] = my, reverse
    src += [layout.n_heatmaps + c for c in paf_src]
    sign += paf_sign
    return np.asarray(src, np.intp), np.asarray(sign, np.float32)


def unflip(out: np.ndarray, layout: KeypointLayout) -> np.ndarray:
    """The output of a mirrored frame, (h, w, C), mirrored back into the frame's own terms:
    columns reversed, left and right parts and limbs exchanged, PAF x components negated."""
    src, sign = _flip_channels(layout)
    return out[:, ::-1, src] * sign


def combine(outputs: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Mean of (h_i, w_i, C) outputs resized to ``shape`` = (h, w) (half-pixel centres)."""
    h, w = shape
    acc = np.zeros((h, w, outputs[0].shape[2]), np.float32)
    for o in outputs:
        if o.shape[:2] != (h, w):
            o = cv2.resize(np.ascontiguousarray(o), (w, h), interpolation=cv2.INTER_LINEAR
                           ).reshape(h, w, -1)
        acc += o
    acc /= len(outputs)
    return acc
