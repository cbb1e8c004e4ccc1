"""Finishing a video once all its chunks are done: track its detections and write its four
dataset files. A Ray task on the driver's node (where the output folder is), reserving no
CPU, so it runs beside the pose actors and the driver only hands out work and collects a few
counts."""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from ..engine.config import TrackConfig
from ..decode import FrameRange, VideoIndex
from ..errors import ResumableError
from ..engine.layout import KeypointLayout
from ..storage.store import Store

if TYPE_CHECKING:
    from .outcome import VideoState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoWork:
    """What finishing one video needs (all of it small; sent to the task)."""

    video_id: int
    name: str
    key: str
    chunks: list[tuple[int, int]]
    index: VideoIndex
    stamp: dict
    refine: str | None = None    # the second look's key (runner.refine_job), None: off
    span: FrameRange | None = None   # the frames analysed (None: all)


def finish_video(out: Path, params_key: str, work: VideoWork, layout: KeypointLayout,
                 track: TrackConfig, params: dict) -> dict:
    """Read the video's chunks, track them, write its dataset files; return the counts its
    row of the videos index needs (also stored with the files). A tracking failure is
    reported in the counts and the detections are written untracked."""
    from ..track.apply import track_tables
    from .outcome import missing_rows

    store = Store(out, params_key)
    kp, people, frames = store.read_detections(work.key, work.chunks)
    refined = None
    if work.refine is not None:       # the second look's people in place of the first's
        from .refine_job import RefineStore, apply_refined

        second = RefineStore(out, params_key, work.refine).read(work.key, work.chunks)
        kp, people, refined = apply_refined(kp, people, second, layout)
    stats = frame_stats(frames)
    infos = [store.chunk_info(work.key, s, e) for s, e in work.chunks]
    stats["seconds"] = round(sum(sec for sec, _ in infos), 3)
    if work.refine is not None:       # the actors' time includes the second look
        stats["seconds"] = round(stats["seconds"] + sum(
            RefineStore(out, params_key, work.refine).seconds(work.key, s, e)
            for s, e in work.chunks), 3)
    stats["decode"] = "from_start" if any(m == "from_start" for _, m in infos) else "seek"
    try:
        tables = track_tables(kp, people, frames, layout, track, refined)
        stats["track_error"] = None
        stats["tracks"] = tables["tracks"].num_rows
    except Exception as exc:        # a bug or bad data in tracking: keep the detections
        log.error("%s: tracking failed: %s", work.name, exc)
        tables = track_tables(kp, people, frames, layout, TrackConfig(enabled=False), refined)
        stats["track_error"] = f"tracking failed: {type(exc).__name__}: {exc}"
        stats["tracks"] = None
    missing = missing_rows(work.index, work.span)
    tables["frames"] = frames if missing is None else pa.concat_tables([frames, missing])
    store.write_video(work.video_id, work.name, tables, work.stamp, stats, params)
    return stats


def frame_stats(frames: pa.Table) -> dict:
    """Counts over a video's chunk frames: decoded, with people, repeated, damaged, failed
    (and the first reason)."""
    status = frames["status"].cast(pa.string())
    corrupt = pc.equal(status, "corrupt")
    # skipped (live: the newest frame won) is accounted for, not failed
    ok = pc.or_(pc.or_(pc.equal(status, "ok"), corrupt), pc.equal(status, "skipped"))
    bad = frames.num_rows - (pc.sum(ok).as_py() or 0)
    n_corrupt = pc.sum(corrupt).as_py() or 0
    return {
        "decoded": frames.num_rows - (pc.sum(pc.equal(status, "decode_error")).as_py() or 0),
        "people": pc.sum(pc.greater(frames["people"], 0)).as_py() or 0,
        "repeated": pc.sum(frames["repeat"].fill_null(False)).as_py() or 0,
        "bad": bad,
        "first_error": frames.filter(pc.invert(ok))["error"][0].as_py() if bad else None,
        "corrupt": n_corrupt,
        "first_corrupt": frames.filter(corrupt)["frame"][0].as_py() if n_corrupt else None,
    }


class Finisher:
    """Finishes each video as its last chunk lands: one task per video on this node, at most
    ``limit`` in flight, the rest queued (the driver never waits for one while chunks are
    coming in); ``stats`` gathers what they return."""

    def __init__(self, store: Store, layout: KeypointLayout, track: TrackConfig,
                 params: dict, limit: int):
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.here = here = NodeAffinitySchedulingStrategy(
            ray.get_runtime_context().get_node_id(), soft=False)
        self.store, self.layout, self.track, self.params = store, layout, track, params
        self.limit = max(1, limit)
        self.task = ray.remote(num_cpus=0, max_retries=1)(finish_video).options(
            scheduling_strategy=here)
        self.inflight: dict = {}
        self.queue: deque[VideoWork] = deque()
        self.stats: dict[int, dict] = {}

    def submit(self, st: VideoState, stamp: dict, refine: str | None = None) -> None:
        self.queue.append(_work(st, stamp, refine))
        self._launch()

    @property
    def idle(self) -> bool:
        return not self.inflight and not self.queue

    def finish_here(self, st: VideoState, stamp: dict, refine: str | None = None) -> None:
        """Finish a video in the driver. For the job's last video, when no chunk is left and
        no finishing task runs: the driver would only wait, and a task needs a worker
        process (one that stood idle is gone), which takes longer to start (1.5 s on a
        2-core machine) than a short video takes to finish."""
        _finish_here(self, _work(st, stamp, refine))

    def _launch(self) -> None:
        while self.queue and len(self.inflight) < self.limit:
            work = self.queue.popleft()
            ref = self.task.remote(self.store.out, self.store.params_key, work, self.layout,
                                   self.track, self.params)
            self.inflight[ref] = work

    def collect(self, block: bool = False) -> None:
        """Take the results that are ready (waiting for one when ``block``) and start queued
        videos in their place. A task that died (its process killed, out of memory) is done
        again here, in the driver."""
        import ray

        self._launch()
        if not self.inflight:
            return
        ready, _ = ray.wait(list(self.inflight), num_returns=1 if block else len(self.inflight),
                            timeout=None if block else 0)
        for ref in ready:
            work = self.inflight.pop(ref)
            try:
                self.stats[work.video_id] = ray.get(ref)
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.TaskUnschedulableError,
                    ray.exceptions.NodeDiedError) as exc:
                log.warning("%s: finishing task lost (%s); finishing it in the driver",
                            work.name, exc)
                self.stats[work.video_id] = finish_video(
                    self.store.out, self.store.params_key, work, self.layout, self.track,
                    self.params)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.as_instanceof_cause()
                if isinstance(cause, OSError):
                    raise _write_failed(work, cause) from None
                raise cause from None
        self._launch()

    def finish(self) -> None:
        while self.inflight or self.queue:
            self.collect(block=True)


class InlineFinisher:
    """The Finisher's interface for a job with nothing to infer (a rerun with other tracking
    settings, fewer inputs, tables of an older version to rebuild): each video is finished
    in the driver as it is submitted, and no Ray runtime is started for it, which would take
    longer on a small machine than the work itself."""

    def __init__(self, store: Store, layout: KeypointLayout, track: TrackConfig, params: dict):
        self.store, self.layout, self.track, self.params = store, layout, track, params
        self.stats: dict[int, dict] = {}

    def submit(self, st: VideoState, stamp: dict, refine: str | None = None) -> None:
        _finish_here(self, _work(st, stamp, refine))

    def collect(self, block: bool = False) -> None:
        """Nothing is ever in flight."""

    def finish(self) -> None:
        """Nothing is ever in flight."""


def _finish_here(f: Finisher | InlineFinisher, work: VideoWork) -> None:
    try:
        f.stats[work.video_id] = finish_video(f.store.out, f.store.params_key, work, f.layout,
                                              f.track, f.params)
    except OSError as exc:
        raise _write_failed(work, exc) from None


def _work(st: VideoState, stamp: dict, refine: str | None) -> VideoWork:
    return VideoWork(st.video_id, st.name, st.key, st.chunks, st.index, stamp, refine, st.span)


def _write_failed(work: VideoWork, exc: OSError) -> ResumableError:
    return ResumableError(f"{work.name}: writing its tables failed ({exc.strerror or exc}); "
                          "finished chunks are saved: fix that (space, permissions) and rerun "
                          "the same command to resume")
