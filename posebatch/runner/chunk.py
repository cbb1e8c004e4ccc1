"""The work of one chunk: decode a frame range and estimate every frame. No Ray here: the
pose actor is a thin shell that holds the estimator and calls :func:`process_chunk`."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..config import PoseConfig, RuntimeConfig
from ..decode import (REPEAT_LEVELS, ChunkOutcome, VideoIndex, decode_range, picture_change,
                      picture_signature, upright)
from ..write import frame_tables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkTask:
    video: int          # position in the job's video list
    key: str            # the video's store key
    start: int
    end: int


@dataclass
class ChunkResult:
    task: ChunkTask
    tables: dict[str, pa.Table]
    decode: str          # "seek" or "from_start"
    note: str
    seconds: float
    node: str = ""
    bad_frames: int = 0


def process_chunk(estimator, index: VideoIndex, task: ChunkTask) -> ChunkResult:
    """Decode frames [start, end) and estimate every one. Every frame of the range gets a
    record: frames the decoder did not produce are ``decode_error`` with the reason. Each
    frame's picture is compared with the previous frame's (decoded for the purpose when it
    belongs to the previous chunk) to mark repeated pictures."""
    t0 = time.perf_counter()
    outcome = ChunkOutcome()
    records: dict[int, dict] = {}
    stop_error = None
    before = None                    # (frame index, signature) of the last decoded frame
    try:
        for fr in decode_range(index, max(task.start - 1, 0), task.end, outcome):
            sig = picture_signature(fr.image)
            change = (picture_change(before[1], sig) if before and before[0] == fr.index - 1
                      else None)
            before = (fr.index, sig)
            if fr.index < task.start:
                continue
            rec = {"frame": fr.index, "pts": fr.pts, "time": fr.time, "change": change,
                   "repeat": None if change is None else change <= REPEAT_LEVELS}
            try:
                res = estimator.estimate(upright(fr.image, index.turn))
                rec.update(status="ok", keypoints=res.keypoints, scores=res.scores)
            except Exception as exc:  # one bad frame must not lose the chunk
                rec.update(status="error", error=f"pose estimation failed: {exc}")
            records[fr.index] = rec
    except Exception as exc:  # a decoder error ends the range early; the rest is reported
        stop_error = f"decoding stopped: {type(exc).__name__}: {exc}"
        log.warning("%s [%d, %d): %s", index.path, task.start, task.end, stop_error)
    tb = index.time_base
    rows = []
    for i in range(task.start, task.end):
        rec = records.get(i)
        if rec is None:
            pts = int(index.pts[i])
            rec = {"frame": i, "pts": pts, "time": pts * tb, "status": "decode_error",
                   "error": stop_error or "the decoder produced no picture for this frame"}
        rows.append(rec)
    bad = sum(r["status"] != "ok" for r in rows)
    return ChunkResult(task, frame_tables(rows, estimator.layout), outcome.method, outcome.note,
                       time.perf_counter() - t0, bad_frames=bad)


class PoseWorker:
    """Ray actor body: one loaded graph and parser, reused for every chunk it is given."""

    def __init__(self, model: str, config: PoseConfig, runtime: RuntimeConfig):
        from ..estimator import Estimator

        self.estimator = Estimator(model, config, runtime)

    def ready(self) -> dict:
        """Warm the graph up (first runs are slow) and say where this actor lives."""
        import ray

        cfg = self.estimator.config
        self.estimator.estimate(np.zeros((cfg.net_height, cfg.net_width, 3), np.uint8))
        return {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

    def process(self, task: ChunkTask, index: VideoIndex) -> ChunkResult:
        import ray

        result = process_chunk(self.estimator, index, task)
        result.node = ray.get_runtime_context().get_node_id()
        return result
