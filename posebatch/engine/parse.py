"""Public face of the Cython PAF parser: checks arrays, then groups peaks into people."""
from __future__ import annotations

import numpy as np

from . import _paf
from .config import ParserConfig
from ..errors import InputShapeError
from .layout import KeypointLayout
from .postprocess import Maps


def _check(name: str, a: np.ndarray, rows: int, cols: int, min_channels: int,
           coarser: bool = False) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.ndim != 3:
        raise InputShapeError(f"{name}: expected an array of shape (H, W, C), got "
                              f"{getattr(a, 'shape', type(a).__name__)}")
    same = a.shape[0] == rows and a.shape[1] == cols
    smaller = coarser and 1 <= a.shape[0] <= rows and 1 <= a.shape[1] <= cols
    if not (same or smaller) or a.shape[2] < min_channels:
        size = f"({rows}, {cols}" + (" or smaller" if coarser else "")
        raise InputShapeError(f"{name}: expected shape {size}, >={min_channels}), "
                              f"got {a.shape}")
    if a.dtype != np.float32:
        raise InputShapeError(f"{name}: expected dtype float32, got {a.dtype}")
    return np.ascontiguousarray(a)


def parse_people(peaks: np.ndarray, heat: np.ndarray, paf: np.ndarray,
                 layout: KeypointLayout, config: ParserConfig = ParserConfig(),
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Join peaks into people along the layout's limbs.

    peaks: (H, W, >= n_parts) float32, the smoothed confidence at local maxima, 0 elsewhere.
    heat: (H, W, >= n_parts) float32, the (unsmoothed) confidence read as each part's score.
    paf: (H, W, 2 * n_limbs) float32.
    ``heat`` and ``paf`` may instead be the network's coarser (h, w) output: the parser then
    samples them where it reads them, exactly as the legacy upsampling to (H, W) would, so
    nobody has to upsample 57 channels of which it reads a few hundred cells.
    Returns keypoints (n, n_parts, 3) float32 holding (column, row, score) in map cells, with
    NaN, NaN, 0 for parts not found, and person scores (n,) float32. The kernel releases the
    GIL and keeps no state between calls.
    """
    if peaks is None or getattr(peaks, "ndim", 0) != 3:
        raise InputShapeError(f"peaks: expected an array of shape (H, W, C), got "
                              f"{getattr(peaks, 'shape', type(peaks).__name__)}")
    rows, cols = peaks.shape[:2]
    peaks = _check("peaks", peaks, rows, cols, layout.n_parts)
    heat = _check("heat", heat, rows, cols, layout.n_parts, coarser=True)
    paf = _check("paf", paf, rows, cols, layout.n_pafs, coarser=True)
    return _paf.parse(
        peaks, heat, paf, layout.limbs_array(), layout.limb_paf_array(), layout.n_parts,
        layout.seed_limbs, config.heat_thresh, config.paf_score_thresh, config.paf_count_thresh,
        config.paf_steps, config.min_parts, config.min_person_score,
    )


def parse_maps(maps: Maps, layout: KeypointLayout, config: ParserConfig = ParserConfig(),
               ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_people` on the output of :func:`posebatch.engine.postprocess.postprocess`."""
    return parse_people(maps.peaks, maps.heat, maps.paf, layout, config)
