"""Frame in, people out: preprocess -> network -> post-process -> parse -> pixel coordinates."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .augment import combine, scaled_config_size, unflip
from .config import Coords, PersonScore, PoseConfig, RuntimeConfig
from ..errors import ConfigError
from ..models.fetch import cached_model, ensure_model
from .infer import open_runner
from .layout import KeypointLayout, get_layout
from ..models.manifest import ModelSpec, get_model
from .parse import parse_maps, parse_people
from .postprocess import (Maps, find_peaks_refined, map_shape, postprocess, smooth, split,
                          subpixel_offsets)
from .preprocess import check_frame, preprocess
from .quality import Quality, resolve

# Network output cells are 8x8 input pixels; a cell's centre is input pixel 3.5 past its
# corner (pixel indices, integers at pixel centres).
_STRIDE = 8
_CELL_CENTRE = (_STRIDE - 1) / 2.0


@dataclass(frozen=True)
class PoseResult:
    """The people found in one frame.

    keypoints: (n, n_parts, 3) float32: x, y in pixels of the original frame, and the part's
        confidence; parts not found are NaN, NaN, 0.
    scores: (n,) float32 person scores (mean of part and limb scores, as OpenPose).
    image_size: (width, height) of the frame.
    map_size: (width, height) of the upsampled maps the peaks were found on.
    maps: the parser's inputs, kept only when asked for (``keep_maps=True``).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    map_size: tuple[int, int]
    net_size: tuple[int, int]
    layout: KeypointLayout
    coords: Coords = Coords.CENTER
    maps: Maps | None = None

    @property
    def n_people(self) -> int:
        return int(self.keypoints.shape[0])

    def cells(self) -> np.ndarray:
        """Keypoints back in map cells (n, n_parts, 2), NaN where missing."""
        return pixels_to_cells(self.keypoints[..., :2], self.map_size, self.net_size,
                               self.image_size, self.coords)


def _affine(map_size, net_size, image_size, coords: Coords) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset) per axis with pixel = cell * scale + offset."""
    m = np.asarray(map_size, np.float64)
    n = np.asarray(net_size, np.float64)
    im = np.asarray(image_size, np.float64)
    if coords is Coords.TFPOSE:
        return im / m, np.zeros(2)
    # map cell c samples network output position c * n / (8 m) (legacy bilinear upsampling),
    # whose receptive cell is centred on input pixel 8 * that + 3.5; input pixel p is image
    # pixel (p + 0.5) * image / net - 0.5.
    scale = (n / m) * im / n
    offset = (_CELL_CENTRE + 0.5) * im / n - 0.5
    return scale, offset


def cells_to_pixels(kp_cells: np.ndarray, map_size: tuple[int, int], net_size: tuple[int, int],
                    image_size: tuple[int, int], coords: Coords = Coords.CENTER) -> np.ndarray:
    """(n, P, 3) (col, row, score) in map cells -> (n, P, 3) (x, y, score) in image pixels."""
    scale, offset = _affine(map_size, net_size, image_size, coords)
    out = kp_cells.astype(np.float32, copy=True)
    out[..., :2] = (kp_cells[..., :2] * scale + offset).astype(np.float32)
    return out


def pixels_to_cells(xy: np.ndarray, map_size, net_size, image_size,
                    coords: Coords = Coords.CENTER) -> np.ndarray:
    scale, offset = _affine(map_size, net_size, image_size, coords)
    return (xy - offset) / scale


def person_scores(kp: np.ndarray, scores: np.ndarray, layout: KeypointLayout,
                  how: PersonScore) -> np.ndarray:
    """The parser's person scores, or those re-weighted as ``how`` says (config.PersonScore)."""
    if how is PersonScore.PARTS:
        return (scores * (kp[..., 2] > 0).sum(axis=1) / layout.n_parts).astype(np.float32)
    return scores


def result_from_network_output(net_out: np.ndarray, image_size: tuple[int, int],
                               layout: KeypointLayout, config: PoseConfig = PoseConfig(),
                               keep_maps: bool = False) -> PoseResult:
    """Everything after the network, as a pure function of its (h, w, C) output.

    Unless the maps are asked for, they are never built whole: peaks are found only near hot
    cells and the parser samples heat and PAFs from the network output where it reads them;
    the people are the same, bit for bit (tests/test_postprocess.py). With
    ``config.subpixel`` each keypoint then moves to the top of a parabola fitted through its
    peak's smoothed neighbours (postprocess.subpixel_offsets)."""
    if keep_maps:
        maps = postprocess(net_out, layout, config.upsample, config.smooth_size,
                           config.smooth_sigma)
        kp, scores = parse_maps(maps, layout, config.parser)
        if config.subpixel:
            kp = _refine_whole(kp, maps, layout, config)
    else:
        maps = None
        net = np.ascontiguousarray(net_out, dtype=np.float32)
        peaks, offsets = find_peaks_refined(net, layout, config.upsample,
                                            config.parser.heat_thresh, config.smooth_size,
                                            config.smooth_sigma, refine=config.subpixel)
        heat, paf = split(net, layout)
        kp, scores = parse_people(peaks, heat, paf, layout, config.parser)
        if offsets is not None:
            kp = offsets.apply(kp)
    scores = person_scores(kp, scores, layout, config.person_score)
    rows, cols = map_shape(net_out.shape[0], net_out.shape[1], config.upsample)
    map_size = (cols, rows)
    net_size = (net_out.shape[1] * _STRIDE, net_out.shape[0] * _STRIDE)
    return PoseResult(keypoints=cells_to_pixels(kp, map_size, net_size, image_size,
                                                config.coords),
                      scores=scores, image_size=image_size, map_size=map_size, net_size=net_size,
                      layout=layout, coords=config.coords, maps=maps)


def _refine_whole(kp: np.ndarray, maps: Maps, layout: KeypointLayout, config: PoseConfig
                  ) -> np.ndarray:
    """Sub-cell refinement from the whole smoothed maps (the ``keep_maps`` path)."""
    person, part = np.nonzero(kp[..., 2] > 0)
    out = kp.copy()
    if len(person):
        smoothed = smooth(maps.heat[..., :layout.n_parts], config.smooth_size,
                          config.smooth_sigma)
        ys = kp[person, part, 1].astype(np.intp)
        xs = kp[person, part, 0].astype(np.intp)
        out[person, part, :2] += subpixel_offsets(smoothed, ys, xs, part)
    return out


class Estimator:
    """A loaded model plus settings. ``estimate(frame_bgr)`` returns a :class:`PoseResult`.

    >>> est = Estimator()                       # mobilenet_thin, quality "balanced"
    >>> result = est.estimate(cv2.imread("ski.jpg"))
    >>> result.keypoints.shape                  # (people, 18, 3)
    """

    def __init__(self, model: str | ModelSpec = "mobilenet_thin",
                 config: PoseConfig | None = None, runtime: RuntimeConfig = RuntimeConfig(),
                 fetch: bool = True, quality: Quality | str | None = None):
        """``config`` gives every setting; without it, the ``quality`` preset's (default
        balanced) for this model."""
        self.spec = model if isinstance(model, ModelSpec) else get_model(model)
        if config is None:
            config = resolve(quality, self.spec.name, self.spec.input_size)
        elif quality is not None:
            raise ConfigError("give a quality preset or a PoseConfig, not both")
        if config.model != self.spec.name:
            raise ConfigError(f"config names model {config.model!r} but the estimator loads "
                              f"{self.spec.name!r}")
        self.config = config
        self.layout = get_layout(self.spec.layout)
        path: Path = (ensure_model(self.spec.name)[1] if fetch else cached_model(self.spec))
        self.runner = open_runner(path, self.spec.input, self.spec.output,
                                  self.layout.n_heatmaps + self.layout.n_pafs, runtime,
                                  config.precision, config.runtime)

    @property
    def augmented(self) -> bool:
        """True when a frame takes more than one network run (flip or several scales)."""
        return self.config.flip or len(self.config.scales) > 1

    def network(self, frame: np.ndarray) -> np.ndarray:
        """The (h, w, C) network output for one BGR frame (with flip or several scales, their
        average on the first scale's grid: posebatch.engine.augment)."""
        return self._run(self.prepare(frame))

    def prepare(self, frame: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        """The network's input for one BGR frame (checked), one per scale when there are
        several: the part of :meth:`estimate` a decoding thread can do while the network runs
        on the previous frame."""
        check_frame(frame)
        if len(self.config.scales) == 1:
            return preprocess(frame, self.config)
        h, w = frame.shape[:2]
        return tuple(preprocess(frame, self.config, scaled_config_size(w, h, self.config, s))
                     for s in self.config.scales)

    def _run(self, prepared: np.ndarray | tuple[np.ndarray, ...]) -> np.ndarray:
        inputs = prepared if isinstance(prepared, tuple) else (prepared,)
        outs = []
        for x in inputs:
            if self.config.flip:     # the mirrored frame in the same batch
                o, m = self.runner.run(np.stack([x, x[:, ::-1]]))
                outs.append((o + unflip(m, self.layout)) * np.float32(0.5))
            else:
                outs.append(self.runner.run(x[None])[0])
        return outs[0] if len(outs) == 1 else combine(outs, outs[0].shape[:2])

    def estimate_prepared(self, net_input: np.ndarray | tuple[np.ndarray, ...],
                          image_size: tuple[int, int]) -> PoseResult:
        """:meth:`estimate` from :meth:`prepare`'s output and the frame's (width, height)."""
        return result_from_network_output(self._run(net_input), image_size, self.layout,
                                          self.config)

    def estimate(self, frame: np.ndarray, keep_maps: bool = False) -> PoseResult:
        check_frame(frame)
        net = self.network(frame)
        return result_from_network_output(net, (frame.shape[1], frame.shape[0]), self.layout,
                                          self.config, keep_maps)

    def estimate_batch(self, frames: list[np.ndarray]) -> list[PoseResult]:
        """Several frames of the same size through the network in one call."""
        if not frames:
            return []
        if self.augmented:
            return [self.estimate(f) for f in frames]
        batch = np.stack([preprocess(f, self.config) for f in frames])
        nets = self.runner.run(batch)
        return [result_from_network_output(n, (f.shape[1], f.shape[0]), self.layout, self.config)
                for n, f in zip(nets, frames)]

    def close(self) -> None:
        self.runner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
