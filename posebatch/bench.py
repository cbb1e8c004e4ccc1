"""Benchmark: frames/s of every stage on real frames, and end to end, with the bare network
measured in the same run so the ratio is meaningful on any machine."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .estimator import Estimator
from .parse import parse_maps
from .postprocess import Maps, find_peaks, split, upsample
from .preprocess import preprocess


@dataclass
class StageTimes:
    """Seconds per frame of each stage, one list entry per repeat."""

    runs: dict[str, list[float]] = field(default_factory=dict)

    def add(self, stage: str, seconds_per_frame: float) -> None:
        self.runs.setdefault(stage, []).append(seconds_per_frame)

    def median_ms(self, stage: str) -> float:
        return statistics.median(self.runs[stage]) * 1e3

    def fps(self, stage: str) -> float:
        return 1e3 / self.median_ms(stage)


def read_frames(video: Path, limit: int) -> tuple[list[np.ndarray], float]:
    """The first ``limit`` frames and the decode time per frame."""
    cap = cv2.VideoCapture(str(video))
    frames = []
    t = time.perf_counter()
    while len(frames) < limit:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    dt = (time.perf_counter() - t) / max(1, len(frames))
    cap.release()
    return frames, dt


def _timed(fn: Callable[[], object], n: int) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) / n


def bench_stages(video: Path, est: Estimator, frames: int = 30, repeats: int = 3) -> StageTimes:
    """Each stage over the same frames, ``repeats`` times; the network both bare (pre-made
    inputs) and inside a sequential end-to-end loop (decode -> ... -> parse)."""
    cfg, layout = est.config, est.layout
    times = StageTimes()
    imgs, _ = read_frames(video, frames)
    n = len(imgs)
    inputs = [preprocess(f, cfg)[None] for f in imgs]
    est.runner.run(inputs[0])  # warm-up
    for _ in range(repeats):
        times.add("decode", read_frames(video, frames)[1])
        times.add("preprocess", _timed(lambda: [preprocess(f, cfg) for f in imgs], n))
        nets = []
        times.add("network", _timed(lambda: nets.extend(est.runner.run(x)[0] for x in inputs), n))
        ups = []
        times.add("upsample", _timed(lambda: ups.extend(upsample(o, cfg.upsample) for o in nets), n))
        maps = []

        def peaks():
            for u in ups:
                heat, paf = split(u, layout)
                maps.append(Maps(heat, paf, find_peaks(heat, layout, cfg.smooth_size,
                                                       cfg.smooth_sigma)))

        times.add("smooth+peaks", _timed(peaks, n))
        parsed = []
        times.add("parse", _timed(lambda: parsed.extend(parse_maps(m, layout, cfg.parser)
                                                        for m in maps), n))

        def sequential():
            cap = cv2.VideoCapture(str(video))
            for _ in range(n):
                ok, f = cap.read()
                est.estimate(f)
            cap.release()

        times.add("end to end (sequential)", _timed(sequential, n))
    return times
