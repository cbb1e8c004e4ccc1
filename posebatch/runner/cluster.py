"""The Ray side of a job: the runtime (local or an existing cluster) and the pool of pose
actors."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
from typing import Callable, Iterator

from ..config import PoseConfig, RuntimeConfig
from ..errors import ConfigError, PosebatchError
from ..job import JobSpec
from .chunk import PoseWorker

_ACTOR_START_TIMEOUT = 300.0


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


class ChunkPool:
    """Hands chunks to actors, up to ``depth`` in flight on each, so an actor starts its next
    chunk the moment it finishes one instead of idling while the driver receives the result,
    writes it and answers (``ray.util.ActorPool`` keeps one). An actor is given the chunk that
    continues its last one when it is waiting (its decoder then carries on, no seek and no
    frames decoded twice); otherwise the longest run of waiting chunks is split: its first
    chunk if nobody is about to continue into it, its middle if someone is. The interface is
    ActorPool's: ``submit(fn, task)``, ``has_next()``, ``get_next_unordered()``; tasks are
    :class:`ChunkTask`."""

    def __init__(self, actors: list, depth: int = 2):
        self.actors = list(actors)
        self.depth = depth
        self._waiting: dict = {}                      # (video, start) -> (fn, task), in order
        self._running: dict = {}                      # object ref -> actor index
        self._load = [0] * len(self.actors)
        self._last: list = [None] * len(self.actors)  # the last task given to each actor

    def submit(self, fn: Callable, task) -> None:
        """Queue a task; tasks are handed out when results are asked for, so all of a job's
        chunks are known before the first choice (submit them all, then collect)."""
        self._waiting[(task.video, task.start)] = (fn, task)

    def has_next(self) -> bool:
        return bool(self._running or self._waiting)

    def get_next_unordered(self):
        """The next finished task's result (an actor's failure is raised here)."""
        import ray

        if not self.has_next():
            raise StopIteration("no tasks submitted")
        self._fill()
        [ref], _ = ray.wait(list(self._running), num_returns=1)
        self._load[self._running.pop(ref)] -= 1
        self._fill()
        return ray.get(ref)

    def _fill(self) -> None:
        while self._waiting:
            i = min(range(len(self.actors)), key=self._load.__getitem__)
            if self._load[i] >= self.depth:
                return
            fn, task = self._waiting.pop(self._pick(i))
            self._running[fn(self.actors[i], task)] = i
            self._load[i] += 1
            self._last[i] = task

    def _pick(self, i: int) -> tuple[int, int]:
        last = self._last[i]
        if last is not None and (last.video, last.end) in self._waiting:
            return last.video, last.end
        continued = {(t.video, t.end) for t in self._last if t is not None}
        runs: list[list] = []           # waiting chunks in maximal runs of consecutive ones
        prev = None
        for key, (_, t) in self._waiting.items():
            if prev is not None and (t.video, t.start) == (prev.video, prev.end):
                runs[-1].append(key)
            else:
                runs.append([key])
            prev = t
        best = max(runs, key=len)       # the first of the longest
        held = best[0] in continued
        return best[len(best) // 2] if held else best[0]


def launch_actors(spec: JobSpec, config: PoseConfig, actors: int) -> list:
    """Create ``actors`` PoseWorkers (each reserving ``threads`` CPUs) without waiting: their
    processes start, import TensorFlow and load the graph in the background."""
    import ray

    cls = ray.remote(num_cpus=spec.threads, max_restarts=0)(PoseWorker)
    runtime = RuntimeConfig(intra_threads=spec.threads, inter_threads=1, prefetch=spec.prefetch)
    return [cls.remote(spec.model, config, runtime) for _ in range(actors)]


def start_pool(spec: JobSpec, config: PoseConfig, actors: int):
    """``actors`` PoseWorkers, warmed up; (pool, info)."""
    import ray

    handles = launch_actors(spec, config, actors)
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
    return ChunkPool(handles), info
