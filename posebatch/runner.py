"""The batch job on Ray: videos -> frame chunks -> a pool of pose actors -> Parquet tables.

The driver indexes every video (packets only), plans chunks, skips the ones already finished
in the output folder, and hands the rest to a ``ray.util.ActorPool``. Each actor loads the
graph and the parser once; a chunk's result (three small Arrow tables) comes back to the
driver, which writes it as soon as it arrives, so at most one result per actor is in memory.
"""
from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .config import PoseConfig, RuntimeConfig
from .decode import (ChunkOutcome, VideoIndex, chunk_ranges, decode_range, index_video,
                     upright)
from .errors import ConfigError, PosebatchError, VideoError
from .job import JobSpec, discover, fingerprint, params_key, pose_config, track_key
from .layout import KeypointLayout, get_layout
from .store import Store, video_key
from .write import (CHUNK_FRAMES, CHUNK_SCHEMA_VERSION, SCHEMA_VERSION, frame_tables,
                    status_array)

log = logging.getLogger(__name__)

_ACTOR_START_TIMEOUT = 300.0


def versions() -> dict[str, str]:
    out = {"posebatch": __version__}
    for dist in ("tensorflow", "ray", "pyarrow", "numpy", "av"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


# --- the work of one chunk (no Ray here: the actor is a thin shell around it) ----------------

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
    record: frames the decoder did not produce are ``decode_error`` with the reason."""
    t0 = time.perf_counter()
    outcome = ChunkOutcome()
    records: dict[int, dict] = {}
    stop_error = None
    try:
        for fr in decode_range(index, task.start, task.end, outcome):
            rec = {"frame": fr.index, "pts": fr.pts, "time": fr.time}
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
        from .estimator import Estimator

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


# --- Ray runtime ------------------------------------------------------------------------------

def local_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_actors(spec: JobSpec, cpus: int) -> int:
    return spec.actors or max(1, cpus // spec.threads)


@contextlib.contextmanager
def ray_runtime(spec: JobSpec, actors: int) -> Iterator[None]:
    """Connect to ``spec.address`` or start a local runtime holding exactly the CPUs the
    actors ask for; always shut down the connection (and a local runtime) on the way out,
    including on Ctrl-C or SIGTERM."""
    import ray

    env = {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}}
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):  # SIGTERM is handled like Ctrl-C: clean shutdown, then exit
        raise KeyboardInterrupt

    if spec.address:
        ray.init(address=spec.address, runtime_env=env, log_to_driver=False,
                 logging_level=logging.WARNING)
    else:
        ray.init(address="local", num_cpus=actors * spec.threads, num_gpus=0,
                 include_dashboard=False, object_store_memory=256 * 2**20,
                 runtime_env=env, log_to_driver=False, logging_level=logging.WARNING)
    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        ray.shutdown()


def start_pool(spec: JobSpec, config: PoseConfig, actors: int):
    """``actors`` PoseWorkers (each reserving ``threads`` CPUs), warmed up; (pool, info)."""
    import ray
    from ray.util import ActorPool

    cls = ray.remote(num_cpus=spec.threads, max_restarts=0)(PoseWorker)
    runtime = RuntimeConfig(intra_threads=spec.threads, inter_threads=1)
    handles = [cls.remote(spec.model, config, runtime) for _ in range(actors)]
    try:
        info = ray.get([h.ready.remote() for h in handles], timeout=_ACTOR_START_TIMEOUT)
    except ray.exceptions.GetTimeoutError:
        have = ray.cluster_resources().get("CPU", 0)
        raise ConfigError(
            f"{actors} actors x {spec.threads} threads did not start within "
            f"{_ACTOR_START_TIMEOUT:.0f} s; the cluster has {have:g} CPUs. Ask for fewer "
            "(--actors, --threads) or add nodes.") from None
    except ray.exceptions.RayActorError as exc:
        raise PosebatchError(f"a pose actor failed to start: {exc}") from None
    return ActorPool(handles), info


class Tracking:
    """Tracks each video once all its chunks are done: one Ray task per video (a light one,
    reserving no CPU, so it runs beside the pose actors), at most ``limit`` in flight; the
    driver reads the video's detections from the store and writes the tracked tables back."""

    def __init__(self, store: Store, tkey: str, spec: JobSpec, layout: KeypointLayout,
                 limit: int):
        import ray

        from .track.tables import track_tables

        self.store, self.tkey, self.spec, self.layout = store, tkey, spec, layout
        self.limit = max(1, limit)
        self.task = ray.remote(num_cpus=0, max_retries=1)(track_tables)
        self.inflight: dict = {}
        self.errors: dict[int, str] = {}

    def submit(self, st: "VideoState") -> None:
        while len(self.inflight) >= self.limit:
            self.collect(block=True)
        read = lambda t: self.store.read_video(st.key, st.chunks, t)  # noqa: E731
        ref = self.task.remote(read("keypoints"), read("people"), read("frames"), self.layout,
                               self.spec.track)
        self.inflight[ref] = st

    def collect(self, block: bool = False) -> None:
        """Write the tracks that are ready (wait for one when ``block``; all with ``None``)."""
        import ray

        if not self.inflight:
            return
        ready, _ = ray.wait(list(self.inflight), num_returns=1 if block else len(self.inflight),
                            timeout=None if block else 0)
        for ref in ready:
            st = self.inflight.pop(ref)
            try:
                self.store.write_tracked(st.key, self.tkey, ray.get(ref))
            except ray.exceptions.RayError as exc:
                self.errors[st.video_id] = f"tracking failed: {exc}"
                log.error("%s: tracking failed: %s", st.name, exc)

    def finish(self) -> None:
        while self.inflight:
            self.collect(block=True)


# --- the job ----------------------------------------------------------------------------------

@dataclass
class VideoState:
    """Everything the driver knows about one input as the job goes."""

    video_id: int
    name: str
    path: Path
    size: int | None = None
    fingerprint: str | None = None
    index: VideoIndex | None = None
    key: str = ""
    chunks: list[tuple[int, int]] = field(default_factory=list)
    remaining: int = 0
    status: str = "ok"
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status != "ok"


@dataclass
class JobReport:
    out: Path
    videos: list[dict]
    problems: list[dict]
    tables: dict[str, Path]
    manifest: Path
    frames_done: int          # frames computed in this run
    frames_total: int
    seconds: float
    nodes: dict[str, int]

    @property
    def failed(self) -> list[dict]:
        return [v for v in self.videos if v["status"] != "ok"]


class Progress:
    """What the runner tells its caller; the CLI draws it with rich."""

    def start(self, total_frames: int, done_frames: int, videos: int) -> None: ...
    def advance(self, frames: int, videos_done: int, videos_failed: int) -> None: ...
    def stop(self) -> None: ...


def _missing_rows(index: VideoIndex) -> pa.Table | None:
    """Frames the container header promises beyond those it holds (a cut file): status
    ``missing``, no timestamp."""
    n = index.container_frames - index.frames
    if n <= 0:
        return None
    frames = list(range(index.frames, index.container_frames))
    return pa.table({
        "frame": pa.array(frames, pa.int32()), "pts": pa.nulls(n, pa.int64()),
        "time": pa.nulls(n, pa.float64()), "status": status_array(["missing"] * n),
        "people": pa.array(np.zeros(n, np.int16)),
        "error": pa.array([f"the container lists {index.container_frames} frames but holds "
                           f"packets for {index.frames}"] * n, pa.string()),
    }, schema=CHUNK_FRAMES)


def run_job(spec: JobSpec, progress: Progress | None = None,
            resolve_asset: Callable[[str], Path] | None = None) -> JobReport:
    """Run (or resume) a job. Bad inputs are reported in the tables, never raised."""
    from .fetch import ensure_model, sha256_file

    t_job = time.perf_counter()
    progress = progress or Progress()
    out = Path(spec.out)
    model, model_path = ensure_model(spec.model)
    model_sha = model.sha256 or sha256_file(model_path)
    config = pose_config(spec, model.input_size)
    pkey = params_key(model_sha, config, CHUNK_SCHEMA_VERSION)
    tkey = track_key(spec.track)
    layout = get_layout(model.layout)
    store = Store(out, pkey)
    if spec.force:
        store.clear()
    params = {k: v for k, v in dataclasses.asdict(spec).items() if k not in ("force",)}
    params["config"] = dataclasses.asdict(config)
    job_meta = {"params": params, "params_key": pkey, "track_key": tkey,
                "model": {"name": model.name, "sha256": model_sha}, "versions": versions()}

    found = discover(spec.inputs, spec.extensions, resolve_asset)
    states = [VideoState(i, v.name, v.path) for i, v in enumerate(found.videos)]
    for st in states:
        try:
            st.size = st.path.stat().st_size
            st.fingerprint = fingerprint(st.path)
            st.index = index_video(st.path)
            if st.index.frames == 0:
                raise VideoError(f"{st.path}: the video stream holds no frames")
        except (OSError, VideoError) as exc:
            st.status = "error"
            st.error = str(exc) if isinstance(exc, VideoError) else f"{st.path}: cannot read " \
                f"({exc.strerror or exc})"
            log.error("%s", st.error)
            continue
        st.key = video_key(st.path, st.fingerprint)
        st.chunks = chunk_ranges(st.index.frames, spec.chunk)

    pending = [ChunkTask(st.video_id, st.key, s, e) for st in states if st.index is not None
               for s, e in st.chunks if not store.is_done(st.key, s, e)]
    per_video = Counter(t.video for t in pending)
    for st in states:
        st.remaining = per_video[st.video_id]
    total = sum(st.index.frames for st in states if st.index is not None)
    todo = sum(t.end - t.start for t in pending)
    to_track = [st for st in states if st.index is not None
                and not store.is_tracked(st.key, tkey)]
    old_tables = {v for v in store.table_versions().values() if not v.endswith(
        f"/{SCHEMA_VERSION}")}
    if old_tables:
        log.warning("%s holds tables of an older posebatch (%s): they are rebuilt from the "
                    "stored detections", out, ", ".join(sorted(old_tables)))

    manifest = {
        "schema": "posebatch.job/1", "state": "running",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), **job_meta,
        "videos": [_manifest_video(st, store) for st in states],
        "problems": [dataclasses.asdict(p) for p in found.problems],
    }
    if pending or to_track or old_tables:
        store.remove_tables()
    store.write_manifest(manifest)

    nodes: dict[str, int] = {}
    results_bad: dict[int, int] = {}
    progress.start(total, total - todo, len(states))
    tracking = None
    try:
        if pending or to_track:
            actors = min(resolve_actors(spec, local_cpus()), max(len(pending), 1))
            with ray_runtime(spec, actors):
                import ray

                tracking = Tracking(store, tkey, spec, layout, actors)
                waiting = {st.video_id for st in to_track}

                def track_if_done(st: VideoState) -> None:
                    if st.remaining == 0 and st.video_id in waiting:
                        waiting.discard(st.video_id)
                        tracking.submit(st)

                for st in to_track:
                    track_if_done(st)
                if pending:
                    if spec.address:
                        cpus = int(ray.cluster_resources().get("CPU", 1))
                        actors = min(resolve_actors(spec, cpus), len(pending))
                    pool, info = start_pool(spec, config, actors)
                    manifest["actors"] = info
                    _infer(pool, pending, states, store, nodes, results_bad, progress,
                           on_video_done=track_if_done, between=tracking.collect)
                tracking.finish()
    except KeyboardInterrupt:
        manifest["state"] = "interrupted"
        store.write_manifest(manifest)
        raise
    except PosebatchError as exc:
        manifest.update(state="failed", error=str(exc))
        store.write_manifest(manifest)
        raise
    finally:
        progress.stop()

    # Every chunk and track is on disk now: the outcomes and final tables come from there.
    track_errors = tracking.errors if tracking else {}
    rows = [_video_row(st, store, tkey, track_errors.get(st.video_id)) for st in states]
    for p in found.problems:
        rows.append(_problem_row(len(rows), p))

    def parts(video_id: int, table: str) -> Iterator[pa.Table]:
        st = states[video_id]
        if st.index is None:
            return
        if table == "frames":
            yield from (store.read_chunk(st.key, s, e, "frames") for s, e in st.chunks)
            missing = _missing_rows(st.index)
            if missing is not None:
                yield missing
        elif store.is_tracked(st.key, tkey):
            yield store.read_tracked(st.key, tkey, table)
        else:  # tracking failed (reported): the detections, untracked
            yield _untracked(st, store, layout)[table]

    paths = store.assemble([(st.video_id, st.name) for st in states], parts, job_meta)
    paths["videos"] = store.write_videos(rows, job_meta)
    manifest.update(
        state="complete", finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        videos=[{**_manifest_video(st, store), "status": r["status"], "error": r["error"]}
                for st, r in zip(states, rows)],
        tables={k: str(v.name) for k, v in paths.items()},
        nodes=nodes, seconds=round(time.perf_counter() - t_job, 3),
    )
    manifest_path = store.write_manifest(manifest)
    return JobReport(out=out, videos=rows, problems=manifest["problems"], tables=paths,
                     manifest=manifest_path, frames_done=todo, frames_total=total,
                     seconds=time.perf_counter() - t_job, nodes=nodes)


def _infer(pool, pending: list[ChunkTask], states: list[VideoState], store: Store,
           nodes: dict[str, int], results_bad: dict[int, int], progress: Progress,
           on_video_done: Callable[[VideoState], None], between: Callable[[], None]) -> None:
    """Hand every pending chunk to the actor pool and write each result as it arrives."""
    import ray

    refs = {st.video_id: ray.put(st.index) for st in states if st.remaining}
    for task in pending:
        pool.submit(lambda a, t: a.process.remote(t, refs[t.video]), task)
    while pool.has_next():
        try:
            res: ChunkResult = pool.get_next_unordered()
        except ray.exceptions.RayActorError as exc:
            raise PosebatchError(
                f"a pose actor died ({exc}); finished chunks are saved: rerun "
                "the same command to resume") from None
        t = res.task
        if res.note:
            log.info("%s [%d, %d): decoded %s: %s", states[t.video].name, t.start,
                     t.end, res.decode, res.note)
        store.write_chunk(t.key, t.start, t.end, res.tables, res.seconds, res.decode)
        nodes[res.node] = nodes.get(res.node, 0) + 1
        st = states[t.video]
        st.remaining -= 1
        results_bad[t.video] = results_bad.get(t.video, 0) + res.bad_frames
        done = [s for s in states if s.index is None or s.remaining == 0]
        progress.advance(t.end - t.start, len(done),
                         sum(1 for s in done if s.index is None or results_bad.get(s.video_id)))
        if st.remaining == 0:
            on_video_done(st)
        between()


def _manifest_video(st: VideoState, store: Store) -> dict:
    return {"video_id": st.video_id, "name": st.name, "path": str(st.path),
            "fingerprint": st.fingerprint, "frames": st.index.frames if st.index else None,
            "chunks": st.chunks, "store": str(store.chunk_dir(st.key).relative_to(store.out))
            if st.key else None, "status": st.status if st.failed else "pending",
            "error": st.error}


def _untracked(st: VideoState, store: Store, layout: KeypointLayout) -> dict[str, pa.Table]:
    from .config import TrackConfig
    from .track.tables import track_tables

    read = lambda t: store.read_video(st.key, st.chunks, t)  # noqa: E731
    return track_tables(read("keypoints"), read("people"), read("frames"), layout,
                        TrackConfig(enabled=False))


def _video_row(st: VideoState, store: Store, tkey: str, track_error: str | None) -> dict:
    import pyarrow.compute as pc

    idx = st.index
    row = _empty_row(st.video_id, st.name, str(st.path), fingerprint=st.fingerprint,
                     size=st.size, status=st.status, error=st.error)
    if idx is None:
        return row
    decoded = people = bad = 0
    seconds = 0.0
    first_error = None
    methods = set()
    for s, e in st.chunks:
        frames = store.read_chunk(st.key, s, e, "frames")
        status = frames["status"].cast(pa.string())
        ok = pc.equal(status, "ok")
        decoded += frames.num_rows - (pc.sum(pc.equal(status, "decode_error")).as_py() or 0)
        people += pc.sum(pc.greater(frames["people"], 0)).as_py() or 0
        n_bad = frames.num_rows - (pc.sum(ok).as_py() or 0)
        if n_bad and first_error is None:
            first_error = frames.filter(pc.invert(ok))["error"][0].as_py()
        bad += n_bad
        sec, method = store.chunk_info(st.key, s, e)
        seconds += sec
        methods.add(method)
    missing = max(0, idx.container_frames - idx.frames)
    tracks = (pq.read_metadata(store.tracked_path(st.key, tkey, "tracks")).num_rows
              if store.is_tracked(st.key, tkey) else None)
    row.update(container_frames=idx.container_frames, frames=idx.frames + missing,
               tracks=tracks,
               decoded_frames=decoded, people_frames=people, fps=idx.fps,
               width=idx.display_size[0], height=idx.display_size[1], codec=idx.codec,
               rotation=idx.turn,
               decode="from_start" if "from_start" in methods else "seek",
               seconds=round(seconds, 3))
    if bad or missing or track_error:
        row["status"] = "partial"
        parts = []
        if bad:
            parts.append(f"{bad} of {idx.frames} frames failed (first: {first_error})")
        if missing:
            parts.append(f"{missing} frames listed by the container are missing (file cut?)")
        if track_error:
            parts.append(f"{track_error} (its keypoints are in the tables, untracked)")
        row["error"] = "; ".join(parts)
    return row


def _empty_row(video_id: int, video: str, path: str, **values) -> dict:
    """A videos row with nothing decoded; ``values`` fill in what is known."""
    return {"video_id": video_id, "video": video, "path": path, "fingerprint": None,
            "size": None, "status": "error", "error": None, "container_frames": None,
            "frames": 0, "decoded_frames": 0, "people_frames": 0, "fps": None, "width": None,
            "height": None, "codec": None, "rotation": None, "decode": None, "seconds": 0.0,
            "tracks": None, **values}


def _problem_row(video_id: int, problem) -> dict:
    return _empty_row(video_id, problem.path, str(Path(problem.path).absolute()),
                      error=problem.error)
