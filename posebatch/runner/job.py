"""The batch job on Ray: videos -> frame chunks -> a pool of pose actors -> Parquet tables.

The driver indexes every video (packets only), plans chunks, skips the ones already finished
in the output folder, and hands the rest to a pool of actors (``ChunkPool``, two chunks in
flight per actor). Each actor loads the graph and the parser once; a chunk's result (three
small Arrow tables) is written by the actor when it runs on the driver's node (where the
output folder is), otherwise it comes back to the driver, which writes it. When a
video's last chunk lands, a task on this node tracks it and writes its dataset files
(``finish``); at the end the driver writes only the videos index and the manifest.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections import Counter
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from .. import __version__
from ..engine.config import PoseConfig
from ..decode import frame_range, index_video
from ..errors import PosebatchError, ResumableError, VideoError
from .spec import (Discovery, JobSpec, discover, params_key, pose_config,
                   refine_config, track_key, video_trims)
from ..engine.quality import describe
from ..engine.layout import KeypointLayout, get_layout
from ..engine.refine import refine_key
from ..storage.store import (DATASETS, Store, fingerprint, output_lock, video_key,
                             video_stamp)
from ..storage.schemas import CHUNK_SCHEMA_VERSION
from .chunk import ChunkResult, ChunkSink, ChunkTask, failed_chunk_tables
from .cluster import (ChunkFailure, ChunkPool, local_cpus, ray_runtime, resolve_actors,
                      start_pool)
from .finish import Finisher, InlineFinisher
from .outcome import JobReport, Progress, VideoState, manifest_video, problem_row, video_row
from .refine_job import RefineResult, RefineStage, RefineStore, RefineTask

log = logging.getLogger(__name__)


def versions() -> dict[str, str]:
    out = {"posebatch": __version__}
    for dist in ("tensorflow", "ray", "pyarrow", "numpy", "av"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


# An actor takes about 3 s of a CPU to start (TensorFlow, the graph, a warm-up; 2-core Xeon,
# 2026-11-30), the time of some 40 frames: a job with little to do gets fewer actors than
# CPUs, one per this many frames to analyse (a 32-frame job: 13.5 -> 12.4 s with one actor).
FRAMES_PER_ACTOR = 64


def run_job(spec: JobSpec, progress: Progress | None = None,
            resolve_asset: Callable[[str], Path] | None = None) -> JobReport:
    """Run (or resume) a job. Bad inputs are reported in the tables, never raised. One job
    at a time per output folder (a second one is refused)."""
    found = discover(spec.inputs, spec.extensions, resolve_asset)
    trims = video_trims(spec, found.videos)     # before anything is written
    try:
        with output_lock(Path(spec.out)):
            return _run_job(spec, progress, found, trims)
    except OSError as exc:       # the output's disk: full, read-only, gone
        where = f" {exc.filename}" if exc.filename else ""
        raise ResumableError(f"cannot write{where}: {exc.strerror or exc}; finished chunks are "
                             "saved: fix that (free space, permissions) and rerun the same "
                             "command to resume") from None


def _run_job(spec: JobSpec, progress: Progress | None, found: Discovery,
             trims: dict[str, tuple]) -> JobReport:
    from ..models.fetch import ensure_model
    from ..storage.atomic import sha256_file

    t_job, cpu_job = time.perf_counter(), time.process_time()
    progress = progress or Progress()
    out = Path(spec.out)
    model, model_path = ensure_model(spec.model)
    model_sha = model.sha256 or sha256_file(model_path)
    config = pose_config(spec, model.input_size)
    pkey = params_key(model_sha, config, CHUNK_SCHEMA_VERSION)
    tkey = track_key(spec.track)
    second = refine_config(spec)
    rkey = refine_key(second, tkey) if second.enabled else None
    layout = get_layout(model.layout)
    store = Store(out, pkey)
    if spec.force:
        store.clear()
    params = {k: v for k, v in dataclasses.asdict(spec).items() if k not in ("force",)}
    params["config"] = dataclasses.asdict(config)
    params["refine_config"] = dataclasses.asdict(second)
    job_meta = {"params": params, "params_key": pkey, "track_key": tkey, "refine_key": rkey,
                "model": {"name": model.name, "sha256": model_sha, "layout": model.layout},
                "versions": versions()}
    # A video's dataset files describe what their content depends on (they may come from an
    # earlier run of the job with other run options); the index carries the whole job.
    table_meta = {"params_key": pkey, "track_key": tkey, "config": params["config"],
                  "track": params["track"], "refine_key": rkey,
                  "refine": params["refine_config"] if rkey else None,
                  "model": job_meta["model"], "versions": job_meta["versions"]}

    states = [VideoState(i, v.name, v.path) for i, v in enumerate(found.videos)]
    plan_s = _plan(states, spec.chunk, trims)
    pending = [ChunkTask(st.video_id, st.key, s, e, st.span.every) for st in states
               if st.index is not None for s, e in st.chunks if not store.is_done(st.key, s, e)]
    per_video = Counter(t.video for t in pending)
    for st in states:
        st.remaining = per_video[st.video_id]
    total = sum(st.span.count for st in states if st.index is not None)
    todo = sum(t.frames for t in pending)
    # A video's dataset files are reused when they carry its stamp; all others go now, so the
    # datasets only ever hold files of this job.
    stamps = {st.video_id: video_stamp(st.video_id, st.name, st.key, pkey, tkey, rkey,
                                       st.range_entry())
              for st in states if st.index is not None}
    stats = {vid: store.video_stats(vid, stamp) for vid, stamp in stamps.items()}
    stats = {vid: s for vid, s in stats.items() if s is not None and per_video[vid] == 0}
    to_finish = [st for st in states if st.index is not None and st.video_id not in stats]
    store.prune(set(stats))
    legacy = store.legacy_tables()
    if legacy:
        log.warning("%s holds tables of an older posebatch (%s): they are rebuilt as "
                    "datasets from the stored detections", out,
                    ", ".join(sorted(legacy.values())))
        store.remove_legacy()

    manifest = {
        "schema": "posebatch.job/1", "state": "running",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), **job_meta,
        "videos": [manifest_video(st, store) for st in states],
        "problems": [dataclasses.asdict(p) for p in found.problems],
    }
    if pending or to_finish:
        store.remove_index()
    store.write_manifest(manifest)

    nodes: dict[str, int] = {}
    results_bad: dict[int, int] = {}
    t_planned = t_last_chunk = time.perf_counter()
    first_chunk: list[float] = []
    cpu_planned = cpu_last_chunk = time.process_time()
    chunk_cpu: list[float] = []
    progress.start(total, total - todo, len(states))
    runtime = contextlib.ExitStack()    # Ray, when there is work: shut down however we leave
    try:
        if pending or to_finish:
            # the second look's chunks still to do (the same ranges as the first pass's)
            refine_todo = 0
            if rkey:
                rstore = RefineStore(out, pkey, rkey)
                refine_todo = sum(not rstore.is_done(st.key, s, e)
                                  for st in to_finish for s, e in st.chunks)
            work = len(pending) + refine_todo
            actors = min(resolve_actors(spec, local_cpus()), max(work, 1))
            if not spec.actors and not spec.address:    # automatic: as the work needs
                frames = todo + refine_todo * spec.chunk
                actors = min(actors, max(1, -(-frames // FRAMES_PER_ACTOR)))
            finisher: Finisher | InlineFinisher
            if work or rkey:
                runtime.enter_context(ray_runtime(spec, actors))
                finisher = Finisher(store, layout, spec.track, table_meta, actors)
            else:       # only tables to write: no runtime to start for that
                finisher = InlineFinisher(store, layout, spec.track, table_meta)
            stage = (RefineStage(out, pkey, rkey, second, layout, spec.track, finisher, stamps)
                     if rkey else None)
            waiting = {st.video_id for st in to_finish}

            def finish_if_done(st: VideoState) -> None:
                if st.remaining == 0 and st.video_id in waiting:
                    waiting.discard(st.video_id)
                    if stage is not None:       # its second look first
                        stage.video_done(st)
                    elif (isinstance(finisher, Finisher) and finisher.idle
                          and not any(s.remaining for s in states)):
                        finisher.finish_here(st, stamps[st.video_id])   # the last one
                    else:
                        finisher.submit(st, stamps[st.video_id])

            def between() -> None:
                finisher.collect()
                if stage is not None:
                    stage.collect()

            for st in to_finish:
                finish_if_done(st)
            if work:
                if spec.address:
                    actors = min(resolve_actors(spec, _cluster_cpus(spec)), work)
                pool = _start_pool(spec, config, actors, work, progress, manifest, store)
                try:
                    chunk_cpu = _infer(pool, pending, states, store, nodes, results_bad,
                                       progress, on_video_done=finish_if_done,
                                       between=between, first=first_chunk,
                                       layout=layout, stage=stage)
                finally:
                    pool.close()
                    manifest.update(actors=pool.info, cluster=pool.events)
                t_last_chunk, cpu_last_chunk = time.perf_counter(), time.process_time()
            while stage is not None and stage.busy():     # planned with nothing to look at
                stage.collect(block=True)
            finisher.finish()
            stats.update(finisher.stats)
            if stage is not None:
                manifest["refine"] = stage.summary()
    except KeyboardInterrupt:
        manifest["state"] = "interrupted"
        _try_write_manifest(store, manifest)
        raise
    except (PosebatchError, OSError) as exc:
        manifest.update(state="failed", error=str(exc))
        _try_write_manifest(store, manifest)
        raise
    finally:
        runtime.close()
        progress.stop()

    # Every video's tables are on disk now: the index and the manifest close the job.
    rows = [video_row(st, stats.get(st.video_id)) for st in states]
    for p in found.problems:
        rows.append(problem_row(len(rows), p))
    paths = {t: out / t for t in DATASETS}
    paths["videos"] = store.write_videos(rows, job_meta)
    t_end = time.perf_counter()
    manifest.update(
        state="complete", finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        videos=[{**manifest_video(st, store), "status": r["status"], "error": r["error"]}
                for st, r in zip(states, rows)],
        tables={k: str(v.relative_to(out)) for k, v in paths.items()},
        nodes=nodes, seconds=round(t_end - t_job, 3),
        timing=_timing(plan_s, (t_job, t_planned, t_last_chunk, t_end),
                       (cpu_job, cpu_planned, cpu_last_chunk), chunk_cpu, todo,
                       first_chunk[0] - t_job if first_chunk else None),
    )
    manifest_path = store.write_manifest(manifest)
    return JobReport(out=out, videos=rows, problems=manifest["problems"], tables=paths,
                     manifest=manifest_path, frames_done=todo, frames_total=total,
                     seconds=time.perf_counter() - t_job, nodes=nodes,
                     settings=f"quality {spec.quality.value}: {describe(config)}"
                              + (", a second look at each person (refine people)"
                                 if rkey else ""))


def _start_pool(spec: JobSpec, config: PoseConfig, actors: int, cap: int, progress: Progress,
                manifest: dict, store: Store) -> ChunkPool:
    """The pool of pose actors, followed as actors and nodes come and go: the progress by
    the actors that work, the manifest by its ``actors`` and ``cluster`` (node losses and
    joins, written as they happen)."""
    def changed(event: dict | None) -> None:
        progress.actors(pool.working)
        if event is not None:
            manifest.update(actors=pool.info, cluster=pool.events)
            store.write_manifest(manifest)

    pool, _ = start_pool(spec, config, actors, cap=cap, on_change=changed)
    manifest.update(actors=pool.info, cluster=pool.events)
    progress.actors(pool.working)
    return pool


def _try_write_manifest(store: Store, manifest: dict) -> None:
    """Record how the job ended, if the disk lets us (it may be the disk that failed)."""
    try:
        store.write_manifest(manifest)
    except OSError as exc:
        log.error("could not record the job's state in %s: %s", store.out, exc)


def _plan(states: list[VideoState], chunk: int, trims: dict[str, tuple]) -> float:
    """Fingerprint and index every video (packets only), find the frames to analyse
    (``trims``: the video's start, end and stride) and cut them into chunks; a video that
    cannot be read, or whose range holds no frame, is marked failed, with the reason. Returns
    the seconds it took.

    A chunk's result depends only on the video, the settings, the stride and its frames: the
    stride is part of the chunk store's video key (``VIDEOKEY.everyN``, none for 1) and a
    chunk's file is named by its first and last frames, so a rerun reuses exactly the chunks
    whose frames it analyses again, and nothing else."""
    t = time.perf_counter()
    for st in states:
        try:
            st.size = st.path.stat().st_size
            st.fingerprint = fingerprint(st.path)
            st.index = index_video(st.path)
            if st.index.frames == 0:
                raise VideoError(f"{st.path}: the video stream holds no frames")
            start, end, every = trims.get(st.name, (None, None, 1))
            st.span = frame_range(st.index, start, end, every)
            if st.span.count == 0:
                n, last, st.index = st.index.frames, st.index.times()[-1], None
                raise VideoError(f"{st.path}: the range from {start or 'its start'} to "
                                 f"{end or 'its end'} holds none of its frames (it has {n} "
                                 f"frames, the last at {last:.3f} s)")
        except (OSError, VideoError) as exc:
            st.status = "error"
            st.error = str(exc) if isinstance(exc, VideoError) else f"{st.path}: cannot read " \
                f"({exc.strerror or exc})"
            log.error("%s", st.error)
            continue
        st.key = video_key(st.path, st.fingerprint) + (
            f".every{st.span.every}" if st.span.every > 1 else "")
        st.chunks = st.span.chunks(chunk)
    return time.perf_counter() - t


def _cluster_cpus(spec: JobSpec) -> int:
    """CPUs the actors may use: this machine's, or the connected cluster's."""
    if not spec.address:
        return local_cpus()
    import ray

    return int(ray.cluster_resources().get("CPU", 1))


def _timing(plan_s: float, wall: tuple[float, float, float, float],
            cpu: tuple[float, float, float], chunk_cpu: list[float], frames: int,
            first_chunk_s: float | None) -> dict:
    """What the driver cost this run (the manifest's ``timing``): how long planning took
    (indexing), the start, the first chunk, inference and the tail after the last chunk
    (``wall``: start, planned, last chunk, end);
    its CPU time (every thread of the process; ``cpu``: start, planned, last chunk), in all
    and while chunks came in, and the main thread's per chunk result; its peak resident
    memory."""
    import resource

    t_job, t_planned, t_last_chunk, t_end = wall
    cpu_job, cpu_planned, cpu_last_chunk = cpu
    return {
        "plan_s": round(plan_s, 3), "start_s": round(t_planned - t_job, 3),
        "first_chunk_s": None if first_chunk_s is None else round(first_chunk_s, 3),
        "infer_s": round(t_last_chunk - t_planned, 3),
        "tail_s": round(t_end - t_last_chunk, 3), "frames_done": frames,
        "chunks": len(chunk_cpu), "driver_cpu_s": round(time.process_time() - cpu_job, 3),
        "plan_cpu_s": round(cpu_planned - cpu_job, 3),
        "infer_cpu_s": round(cpu_last_chunk - cpu_planned, 3),
        "chunk_ms_mean": round(1000 * sum(chunk_cpu) / max(len(chunk_cpu), 1), 3),
        "chunk_ms_max": round(1000 * max(chunk_cpu, default=0.0), 3),
        "driver_peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
    }


def _infer(pool, pending: list[ChunkTask], states: list[VideoState], store: Store,
           nodes: dict[str, int], results_bad: dict[int, int], progress: Progress,
           on_video_done: Callable[[VideoState], None], between: Callable[[], None],
           first: list[float], layout: KeypointLayout,
           stage: RefineStage | None = None) -> list[float]:
    """Hand every pending chunk to the actor pool and write each result as it arrives;
    return the driver's main-thread CPU seconds spent on each result (``first`` gets the
    time the first result came). With a refine ``stage``, its chunks (planned as videos'
    first passes complete) go through the same pool."""
    import ray

    # Each call carries its video's index by value (a few kilobytes; Ray stores a large one
    # per call): an object shared by all of a video's chunks would also be held by any node
    # that fetched it, and once such a node is lost, the next actor to fetch it waits for
    # Ray's pull from the dead node to time out (10 s in the tests).
    indexes = {st.video_id: st.index for st in states
               if st.remaining or stage is not None and st.index is not None}
    sink = ChunkSink(str(store.out), store.params_key, ray.get_runtime_context().get_node_id())
    for task in pending:
        pool.submit(lambda a, t: a.process.remote(t, indexes[t.video], sink), task)
    if stage is not None:
        stage.submit = lambda task: pool.submit(
            lambda a, t: a.refine.remote(t, indexes[t.video], sink), task)
        stage.collect()
    spent = []
    n_done = sum(1 for s in states if s.index is None or s.remaining == 0)
    n_failed = sum(1 for s in states if s.index is None)
    while pool.has_next() or stage is not None and stage.busy():
        if not pool.has_next():         # only plans in flight: wait for one
            stage.collect(block=True)
            continue
        cpu = time.thread_time()
        try:
            res: ChunkResult | ChunkFailure = pool.get_next_unordered()
        except ray.exceptions.RayActorError as exc:    # and no successor could be made
            raise ResumableError(
                f"a pose actor died ({exc}); finished chunks are saved: rerun "
                "the same command to resume") from None
        except OSError as exc:
            raise ResumableError(
                f"a pose actor could not write its chunk ({exc.strerror or exc}); finished "
                "chunks are saved: fix that (space, permissions) and rerun the same command "
                "to resume") from None
        if isinstance(res.task, RefineTask):
            stage.chunk_done(res, write=isinstance(res, RefineResult) and res.tables is not None)
            between()
            spent.append(time.thread_time() - cpu)
            continue
        if isinstance(res, ChunkFailure):
            t = res.task
            res = ChunkResult(t, failed_chunk_tables(states[t.video].index, t, res.reason,
                                                     layout), "failed", res.reason, 0.0,
                              bad_frames=t.frames)
        if not first:
            first.append(time.perf_counter())
        t = res.task
        if res.note:
            log.info("%s [%d, %d): decoded %s: %s", states[t.video].name, t.start,
                     t.end, res.decode, res.note)
        if res.tables is not None:      # an actor on another node: the driver writes
            store.write_chunk(t.key, t.start, t.end, res.tables, res.seconds, res.decode)
        nodes[res.node] = nodes.get(res.node, 0) + 1
        st = states[t.video]
        st.remaining -= 1
        results_bad[t.video] = results_bad.get(t.video, 0) + res.bad_frames
        if st.remaining == 0:
            n_done += 1
            n_failed += results_bad[t.video] > 0
        progress.advance(t.frames, n_done, n_failed)
        if st.remaining == 0:
            on_video_done(st)
        between()
        spent.append(time.thread_time() - cpu)
    return spent
