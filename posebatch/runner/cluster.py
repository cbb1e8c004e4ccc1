"""The Ray side of a job: the runtime (local or an existing cluster) and the pool of pose
actors."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from ..config import PoseConfig, RuntimeConfig
from ..errors import ConfigError, PosebatchError
from ..job import JobSpec
from .chunk import PoseWorker

_ACTOR_START_TIMEOUT = 300.0
_START_ALLOWANCE = 120.0

log = logging.getLogger(__name__)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


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


@dataclass(frozen=True)
class ChunkFailure:
    """A chunk given up on: its worker died (or hung and was stopped) on it twice."""

    task: object
    reason: str


class ChunkPool:
    """Hands chunks to actors, up to ``depth`` in flight on each, so an actor starts its next
    chunk the moment it finishes one instead of idling while the driver receives the result,
    writes it and answers (``ray.util.ActorPool`` keeps one). An actor is given the chunk that
    continues its last one when it is waiting (its decoder then carries on, no seek and no
    frames decoded twice); otherwise the longest run of waiting chunks is split: its first
    chunk if nobody is about to continue into it, its middle if someone is. The interface is
    ActorPool's: ``submit(fn, task)``, ``has_next()``, ``get_next_unordered()``; tasks are
    :class:`ChunkTask`.

    Faults: an actor that dies (its process killed, out of memory, a crash in a library) is
    replaced by ``replace()``; the chunk it was running is charged and redone, the ones queued
    behind it are redone uncharged. An actor whose chunk runs past ``timeout(task)`` seconds
    is presumed hung and stopped, which is handled the same way. A chunk charged twice comes
    back as a :class:`ChunkFailure` instead of a result."""

    def __init__(self, actors: list, depth: int = 2, replace: Callable[[], object] | None = None,
                 timeout: Callable[[object], float] | None = None, attempts: int = 2):
        self.actors = list(actors)
        self.depth = depth
        self.replace, self.timeout, self.attempts = replace, timeout, attempts
        n = len(self.actors)
        self._waiting: dict = {}              # (video, start) -> (fn, task), in order
        self._running: dict = {}              # object ref -> actor index
        self._calls: dict = {}                # object ref -> (fn, task)
        self._queues: list[list] = [[] for _ in range(n)]  # each actor's refs, oldest first
        self._since: list = [None] * n        # when the oldest of an actor's chunks started
        self._stopped: dict[int, str] = {}    # actor index -> why it was stopped (hung)
        self._charged: dict = {}              # (video, start) -> reasons
        self._load = [0] * n
        self._last: list = [None] * n         # the last task given to each actor
        self.replaced = 0

    def submit(self, fn: Callable, task) -> None:
        """Queue a task; tasks are handed out when results are asked for, so all of a job's
        chunks are known before the first choice (submit them all, then collect)."""
        self._waiting[(task.video, task.start)] = (fn, task)

    def has_next(self) -> bool:
        return bool(self._running or self._waiting)

    def get_next_unordered(self):
        """The next finished task's result, or a :class:`ChunkFailure`."""
        import ray

        if not self.has_next():
            raise StopIteration("no tasks submitted")
        while True:
            self._fill()
            ready, _ = ray.wait(list(self._running), num_returns=1,
                                timeout=self._until_deadline())
            if not ready:
                self._stop_overdue()
                continue
            ref = ready[0]
            i = self._running[ref]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                failure = self._actor_died(i, exc)
                if failure is not None:
                    return failure
                continue
            except ray.exceptions.RayTaskError as exc:    # raised in the actor, which lives
                cause = exc.as_instanceof_cause()
                if isinstance(cause, OSError):             # its disk: no point in retrying
                    raise cause from None
                fn, task = self._calls[ref]
                self._done(i, ref)
                failure = self._charge(fn, task, f"it raised {_first_line(cause)}", [])
                if failure is not None:
                    return failure
                continue
            self._done(i, ref)
            self._fill()
            return result

    def _done(self, i: int, ref) -> None:
        del self._running[ref]
        del self._calls[ref]
        self._queues[i].remove(ref)
        self._load[i] -= 1
        # calls on an actor run in order: the next one starts now
        self._since[i] = time.monotonic() if self._queues[i] else None

    def _until_deadline(self) -> float | None:
        if self.timeout is None:
            return None
        left = [self._since[i] + self.timeout(self._calls[q[0]][1]) - time.monotonic()
                for i, q in enumerate(self._queues) if q and self._since[i] is not None]
        return max(0.0, min(left)) + 0.05 if left else None

    def _stop_overdue(self) -> None:
        import ray

        now = time.monotonic()
        for i, q in enumerate(self._queues):
            if q and self._since[i] is not None and i not in self._stopped:
                limit = self.timeout(self._calls[q[0]][1])
                if now - self._since[i] > limit:
                    task = self._calls[q[0]][1]
                    log.warning("chunk [%d, %d) of video %d ran past %.0f s: its worker is "
                                "presumed hung and stopped", task.start, task.end, task.video,
                                limit)
                    self._stopped[i] = f"it ran past its time limit of {limit:.0f} s"
                    ray.kill(self.actors[i], no_restart=True)

    def _actor_died(self, i: int, exc: Exception) -> ChunkFailure | None:
        """Actor ``i`` is gone: charge the chunk it was running, put every chunk it held back
        in front of the queue, give it a successor. A chunk charged ``attempts`` times is
        returned as a failure."""
        reason = self._stopped.pop(i, None) or f"its worker died ({_first_line(exc)})"
        refs = self._queues[i]
        calls = [self._calls.pop(r) for r in refs]
        for r in refs:
            self._running.pop(r, None)
        self._queues[i], self._load[i], self._since[i], self._last[i] = [], 0, None, None
        if self.replace is None:
            raise exc
        self.actors[i] = self.replace()
        self.replaced += 1
        (fn, task), rest = calls[0], calls[1:]
        return self._charge(fn, task, reason, rest)

    def _charge(self, fn, task, reason: str, rest: list) -> ChunkFailure | None:
        """Count a failed attempt of ``task``; put it (unless given up on) and ``rest`` back in
        front of the queue."""
        key = (task.video, task.start)
        self._charged.setdefault(key, []).append(reason)
        failure = None
        if len(self._charged[key]) >= self.attempts:
            failure = ChunkFailure(task, "; ".join(
                f"attempt {n + 1}: {r}" for n, r in enumerate(self._charged[key])))
            log.error("chunk [%d, %d) of video %d failed: %s", task.start, task.end,
                      task.video, failure.reason)
        else:
            rest = [(fn, task)] + rest
            log.warning("chunk [%d, %d) of video %d: %s; it is done again", task.start,
                        task.end, task.video, reason)
        self._waiting = {**{(t.video, t.start): (f, t) for f, t in rest}, **self._waiting}
        return failure

    def _fill(self) -> None:
        while self._waiting:
            i = min(range(len(self.actors)), key=self._load.__getitem__)
            if self._load[i] >= self.depth:
                return
            fn, task = self._waiting.pop(self._pick(i))
            ref = fn(self.actors[i], task)
            self._running[ref] = i
            self._calls[ref] = (fn, task)
            if not self._queues[i]:
                self._since[i] = time.monotonic()
            self._queues[i].append(ref)
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


def actor_factory(spec: JobSpec, config: PoseConfig) -> Callable[[], object]:
    """Makes a PoseWorker (reserving ``threads`` CPUs) without waiting: its process starts,
    imports TensorFlow and loads the graph in the background."""
    import ray

    cls = ray.remote(num_cpus=spec.threads, max_restarts=0)(PoseWorker)
    runtime = RuntimeConfig(intra_threads=spec.threads, inter_threads=1, prefetch=spec.prefetch)
    return lambda: cls.remote(spec.model, config, runtime)


def chunk_time_limit(spec: JobSpec) -> Callable[[object], float]:
    """Seconds a chunk may run before its worker is presumed hung: a start allowance (a new
    worker loads TensorFlow and the graph first) plus ``frame_timeout`` per frame, or per
    person for a refine chunk of more people than frames (one network run each)."""
    return lambda task: _START_ALLOWANCE + spec.frame_timeout * max(
        task.end - task.start, getattr(task, "people", 0))


def start_pool(spec: JobSpec, config: PoseConfig, actors: int):
    """``actors`` PoseWorkers, warmed up; (pool, info)."""
    import ray

    make = actor_factory(spec, config)
    handles = [make() for _ in range(actors)]
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
    return ChunkPool(handles, replace=make, timeout=chunk_time_limit(spec)), info
