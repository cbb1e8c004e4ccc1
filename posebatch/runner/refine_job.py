"""The job's second look at each person (``--refine people``), a stage between the first pass
and a video's tables.

When a video's first-pass chunks are all done, a task on the driver's node tracks its
detections (as finishing would) and plans, per chunk, a box for each tracked detection: the
box of the track's smoothed keypoints in that frame (``plan_refine``). The chunks go to the
same pose actors as the first pass (``PoseWorker.refine`` -> :func:`process_refine_chunk`:
decode the frames again, cut each person's crop at full resolution, run the estimator on it,
keep the person of the crop that matches the first pass's, ``posebatch.engine.refine``). Their
results are stored beside the first pass's chunks, under a key of their own::

    OUT/.chunks/VIDEOKEY/PARAMSKEY/refine-REFINEKEY/SSSSSSSS-EEEEEEEE.{keypoints,people}.parquet

(REFINEKEY: the refine settings and the tracking key the boxes came from; the people file is
written last and marks the chunk done), so a rerun reuses them. When a video's refine chunks
are all done, finishing it (``finish.finish_video``) puts the refined people in place of the
first pass's (:func:`apply_refined`), tracks and smooths them again and writes its tables,
whose ``keypoints.refined`` says which values came from the second look.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..engine.config import TrackConfig
from ..decode import ChunkOutcome, RangeDecoder, VideoIndex, upright
from ..engine.layout import KeypointLayout
from ..engine.refine import RefineConfig, person_box, refine_people
from ..storage.store import CHUNKS, chunk_file
from ..storage.schemas import (REFINE_SCHEMA_VERSION, REFINE_TABLES, REFINED_KEYPOINTS,
                               REFINED_PEOPLE, part_array, people_columns, write_parquet)

if TYPE_CHECKING:
    from .finish import Finisher, VideoWork
    from .outcome import VideoState

log = logging.getLogger(__name__)

_SECONDS_KEY = b"posebatch.seconds"


@dataclass(frozen=True)
class RefineTask:
    """The second look at the tracked people of frames [start, end) of one video: n people,
    ``frame`` (n,) int32 and ``person`` (n,) int16 (the first pass's detection), ``box``
    (n, 4) float32 where to look (frame pixels), ``first`` (n, P, 3) float32 and ``score``
    (n,) float32 the first pass's people. ``video``, ``start`` and ``end`` place it in the
    actor pool like a pose chunk."""

    video: int
    key: str
    start: int
    end: int
    refine_key: str
    config: RefineConfig
    frame: np.ndarray
    person: np.ndarray
    box: np.ndarray
    first: np.ndarray
    score: np.ndarray

    @property
    def people(self) -> int:
        return len(self.frame)


@dataclass
class RefineResult:
    task: RefineTask
    tables: dict[str, pa.Table] | None    # None: written by the actor
    seconds: float
    people: int                           # looked at
    matched: int                          # replaced by a person of their crop
    node: str = ""
    note: str = ""


class RefineStore:
    """A video's refine chunks under OUT/.chunks/VIDEOKEY/PARAMSKEY/refine-REFINEKEY/."""

    def __init__(self, out: Path | str, params_key: str, refine_key: str):
        self.out, self.params_key, self.refine_key = Path(out), params_key, refine_key

    def folder(self, vkey: str) -> Path:
        return self.out / CHUNKS / vkey / self.params_key / f"refine-{self.refine_key}"

    def _file(self, vkey: str, start: int, end: int, table: str) -> Path:
        return self.folder(vkey) / chunk_file(start, end, table)

    def is_done(self, vkey: str, start: int, end: int) -> bool:
        return self._file(vkey, start, end, "people").exists()

    def write(self, vkey: str, start: int, end: int, tables: dict[str, pa.Table],
              seconds: float) -> None:
        """The people file last: its presence marks the chunk done."""
        for name in ("keypoints", "people"):
            t = tables[name]
            t = t.replace_schema_metadata({**(t.schema.metadata or {}),
                                           _SECONDS_KEY: f"{seconds:.6f}".encode()})
            write_parquet(t, self._file(vkey, start, end, name), f"refine.{name}", {},
                          REFINE_SCHEMA_VERSION, schema=REFINE_TABLES[name])

    def read(self, vkey: str, chunks: list[tuple[int, int]]) -> dict[str, pa.Table]:
        return {name: pa.concat_tables([pq.read_table(self._file(vkey, s, e, name),
                                                      schema=schema) for s, e in chunks])
                for name, schema in REFINE_TABLES.items()}

    def seconds(self, vkey: str, start: int, end: int) -> float:
        meta = pq.read_schema(self._file(vkey, start, end, "people")).metadata or {}
        return float(meta.get(_SECONDS_KEY, b"0"))


# --- on the pose actors ----------------------------------------------------------------------

def refine_tables(frame: list[int], person: list[np.ndarray], keypoints: list[np.ndarray],
                  refined: list[np.ndarray], matched: list[np.ndarray],
                  scores: list[np.ndarray], similarity: list[np.ndarray],
                  layout: KeypointLayout) -> dict[str, pa.Table]:
    """A refine chunk's two tables from its frames' results (one entry per frame: the
    people looked at, their merged keypoints (n, P, 3), refined parts (n, P), matched (n,),
    scores and similarities (n,)); keypoint rows only for matched people."""
    k_rows: dict[str, list] = {k: [] for k in ("frame", "person", "part_id", "x", "y",
                                                "score", "refined")}
    p_rows: dict[str, list] = {k: [] for k in REFINED_PEOPLE.names}
    for f, who, kp, ref, ok, sc, sim in zip(frame, person, keypoints, refined, matched,
                                            scores, similarity):
        p_rows["frame"].append(np.full(len(who), f, np.int32))
        p_rows["person"].append(who.astype(np.int16))
        p_rows["matched"].append(ok)
        p_rows["score"].append(sc.astype(np.float32))
        p_rows["similarity"].append(sim.astype(np.float32))
        d, p = np.nonzero((kp[..., 2] > 0) & ok[:, None])
        k_rows["frame"].append(np.full(len(d), f, np.int32))
        k_rows["person"].append(who[d].astype(np.int16))
        k_rows["part_id"].append(p.astype(np.int8))
        for i, c in enumerate(("x", "y", "score")):
            k_rows[c].append(kp[d, p, i].astype(np.float32))
        k_rows["refined"].append(ref[d, p])

    def column(rows, name, schema):
        if rows[name]:
            return np.concatenate(rows[name])
        return np.empty(0, schema.field(name).type.to_pandas_dtype())

    karr = {k: column(k_rows, k, REFINED_KEYPOINTS) for k in k_rows}
    karr["part"] = part_array(karr["part_id"].astype(np.int8), layout)
    return {"keypoints": pa.table({f.name: karr[f.name] for f in REFINED_KEYPOINTS},
                                  schema=REFINED_KEYPOINTS),
            "people": pa.table({f.name: column(p_rows, f.name, REFINED_PEOPLE)
                                for f in REFINED_PEOPLE}, schema=REFINED_PEOPLE)}


def process_refine_chunk(estimator, index: VideoIndex, task: RefineTask,
                         decoder: RangeDecoder | None = None) -> RefineResult:
    """Decode the task's frames again and look at each of its people in a crop of the
    full-resolution (upright) frame. A frame that cannot be decoded or estimated keeps its
    first-pass people (the reason is logged and noted)."""
    t0 = time.perf_counter()
    decoder = decoder or RangeDecoder()
    rows: dict[int, np.ndarray] = {}
    for i, f in enumerate(task.frame.tolist()):
        rows.setdefault(f, []).append(i)
    out: list[tuple] = []
    notes: list[str] = []
    if rows:
        # the chunk's whole range, from the frame before it, as a pose chunk is decoded: an
        # actor given the next chunk then carries on decoding instead of seeking back
        try:
            for fr in decoder.range(index, max(task.start - 1, 0), task.end, ChunkOutcome()):
                idx = rows.get(fr.index)
                if idx is None:
                    continue
                idx = np.asarray(idx)
                try:
                    r = refine_people(estimator, upright(fr.image, index.turn), task.box[idx],
                                      task.first[idx], task.score[idx], task.config)
                except Exception as exc:   # one bad frame must not lose the chunk
                    notes.append(f"frame {fr.index}: {type(exc).__name__}: {exc}")
                    continue
                out.append((fr.index, task.person[idx], r.keypoints, r.refined, r.matched,
                            r.scores, r.similarity))
        except Exception as exc:
            notes.append(f"decoding stopped: {type(exc).__name__}: {exc}")
    if notes:
        log.warning("%s [%d, %d) second look: %s", index.path, task.start, task.end,
                    "; ".join(notes[:3]))
    columns = [list(c) for c in zip(*out)] if out else [[]] * 7
    tables = refine_tables(*columns, layout=estimator.layout)
    matched = int(sum(int(o[4].sum()) for o in out))
    return RefineResult(task, tables, time.perf_counter() - t0, task.people, matched,
                        note="; ".join(notes[:3]))


# --- planning: boxes from the first pass's tracks ---------------------------------------------

def plan_boxes(frame: np.ndarray, keypoints: np.ndarray, vt) -> np.ndarray:
    """(D, 4) where to look again at each detection: the box of its track's smoothed
    keypoints in its frame (NaN for detections in no reported track). ``vt``: the first
    pass's VideoTracks over the detections ``frame`` (D,), ``keypoints`` (D, P, 3)."""
    boxes = np.full((len(frame), 4), np.nan)
    for s in np.flatnonzero(vt.sample_det >= 0):
        boxes[vt.sample_det[s]] = person_box(vt.smooth[s])
    return boxes


def plan_refine(out: str, params_key: str, work: "VideoWork", layout: KeypointLayout,
                track: TrackConfig, refine_key: str, config: RefineConfig) -> list[RefineTask]:
    """Track the video's first pass and return a RefineTask per chunk not done yet (chunks
    without a tracked person are written done, empty, here). Runs on the driver's node."""
    from ..storage.store import Store
    from ..track import track_video
    from ..track.apply import detections

    store = Store(Path(out), params_key)
    rstore = RefineStore(out, params_key, refine_key)
    kp_t, people, frames = store.read_detections(work.key, work.chunks)
    times, frame, kp, repeat, estimated = detections(kp_t, people, frames, layout)
    vt = track_video(times, frame, kp, layout, track, repeat, estimated)
    boxes = plan_boxes(frame, kp, vt)
    person = people["person"].to_numpy().astype(np.int16)
    score = people["score"].to_numpy().astype(np.float32)
    tasks = []
    for s, e in work.chunks:
        if rstore.is_done(work.key, s, e):
            continue
        d = np.flatnonzero((frame >= s) & (frame < e) & np.isfinite(boxes[:, 0]))
        if len(d) == 0:
            rstore.write(work.key, s, e, refine_tables(*[[]] * 7, layout=layout), 0.0)
            continue
        tasks.append(RefineTask(work.video_id, work.key, s, e, refine_key, config,
                                frame[d].astype(np.int32), person[d], boxes[d].astype(np.float32),
                                kp[d], score[d]))
    return tasks


# --- finishing: the refined people in place of the first pass's --------------------------------

def apply_refined(keypoints: pa.Table, people: pa.Table, refined: dict[str, pa.Table],
                  layout: KeypointLayout) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """A video's first-pass chunk tables (keypoints, people: CHUNK_KEYPOINTS, CHUNK_PEOPLE)
    with every matched person of the second look in place of the first pass's (its parts,
    score, part count and box). Returns them and (D, P) bool, in the people rows' order:
    the part's value is the second look's."""
    from ..track.apply import _np
    from ..storage.schemas import CHUNK_KEYPOINTS, CHUNK_PEOPLE

    P = layout.n_parts
    frame = _np(people, "frame", np.int64)
    person = _np(people, "person", np.int64)
    width = int(person.max()) + 1 if len(person) else 1
    keys = frame * width + person                      # sorted: people rows are in order
    flags = np.zeros((len(frame), P), bool)
    rp = refined["people"].filter(refined["people"]["matched"])
    if rp.num_rows == 0:
        return keypoints, people, flags
    det = np.searchsorted(keys, _np(rp, "frame", np.int64) * width + _np(rp, "person", np.int64))
    rk = refined["keypoints"]
    rdet = np.searchsorted(keys, _np(rk, "frame", np.int64) * width + _np(rk, "person",
                                                                           np.int64))
    # the first pass's rows of replaced people go; the refined rows take their place
    kdet = np.searchsorted(keys, _np(keypoints, "frame", np.int64) * width
                           + _np(keypoints, "person", np.int64))
    replaced = np.zeros(len(frame), bool)
    replaced[det] = True
    kept = keypoints.filter(pa.array(~replaced[kdet]))
    times = _np(people, "time", np.float64)
    new_kp = pa.table({
        "frame": rk["frame"], "time": pa.array(times[rdet], pa.float64(), from_pandas=True),
        "person": rk["person"], "part_id": rk["part_id"], "part": rk["part"], "x": rk["x"],
        "y": rk["y"], "score": rk["score"]}, schema=CHUNK_KEYPOINTS)
    merged = pa.concat_tables([kept, new_kp])
    order = np.lexsort((_np(merged, "part_id", np.int64), _np(merged, "person", np.int64),
                        _np(merged, "frame", np.int64)))
    merged = merged.take(pa.array(order))
    flags[rdet, _np(rk, "part_id", np.int64)] = rk["refined"].to_numpy(zero_copy_only=False)
    # people: score from the crop, parts and box from the merged keypoints
    kp = np.zeros((len(det), P, 3), np.float32)
    kp[..., :2] = np.nan
    where = np.searchsorted(det, rdet)                 # det is sorted (rows in order)
    kp[where, _np(rk, "part_id", np.int64)] = np.stack(
        [_np(rk, "x"), _np(rk, "y"), _np(rk, "score")], 1)
    cols = people_columns(kp, _np(rp, "score", np.float32))
    table = {name: people[name].to_numpy(zero_copy_only=False).copy()
             for name in CHUNK_PEOPLE.names}
    for name in ("score", "parts", "x_min", "y_min", "x_max", "y_max"):
        table[name][det] = cols[name]
    new_people = pa.table({f.name: pa.array(table[f.name], f.type, from_pandas=f.name == "time")
                           for f in CHUNK_PEOPLE}, schema=CHUNK_PEOPLE)
    return merged, new_people, flags


# --- the driver's side ----------------------------------------------------------------------

@dataclass
class RefineStage:
    """Between a video's first pass and its tables: plans its refine chunks (a task on this
    node), hands them to the actor pool, counts them in, and gives the video to the finisher
    when its last refine chunk is done. ``submit(task)`` queues a chunk on the pool (set
    when the pool exists; chunks planned before wait)."""

    store_out: Path
    params_key: str
    refine_key: str
    config: RefineConfig
    layout: KeypointLayout
    track: TrackConfig
    finisher: "Finisher"
    stamps: dict[int, dict]
    submit: Callable[[RefineTask], None] | None = None
    inflight: dict = field(default_factory=dict)      # plan task ref -> video state
    ready: deque = field(default_factory=deque)        # planned chunks waiting for the pool
    remaining: dict[int, int] = field(default_factory=dict)
    states: dict[int, "VideoState"] = field(default_factory=dict)
    seconds: float = 0.0                               # actors' time on this run's chunks
    people: int = 0
    matched: int = 0
    frames: int = 0

    @property
    def rstore(self) -> RefineStore:
        return RefineStore(self.store_out, self.params_key, self.refine_key)

    def todo(self, st: "VideoState") -> int:
        """Refine chunks of the video not done yet."""
        return sum(not self.rstore.is_done(st.key, s, e) for s, e in st.chunks)

    def video_done(self, st: "VideoState") -> None:
        """The video's first pass is complete: finish it when its second look is too, else
        plan the second look."""
        import ray

        self.states[st.video_id] = st
        if self.todo(st) == 0:
            self._finish(st)
            return
        task = ray.remote(num_cpus=0, max_retries=1)(plan_refine).options(
            scheduling_strategy=self.finisher.here)
        ref = task.remote(*self._plan_args(st))
        self.inflight[ref] = st

    def _plan_args(self, st: "VideoState") -> tuple:
        from .finish import VideoWork

        work = VideoWork(st.video_id, st.name, st.key, st.chunks, st.index,
                         self.stamps[st.video_id])
        return (str(self.store_out), self.params_key, work, self.layout, self.track,
                self.refine_key, self.config)

    def _planned(self, ref, st: "VideoState") -> list[RefineTask]:
        """The planning task's chunks; planned here when its process died; none (the
        video's people keep the first pass, its refine chunks are written empty, as a chunk
        given up on is) when planning raised."""
        import ray

        try:
            return ray.get(ref)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.TaskUnschedulableError,
                ray.exceptions.NodeDiedError) as exc:
            log.warning("%s: planning its second look was lost (%s); planning it here",
                        st.name, exc)
            return plan_refine(*self._plan_args(st))
        except ray.exceptions.RayTaskError as exc:
            cause = exc.as_instanceof_cause()
            if isinstance(cause, OSError):
                raise cause from None
            log.error("%s: planning its second look failed (%s); its people keep the first "
                      "pass", st.name, cause)
            empty = refine_tables(*[[]] * 7, layout=self.layout)
            for s, e in st.chunks:
                if not self.rstore.is_done(st.key, s, e):
                    self.rstore.write(st.key, s, e, empty, 0.0)
            return []

    def busy(self) -> bool:
        return bool(self.inflight or self.ready)

    def collect(self, block: bool = False) -> None:
        """Take planned videos (waiting for one when ``block``) and queue their chunks."""
        import ray

        if self.inflight:
            ready, _ = ray.wait(list(self.inflight),
                                num_returns=1 if block else len(self.inflight),
                                timeout=None if block else 0)
            for ref in ready:
                st = self.inflight.pop(ref)
                tasks = self._planned(ref, st)
                self.remaining[st.video_id] = len(tasks)
                if not tasks:
                    self._finish(st)
                self.ready.extend(tasks)
        while self.ready and self.submit is not None:
            self.submit(self.ready.popleft())

    def chunk_done(self, res: "RefineResult | object", write: bool) -> None:
        """A refine chunk came back (a RefineResult, or a ChunkFailure: its people keep the
        first pass)."""
        task = res.task
        if isinstance(res, RefineResult):
            if write:
                self.rstore.write(task.key, task.start, task.end, res.tables, res.seconds)
            self.seconds += res.seconds
            self.people += res.people
            self.matched += res.matched
        else:
            log.error("second look at [%d, %d) of video %d given up (%s): its people keep "
                      "the first pass", task.start, task.end, task.video, res.reason)
            self.rstore.write(task.key, task.start, task.end,
                              refine_tables(*[[]] * 7, layout=self.layout), 0.0)
        self.frames += task.end - task.start
        self.remaining[task.video] -= 1
        if self.remaining[task.video] == 0:
            self._finish(self.states[task.video])

    def _finish(self, st: "VideoState") -> None:
        self.finisher.submit(st, self.stamps[st.video_id], refine=self.refine_key)

    def summary(self) -> dict:
        """This run's second look, for the manifest: people looked at, matched, actor
        seconds, and milliseconds per person."""
        return {"refine_key": self.refine_key, "people": self.people,
                "matched": self.matched, "seconds": round(self.seconds, 3),
                "ms_per_person": (round(1000 * self.seconds / self.people, 2)
                                  if self.people else None)}
