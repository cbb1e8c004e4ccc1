"""Benchmark: frames/s of every stage on real frames, end to end in one process, and end to end
through the batch job (Ray actors, chunks, Parquet writes), with the bare network measured in
the same run so the ratio means the same on any machine."""
from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow.parquet as pq

from .decode import (Frame, chunk_ranges, decode_range, index_video, picture_change,
                      picture_signature, upright)
from .engine.estimator import Estimator
from .runner.spec import JobSpec, params_key
from .engine.parse import parse_people
from .engine.postprocess import find_peaks, find_peaks_refined, split, upsample
from .engine.preprocess import preprocess
from .storage.schemas import CHUNK_SCHEMA_VERSION, frame_tables

BARE = "network (bare)"        # TensorFlow fp32 at the input size: every ratio is against it
NET = "network (as set)"       # with the precision, flip and scales asked for
REFERENCE_NET = "network (reference 432x368 fp32)"   # today's default's network, for cost
SEQUENTIAL = "end to end, one process"
TRACK = "finish video (track, smooth, write)"
RENDER = "render (side-by-side, one process)"
JOB = "end to end, job (Ray)"
REFINE_PERSON = "second look, per person (one process)"
REFINE_FRAME = "second look, per frame (one process)"
REFINE_JOB = "second look in the job (plan, chunks, refined tracking)"
REFINE_ACTOR_PERSON = "second look in the job: actor time per person"
DRIVER_CPU = "job: driver CPU"
ACTORS_CPU = "job: actors' CPU (all actors)"
VARIANT = "network: {}"        # each runtime/precision this machine runs, e.g. "openvino fp32"


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

    def ratio(self, stage: str) -> float:
        """Throughput of ``stage`` over the bare network's (medians of the same run)."""
        return self.median_ms(BARE) / self.median_ms(stage)


def _timed(fn: Callable[[], object], n: int) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) / n


def _decode(video: Path, n: int, idx=None) -> list[Frame]:
    """The first ``n`` frames, upright, as the job's actors see them."""
    idx = index_video(video) if idx is None else idx
    return [Frame(f.index, f.pts, f.time, upright(f.image, idx.turn))
            for f in decode_range(idx, 0, min(n, idx.frames))]


def bench_stages(video: Path, est: Estimator, frames: int, times: StageTimes,
                 bare: Estimator | None = None, reference: Estimator | None = None,
                 variants: dict[str, Estimator] | None = None, refine=None) -> None:
    """One repeat of each stage over the first ``frames`` frames, in this process: decode
    (PyAV, as the job's actors: the video's index is built beforehand, as the driver does),
    preprocess, network, peaks, parse, write (chunk tables to Parquet), and the whole chain
    frame by frame. ``bare``: the fp32 network without flip or extra scales at the same input
    size, when ``est`` is not that (timed as BARE, ``est``'s own as NET); ``reference``: the
    reference preset's estimator, whose network is timed too (REFERENCE_NET), so presets'
    costs compare within one run; ``variants``: one estimator per runtime/precision (label ->
    estimator), each network timed on the same inputs (VARIANT)."""
    from .storage.store import Store

    cfg, layout = est.config, est.layout
    idx = index_video(video)
    t = time.perf_counter()
    decoded = _decode(video, frames, idx)
    n = len(decoded)
    times.add("decode", (time.perf_counter() - t) / n)
    imgs = [f.image for f in decoded]

    def repeats():
        sigs = [picture_signature(im) for im in imgs]
        return [picture_change(a, b) for a, b in zip(sigs, sigs[1:])]

    times.add("repeat check", _timed(repeats, n))
    inputs = []
    times.add("preprocess", _timed(lambda: inputs.extend(est.prepare(f) for f in imgs), n))
    first = [(x[0] if isinstance(x, tuple) else x)[None] for x in inputs]
    nets = []
    if bare is not None:   # bf16, flip, scales: timed against the plain fp32 network
        times.add(BARE, _timed(lambda: [bare.runner.run(x) for x in first], n))
        times.add(NET, _timed(lambda: nets.extend(est._run(x) for x in inputs), n))
    else:
        times.add(BARE, _timed(lambda: nets.extend(est.runner.run(x)[0] for x in first), n))
    for name, v in (variants or {}).items():
        times.add(VARIANT.format(name), _timed(lambda: [v.runner.run(x) for x in first], n))
    if reference is not None:
        ref_inputs = [preprocess(f, reference.config)[None] for f in imgs]
        times.add(REFERENCE_NET, _timed(lambda: [reference.runner.run(x) for x in ref_inputs],
                                        n))
    # Post-processing frame by frame, as the pipeline runs it (each frame's maps are freed
    # before the next: holding all of them would time page faults, not the stages): peaks near
    # hot cells, then the parser sampling heat and PAFs from the network output. The whole
    # upsampled maps (the reference path, what `keep_maps` returns) are timed beside it.
    spent = dict.fromkeys(("peaks (near hot cells)", "parse", "whole maps: upsample",
                           "whole maps: smooth+peaks"), 0.0)
    parsed = []
    for o in nets:
        t0 = time.perf_counter()
        peaks, offsets = find_peaks_refined(o, layout, cfg.upsample, cfg.parser.heat_thresh,
                                            cfg.smooth_size, cfg.smooth_sigma, cfg.subpixel)
        t1 = time.perf_counter()
        heat, paf = split(o, layout)
        kp, sc = parse_people(peaks, heat, paf, layout, cfg.parser)
        parsed.append((kp if offsets is None else offsets.apply(kp), sc))
        t2 = time.perf_counter()
        u = upsample(o, cfg.upsample)
        t3 = time.perf_counter()
        find_peaks(split(u, layout)[0], layout, cfg.smooth_size, cfg.smooth_sigma)
        t4 = time.perf_counter()
        for k, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            spent[k] += dt
    for k, v in spent.items():
        times.add(k, v / n)
    rows = [{"frame": f.index, "pts": f.pts, "time": f.time, "status": "ok", "keypoints": kp,
             "scores": sc} for f, (kp, sc) in zip(decoded, parsed)]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp), "bench")
        times.add("write", _timed(lambda: store.write_chunk(
            "v", 0, n, frame_tables(rows, layout), 0.0, "seek"), n))

    def sequential():
        for f in decode_range(idx, 0, n):
            est.estimate(upright(f.image, idx.turn))

    times.add(SEQUENTIAL, _timed(sequential, n))
    if refine is not None and refine.enabled:
        _bench_refine(est, imgs, refine, times)


def _bench_refine(est: Estimator, imgs: list, refine, times: StageTimes) -> None:
    """The second look at every person the first pass found in ``imgs``, in this process:
    per person (REFINE_PERSON, the figure that scales a job: about one network run each)
    and per frame at this video's number of people (REFINE_FRAME)."""
    from .engine.refine import refine_result

    firsts = [est.estimate(im) for im in imgs]
    people = sum(r.n_people for r in firsts)
    t = time.perf_counter()
    for im, r in zip(imgs, firsts):
        refine_result(est, im, r.keypoints, r.scores, refine)
    spent = time.perf_counter() - t
    times.add(REFINE_FRAME, spent / len(imgs))
    if people:
        times.add(REFINE_PERSON, spent / people)


def bench_job(video: Path, spec: JobSpec, est: Estimator, frames: int, stage_frames: int,
              repeats: int, times: StageTimes, on_repeat: Callable[[int], None] = lambda i: None,
              bare: Estimator | None = None, reference: Estimator | None = None,
              variants: dict[str, Estimator] | None = None) -> dict:
    """Start the job's Ray runtime and actor pool once, then per repeat: the stages in this
    process (bare network included) and the job end to end over the first ``frames`` frames
    (chunks through the pool, each result written as the job writes it, then finishing the
    video: its detections read back, tracked, smoothed and its tables written). Actor start-up is
    not in the per-frame figures (it is paid once per job): it is reported on its own, with
    the time to the first finished chunk and each actor's resident memory."""
    from .runner.spec import refine_config, track_key
    from .engine.refine import refine_key
    from .runner import ChunkTask, local_cpus, ray_runtime, resolve_actors, start_pool
    from .runner.chunk import ChunkSink
    from .runner.finish import VideoWork, finish_video
    from .storage.store import Store

    second = refine_config(spec)
    rkey = refine_key(second, track_key(spec.track)) if second.enabled else None
    idx = index_video(video)
    frames = min(frames, idx.frames)
    tasks = [ChunkTask(0, "bench", s, e) for s, e in chunk_ranges(frames, spec.chunk)]
    actors = min(resolve_actors(spec, local_cpus()), len(tasks))
    est.network(_decode(video, 1)[0].image)  # warm-up
    t_start = time.perf_counter()
    startup: dict = {}
    with ray_runtime(spec, actors), tempfile.TemporaryDirectory() as tmp:
        import ray

        t_ray = time.perf_counter()
        pool, info = start_pool(spec, est.config, actors)
        startup.update(ray_s=t_ray - t_start, actors_s=time.perf_counter() - t_ray,
                       actor_rss=_rss([a["pid"] for a in info]))
        ref = ray.put(idx)
        store = Store(Path(tmp), params_key(est.spec.sha256 or "", est.config,
                                                     CHUNK_SCHEMA_VERSION))
        for r in range(repeats):
            bench_stages(video, est, stage_frames, times, bare, reference, variants, second)
            pids = [a["pid"] for a in info]
            cpu0, actors0 = time.process_time(), _cpu_seconds(pids)
            t = time.perf_counter()
            sink = ChunkSink(str(store.out), store.params_key,
                             ray.get_runtime_context().get_node_id())
            for task in tasks:
                pool.submit(lambda a, tk: a.process.remote(tk, ref, sink), task)
            while pool.has_next():
                res = pool.get_next_unordered()
                if res.tables is not None:     # as the job: actors here write their chunks
                    store.write_chunk("bench", res.task.start, res.task.end, res.tables,
                                      res.seconds, res.decode)
                # start-up plus the first chunk's own time (not the in-process stage timings
                # that precede the job in a repeat)
                startup.setdefault("first_chunk_s", startup["ray_s"] + startup["actors_s"]
                                   + time.perf_counter() - t)
            work = VideoWork(0, "bench", "bench", [(tk.start, tk.end) for tk in tasks],
                             dataclasses.replace(idx, container_frames=0), {}, rkey)
            if rkey is not None:
                _refine_job(pool, store, work, ref, sink, est, spec, second, times, frames)
            t_track = time.perf_counter()
            finish_video(store.out, store.params_key, work, est.layout, spec.track, {})
            done = time.perf_counter()
            times.add(DRIVER_CPU, (time.process_time() - cpu0) / frames)
            times.add(ACTORS_CPU, (_cpu_seconds(pids) - actors0) / frames)
            times.add(TRACK, (done - t_track) / frames)
            times.add(JOB, (done - t) / frames)
            times.add(RENDER, _render_time(store, idx, frames, spec, est.layout))
            on_repeat(r)
    return {"actors": actors, "threads": spec.threads, "frames": frames, "chunk": spec.chunk,
            "startup": startup,
            "chunks": len(tasks)}


def _refine_job(pool, store, work, ref, sink, est: Estimator, spec: JobSpec, second,
                times: StageTimes, frames: int) -> None:
    """The job's second look over the benchmarked frames, as the job runs it: plan the boxes
    from the first pass's tracks, the refine chunks through the actor pool (written as they
    come). Its earlier repeat's chunks are removed first, so each repeat does all of them."""
    import shutil

    from .runner.refine_job import RefineStore, plan_refine

    rstore = RefineStore(store.out, store.params_key, work.refine)
    shutil.rmtree(rstore.folder(work.key), ignore_errors=True)
    t = time.perf_counter()
    tasks = plan_refine(str(store.out), store.params_key, work, est.layout, spec.track,
                        work.refine, second)
    for task in tasks:
        pool.submit(lambda a, tk: a.refine.remote(tk, ref, sink), task)
    people, seconds = 0, 0.0
    while pool.has_next():
        res = pool.get_next_unordered()
        if res.tables is not None:
            rstore.write(res.task.key, res.task.start, res.task.end, res.tables, res.seconds)
        people, seconds = people + res.people, seconds + res.seconds
    times.add(REFINE_JOB, (time.perf_counter() - t) / frames)
    if people:
        times.add(REFINE_ACTOR_PERSON, seconds / people)


def _render_time(store, index, frames: int, spec: JobSpec, layout) -> float:
    """Seconds per frame to draw and encode the benchmarked frames side by side (the
    `posebatch render` default width), in this process, from the tracked tables."""
    import pandas as pd

    from .render.video import RenderOptions, Style, render_range

    kp = pq.read_table(store.dataset_path("keypoints", 0)).to_pandas()
    t = time.perf_counter()
    render_range(index, 0, frames, kp, pd.DataFrame(), RenderOptions(Style.SIDE_BY_SIDE),
                 layout, "bench")
    return (time.perf_counter() - t) / frames


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the local actor processes (and their threads) have used."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            c = psutil.Process(pid).cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def _rss(pids: list[int]) -> list[float]:
    """Resident memory (GB) of each local actor process (nothing for remote ones)."""
    import psutil

    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid).memory_info().rss / 1e9)
        except psutil.Error:
            pass
    return out
