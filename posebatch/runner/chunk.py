"""The work of one chunk: decode a frame range and estimate every frame. No Ray here: the
pose actor is a thin shell that holds the estimator and calls :func:`process_chunk`."""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Iterator, TypeVar

import numpy as np
import pyarrow as pa

from ..engine.config import PoseConfig, RuntimeConfig
from ..decode import (REPEAT_LEVELS, ChunkOutcome, RangeDecoder, VideoIndex, picture_change,
                      picture_signature, upright)
from ..storage.schemas import ESTIMATED_STATUS, frame_tables

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ChunkTask:
    video: int          # position in the job's video list
    key: str            # the video's store key
    start: int
    end: int
    every: int = 1      # the frames start, start + every, ... before end (the job's stride)

    @property
    def frames(self) -> int:
        """How many frames the chunk analyses."""
        return len(range(self.start, self.end, self.every))


@dataclass(frozen=True)
class ChunkSink:
    """Where an actor on the driver's node writes a finished chunk itself (the output folder
    is there), so only a few numbers come back: the driver's work per chunk stays small with
    many actors. Actors on other nodes return the tables for the driver to write."""

    out: str
    params_key: str
    node: str


@dataclass
class ChunkResult:
    task: ChunkTask
    tables: dict[str, pa.Table] | None   # None: written by the actor (ChunkSink)
    decode: str          # "seek" or "from_start"
    note: str
    seconds: float
    node: str = ""
    bad_frames: int = 0


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """Iterate ``items`` in a thread of its own, up to ``depth`` items ahead of the consumer
    (0: in the caller's thread). Decoding (PyAV), OpenCV and the network all release the GIL,
    so a chunk's next frames are decoded and prepared while the network runs. An exception in
    the thread is raised here; stopping early stops the thread."""
    if depth <= 0:
        yield from items
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name="posebatch-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            more, value = q.get()
            if more:
                yield value
            elif value is None:
                return
            else:
                raise value
    finally:
        stop.set()
        thread.join()


@dataclass
class _Decoded:
    record: dict                     # frame, pts, time, change, repeat
    prepared: np.ndarray | None      # the network's input
    size: tuple[int, int] = (0, 0)   # the upright frame's (width, height)
    error: str = ""                  # why it could not be prepared


def _decode_chunk(estimator, index: VideoIndex, task: ChunkTask, outcome: ChunkOutcome,
                  stopped: list[str], decoder: RangeDecoder) -> Iterator[_Decoded]:
    """Each analysed frame of the range (with a stride, every ``task.every``-th from its
    start; the frames between are decoded, as a video must be, but not compared nor
    prepared), compared with the previous analysed frame's picture (frame - every: decoded
    for the purpose when it belongs to the previous chunk) and prepared for the network. A
    decoder error ends the range early: its reason goes to ``stopped``."""
    step = task.every
    before = None                    # (frame index, signature) of the last analysed frame
    try:
        for fr in decoder.range(index, max(task.start - step, 0), task.end, outcome):
            if (fr.index - task.start) % step:
                continue             # between two analysed frames
            sig = picture_signature(fr.image)
            change = (picture_change(before[1], sig) if before and before[0] == fr.index - step
                      else None)
            before = (fr.index, sig)
            if fr.index < task.start:
                continue
            rec = {"frame": fr.index, "pts": fr.pts, "time": fr.time, "change": change,
                   "repeat": None if change is None else change <= REPEAT_LEVELS,
                   "corrupt": fr.corrupt}
            try:
                image = upright(fr.image, index.turn)
                yield _Decoded(rec, estimator.prepare(image), (image.shape[1], image.shape[0]))
            except Exception as exc:  # one bad frame must not lose the chunk
                yield _Decoded(rec, None, error=str(exc))
    except Exception as exc:
        stopped.append(f"decoding stopped: {type(exc).__name__}: {exc}")
        log.warning("%s [%d, %d): %s", index.path, task.start, task.end, stopped[-1])


def process_chunk(estimator, index: VideoIndex, task: ChunkTask, prefetch: int = 0,
                  decoder: RangeDecoder | None = None) -> ChunkResult:
    """Decode frames [start, end) and estimate every one (every ``task.every``-th), decoding up to ``prefetch`` frames
    ahead in a thread. Every frame of the range gets a record: frames the decoder did not
    produce are ``decode_error`` with the reason; repeated pictures are marked. A worker's own
    ``decoder`` continues where its previous chunk of the same video ended."""
    t0 = time.perf_counter()
    outcome = ChunkOutcome()
    records: dict[int, dict] = {}
    stopped: list[str] = []
    decoded = _decode_chunk(estimator, index, task, outcome, stopped, decoder or RangeDecoder())
    for d in prefetched(decoded, prefetch):
        rec = d.record
        try:
            if d.prepared is None:
                raise ValueError(d.error)
            res = estimator.estimate_prepared(d.prepared, d.size)
            rec.update(status="corrupt" if rec["corrupt"] else "ok", keypoints=res.keypoints,
                       scores=res.scores)
            if rec["corrupt"]:
                rec["error"] = ("the decoder reported damaged picture data and concealed it: "
                                "estimated all the same")
        except Exception as exc:  # one bad frame must not lose the chunk
            rec.update(status="error", error=f"pose estimation failed: {exc}")
        records[rec["frame"]] = rec
    stop_error = stopped[0] if stopped else None
    tb = index.time_base
    rows = []
    for i in range(task.start, task.end, task.every):
        rec = records.get(i)
        if rec is None:
            pts = int(index.pts[i])
            rec = {"frame": i, "pts": pts, "time": pts * tb, "status": "decode_error",
                   "error": stop_error or "the decoder produced no picture for this frame"}
        rows.append(rec)
    bad = sum(r["status"] not in ESTIMATED_STATUS for r in rows)
    return ChunkResult(task, frame_tables(rows, estimator.layout), outcome.method, outcome.note,
                       time.perf_counter() - t0, bad_frames=bad)


def failed_chunk_tables(index: VideoIndex, task: ChunkTask, reason: str, layout
                        ) -> dict[str, pa.Table]:
    """A chunk given up on (its worker died or hung on it twice): every frame of it a row
    with status ``error`` and the reason, nobody found."""
    tb = index.time_base
    rows = [{"frame": i, "pts": int(index.pts[i]), "time": int(index.pts[i]) * tb,
             "status": "error", "error": f"chunk [{task.start}, {task.end}) failed: {reason}"}
            for i in range(task.start, task.end, task.every)]
    return frame_tables(rows, layout)


class PoseWorker:
    """Ray actor body: one loaded graph and parser, reused for every chunk it is given."""

    def __init__(self, model: str, config: PoseConfig, runtime: RuntimeConfig):
        import cv2

        from ..engine.estimator import Estimator

        # OpenCV would start a thread per core in every actor; keep it within the actor's CPUs
        cv2.setNumThreads(max(1, runtime.intra_threads))
        self.estimator = Estimator(model, config, runtime)
        self.prefetch = runtime.prefetch
        self.decoder = RangeDecoder()

    def ready(self) -> dict:
        """Warm the graph up (first runs are slow) and say where this actor lives."""
        import ray

        cfg = self.estimator.config
        self.estimator.estimate(np.zeros((cfg.net_height, cfg.net_width, 3), np.uint8))
        return {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

    def process(self, task: ChunkTask, index: VideoIndex, sink: ChunkSink | None = None
                ) -> ChunkResult:
        import ray

        from ..storage.store import Store

        result = process_chunk(self.estimator, index, task, self.prefetch, self.decoder)
        result.node = ray.get_runtime_context().get_node_id()
        if sink is not None and sink.node == result.node:
            Store(sink.out, sink.params_key).write_chunk(task.key, task.start, task.end,
                                                         result.tables, result.seconds,
                                                         result.decode)
            result.tables = None
        return result

    def refine(self, task, index: VideoIndex, sink: ChunkSink | None = None):
        """The second look at a chunk's tracked people (runner.refine_job); written here, like a
        pose chunk, when this actor is on the driver's node."""
        import ray

        from .refine_job import RefineStore, process_refine_chunk

        result = process_refine_chunk(self.estimator, index, task, self.decoder)
        result.node = ray.get_runtime_context().get_node_id()
        if sink is not None and sink.node == result.node:
            RefineStore(sink.out, sink.params_key, task.refine_key).write(
                task.key, task.start, task.end, result.tables, result.seconds)
            result.tables = None
        return result
