"""Frame in, people out: preprocess -> network -> post-process -> parse -> pixel coordinates."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import PoseConfig, RuntimeConfig
from .errors import ConfigError
from .fetch import cached_model, ensure_model
from .infer import GraphRunner
from .layout import KeypointLayout, get_layout
from .models import ModelSpec, get_model
from .parse import parse_maps
from .postprocess import Maps, postprocess
from .preprocess import check_frame, preprocess

# Keypoint coordinate convention: a peak in map cell (col, row) is reported at pixel
# ((col + CELL_OFFSET) * image_w / map_w, (row + CELL_OFFSET) * image_h / map_h).
# tf-pose-estimation used offset 0 (the cell's top-left corner); see README "Coordinates" for
# the measured effect of the choice.
CELL_OFFSET = 0.0


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
    layout: KeypointLayout
    maps: Maps | None = None

    @property
    def n_people(self) -> int:
        return int(self.keypoints.shape[0])

    def cells(self) -> np.ndarray:
        """Keypoints back in map cells (n, n_parts, 2), NaN where missing."""
        sx = self.map_size[0] / self.image_size[0]
        sy = self.map_size[1] / self.image_size[1]
        return np.stack([self.keypoints[..., 0] * sx - CELL_OFFSET,
                         self.keypoints[..., 1] * sy - CELL_OFFSET], axis=-1)


def cells_to_pixels(kp_cells: np.ndarray, map_size: tuple[int, int],
                    image_size: tuple[int, int]) -> np.ndarray:
    """(n, P, 3) (col, row, score) in map cells -> (n, P, 3) (x, y, score) in image pixels."""
    out = kp_cells.astype(np.float32, copy=True)
    out[..., 0] = (out[..., 0] + CELL_OFFSET) * (image_size[0] / map_size[0])
    out[..., 1] = (out[..., 1] + CELL_OFFSET) * (image_size[1] / map_size[1])
    return out


def result_from_network_output(net_out: np.ndarray, image_size: tuple[int, int],
                               layout: KeypointLayout, config: PoseConfig = PoseConfig(),
                               keep_maps: bool = False) -> PoseResult:
    """Everything after the network, as a pure function of its (h, w, C) output."""
    maps = postprocess(net_out, layout, config.upsample, config.smooth_size, config.smooth_sigma)
    kp, scores = parse_maps(maps, layout, config.parser)
    map_size = (maps.heat.shape[1], maps.heat.shape[0])
    return PoseResult(keypoints=cells_to_pixels(kp, map_size, image_size), scores=scores,
                      image_size=image_size, map_size=map_size, layout=layout,
                      maps=maps if keep_maps else None)


class Estimator:
    """A loaded model plus settings. ``estimate(frame_bgr)`` returns a :class:`PoseResult`.

    >>> est = Estimator()                       # mobilenet_thin, reference preprocessing
    >>> result = est.estimate(cv2.imread("ski.jpg"))
    >>> result.keypoints.shape                  # (people, 18, 3)
    """

    def __init__(self, model: str | ModelSpec = "mobilenet_thin",
                 config: PoseConfig | None = None, runtime: RuntimeConfig = RuntimeConfig(),
                 fetch: bool = True):
        self.spec = model if isinstance(model, ModelSpec) else get_model(model)
        if config is None:
            config = PoseConfig(model=self.spec.name, net_width=self.spec.input_size[0],
                                net_height=self.spec.input_size[1])
        if config.model != self.spec.name:
            raise ConfigError(f"config names model {config.model!r} but the estimator loads "
                              f"{self.spec.name!r}")
        self.config = config
        self.layout = get_layout(self.spec.layout)
        path: Path = (ensure_model(self.spec.name)[1] if fetch else cached_model(self.spec))
        self.runner = GraphRunner(path, self.spec.input, self.spec.output,
                                  self.layout.n_heatmaps + self.layout.n_pafs, runtime)

    def network(self, frame: np.ndarray) -> np.ndarray:
        """The raw (h, w, C) network output for one BGR frame."""
        return self.runner.run(preprocess(frame, self.config)[None])[0]

    def estimate(self, frame: np.ndarray, keep_maps: bool = False) -> PoseResult:
        check_frame(frame)
        net = self.network(frame)
        return result_from_network_output(net, (frame.shape[1], frame.shape[0]), self.layout,
                                          self.config, keep_maps)

    def estimate_batch(self, frames: list[np.ndarray]) -> list[PoseResult]:
        """Several frames of the same size through the network in one call."""
        if not frames:
            return []
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
