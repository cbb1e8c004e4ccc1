"""The Ray side of a job: the runtime (local or an existing cluster) and the pool of pose
actors."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator

from ..engine.config import PoseConfig, RuntimeConfig
from ..errors import ClusterError, ConfigError, PosebatchError
from .spec import JobSpec
from .chunk import PoseWorker

_ACTOR_START_TIMEOUT = 300.0
_START_ALLOWANCE = 120.0
_WATCH_INTERVAL = 2.0       # seconds between looks at the cluster's nodes

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


def reach(address: str, timeout: float = 10.0) -> None:
    """Refuse a HOST:PORT that nothing answers at within ``timeout`` s. Ray would try its
    cluster client 20 times, each waiting up to a minute for an answer (a job given a wrong
    --address sat silent for over ten minutes). Other forms (``auto``, ``ray://``) are left
    to Ray."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(f"cannot reach a Ray cluster at {address}: "
                           f"{exc.strerror or type(exc).__name__}; check --address (the head "
                           "node's HOST:PORT, as `ray start --head` printed it) and that the "
                           "head is running and reachable from this machine") from None


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
        reach(spec.address)
        try:
            ray.init(address=spec.address, runtime_env=env, log_to_driver=False,
                     logging_level=logging.WARNING)
        except ConnectionError as exc:    # an OSError, but not the output's disk
            said = (str(exc).strip().splitlines() or ["refused"])[0].rstrip(".")
            raise ClusterError(f"cannot connect to the Ray cluster at {spec.address}: "
                               f"{said}; check --address and, where the cluster "
                               "uses token authentication, that this machine has its token "
                               "(RAY_AUTH_MODE=token and the token the nodes use); finished "
                               "chunks are saved: rerun to resume") from None
    else:
        # A local runtime's workers inherit the driver's environment. No runtime_env: Ray
        # would start workers of their own for it and leave the ones it prestarts idle
        # (a second and some CPU per job on a small machine).
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # Ray's own runtime has token authentication on (we keep it) and says so with a
        # warning in every command's output; it is not the user's concern
        logging.getLogger("ray._private.authentication.authentication_token_setup"
                          ).setLevel(logging.ERROR)
        ray.init(address="local", num_cpus=actors * spec.threads, num_gpus=0,
                 include_dashboard=False, object_store_memory=256 * 2**20,
                 log_to_driver=False, logging_level=logging.WARNING)
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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ClusterWatch:
    """The Ray cluster's live nodes and how many actors of ``threads`` CPUs they hold, read
    from Ray (``ray.nodes()``, no dashboard needed) at most every ``interval`` seconds.
    ``actors``: the actors asked for (``--actors``), or None to follow the cluster's CPUs;
    ``cap``: never more than that (the job's chunks)."""

    def __init__(self, threads: int, actors: int | None, cap: int | None = None,
                 interval: float = _WATCH_INTERVAL):
        self.threads, self.actors, self.cap, self.interval = threads, actors, cap, interval
        self.alive: dict[str, float] = {}      # node id -> CPUs
        self._next = 0.0
        self.poll(force=True)

    def poll(self, force: bool = False) -> tuple[list[str], list[str]]:
        """(joined, lost) node ids since the last look; nothing when not due yet."""
        now = time.monotonic()
        if not force and now < self._next:
            return [], []
        import ray

        self._next = now + self.interval
        alive = {n["NodeID"]: float(n.get("Resources", {}).get("CPU", 0.0))
                 for n in ray.nodes() if n.get("Alive")}
        joined = [n for n in alive if n not in self.alive]
        lost = [n for n in self.alive if n not in alive]
        self.alive = alive
        return joined, lost

    def due(self) -> float:
        return max(0.0, self._next - time.monotonic())

    @property
    def room(self) -> int:
        """Actors the live nodes can hold (whatever else runs on them)."""
        return sum(int(cpus) // self.threads for cpus in self.alive.values())

    @property
    def wanted(self) -> int:
        n = self.actors if self.actors else self.room
        return min(n, self.cap) if self.cap else n


class ChunkPool:
    """Hands chunks to actors, up to ``depth`` in flight on each, so an actor starts its next
    chunk the moment it finishes one instead of idling while the driver receives the result,
    writes it and answers (``ray.util.ActorPool`` keeps one). An actor is given the chunk that
    continues its last one when it is waiting (its decoder then carries on, no seek and no
    frames decoded twice); otherwise the longest run of waiting chunks is split: its first
    chunk if nobody is about to continue into it, its middle if someone is. The interface is
    ActorPool's: ``submit(fn, task)``, ``has_next()``, ``get_next_unordered()``; tasks are
    :class:`ChunkTask`.

    Faults: an actor that dies (its process killed, out of memory, a crash in a library, its
    node lost) is replaced by ``replace()``; the chunk it was running is charged and redone
    alone on an actor, the ones queued behind it are redone uncharged, by the actors that
    work, at once. An
    actor whose chunk runs past ``timeout(task)`` seconds is presumed hung and stopped,
    which is handled the same way. A chunk charged twice comes back as a
    :class:`ChunkFailure` instead of a result.

    With ``ready`` (a call that answers once an actor is loaded: ``{"node", "pid"}``), a new
    actor gets chunks only when it has answered, so chunks never wait behind an actor that
    cannot be placed. With ``watch`` (a :class:`ClusterWatch`) the pool follows the cluster:
    a lost node's replacements that no node has room for are given up (the pool shrinks);
    a node that joins gets actors up to ``watch.wanted`` (the pool grows); each is an event
    (``events``, and ``on_change(event)``; ``on_change(None)`` when only the number of
    working actors changed). No actor left and no room for one raises
    :class:`ClusterError`."""

    def __init__(self, actors: list, depth: int = 2, replace: Callable[[], object] | None = None,
                 timeout: Callable[[object], float] | None = None, attempts: int = 2,
                 ready: Callable[[object], object] | None = None,
                 info: list[dict] | None = None, watch: ClusterWatch | None = None,
                 on_change: Callable[[dict | None], None] | None = None):
        self.actors = list(actors)            # None: a retired actor (dead, stopped)
        self.depth = depth
        self.replace, self.timeout, self.attempts = replace, timeout, attempts
        self.ready, self.watch, self.on_change = ready, watch, on_change
        n = len(self.actors)
        self.info: list[dict] = list(info or [])   # every actor that worked: node, pid
        self._nodes: list = [i.get("node") for i in self.info] or [None] * n
        self._waiting: dict = {}              # (video, start) -> (fn, task), in order
        self._running: dict = {}              # object ref -> actor index
        self._calls: dict = {}                # object ref -> (fn, task)
        self._queues: list[list] = [[] for _ in range(n)]  # each actor's refs, oldest first
        self._since: list = [None] * n        # when the oldest of an actor's chunks started
        self._stopped: dict[int, str] = {}    # actor index -> why it was stopped (hung)
        self._alone: set[int] = set()         # actors running a charged chunk, alone
        self._charged: dict = {}              # (video, start) -> reasons
        self._load = [0] * n
        self._last: list = [None] * n         # the last task given to each actor
        self._starting: dict = {}             # ready ref -> (actor, since)
        self._lost: dict = {}                 # node -> actors of ours that died there
        self._failures: list[ChunkFailure] = []   # given up on, not returned yet
        self.events: list[dict] = []          # nodes lost and joined
        self.replaced = 0

    @property
    def working(self) -> int:
        """Actors that take chunks now."""
        return sum(a is not None for a in self.actors)

    def submit(self, fn: Callable, task) -> None:
        """Queue a task; tasks are handed out when results are asked for, so all of a job's
        chunks are known before the first choice (submit them all, then collect)."""
        self._waiting[(task.video, task.start)] = (fn, task)

    def has_next(self) -> bool:
        return bool(self._running or self._waiting or self._failures)

    def get_next_unordered(self):
        """The next finished task's result, or a :class:`ChunkFailure`."""
        import ray

        if not self.has_next():
            raise StopIteration("no tasks submitted")
        while True:
            self._follow_cluster()
            if self._failures:
                return self._failures.pop(0)
            self._fill()
            ready, _ = ray.wait(list(self._running) + list(self._starting), num_returns=1,
                                timeout=self._wait_time())
            if not ready:
                if self.timeout is not None:
                    self._stop_overdue()
                continue
            ref = ready[0]
            if ref in self._starting:
                self._started(ref)
                continue
            i = self._running[ref]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                if self.replace is None:
                    raise
                failure = self._actor_died(i, self._stopped.pop(i, None) or
                                           f"its worker died ({_first_line(exc)})")
                if failure is not None:
                    return failure
                continue
            except ray.exceptions.ObjectLostError as exc:  # done, but its node is gone
                fn, task = self._calls[ref]
                self._done(i, ref)
                log.warning("chunk [%d, %d) of video %d: its result was lost (%s); it is "
                            "done again", task.start, task.end, task.video, _first_line(exc))
                self._waiting = {(task.video, task.start): (fn, task), **self._waiting}
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

    def close(self) -> None:
        """Stop the actors still starting; record actor deaths on nodes that stayed up."""
        import ray

        for actor, _ in self._starting.values():
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)
        self._starting.clear()
        for node, lost in self._lost.items():
            self.events.append({"time": lost["time"], "event": "actor died", "node": node,
                                "actors": lost["actors"], "chunks_redone": lost["chunks"]})
        self._lost.clear()

    def _done(self, i: int, ref) -> None:
        del self._running[ref]
        del self._calls[ref]
        self._queues[i].remove(ref)
        self._load[i] -= 1
        if not self._queues[i]:
            self._alone.discard(i)
        # calls on an actor run in order: the next one starts now
        self._since[i] = time.monotonic() if self._queues[i] else None

    def _wait_time(self) -> float | None:
        """Until the next chunk deadline or look at the cluster."""
        times = [t for t in (self._until_deadline(),
                             self.watch.due() + 0.01 if self.watch else None) if t is not None]
        return min(times) if times else None

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

    def _actor_died(self, i: int, reason: str) -> ChunkFailure | None:
        """Actor ``i`` is gone: charge the chunk it was running, put every chunk it held back
        in front of the queue (the actors that work take them now), start a successor when
        the cluster has room for it. A chunk charged ``attempts`` times is returned as a
        failure."""
        import ray

        refs = self._queues[i]
        calls = [self._calls.pop(r) for r in refs]
        for r in refs:
            self._running.pop(r, None)
        self._queues[i], self._load[i], self._since[i], self._last[i] = [], 0, None, None
        self._alone.discard(i)
        with contextlib.suppress(Exception):   # "unavailable" may still be running: stop it
            ray.kill(self.actors[i], no_restart=True)
        lost = self._lost.setdefault(self._nodes[i], {"time": _now(), "actors": 0,
                                                      "chunks": []})
        lost["actors"] += 1
        lost["chunks"] += [[t.video, t.start, t.end] for _, t in calls]
        if self.ready is None and self.replace is not None:   # no way to know when it is
            self.actors[i] = self.replace()                   # up: use it now
            self.replaced += 1
        else:
            self.actors[i] = None
            if self.replace is not None and (self.watch is None or self._have() < min(
                    self.watch.wanted, self.watch.room)):
                self._start(self.replace())
                self.replaced += 1
        self._changed(None)
        if not calls:
            return None
        (fn, task), rest = calls[0], calls[1:]
        return self._charge(fn, task, reason, rest)

    def _have(self) -> int:
        return self.working + len(self._starting)

    def _start(self, actor) -> None:
        self._starting[self.ready(actor)] = (actor, time.monotonic())

    def _started(self, ref) -> None:
        """A new actor answered (it takes chunks from now on), or failed to start."""
        import ray

        actor, _ = self._starting.pop(ref)
        try:
            info = ray.get(ref)
        except ray.exceptions.RayError as exc:
            log.warning("a new pose actor could not start: %s", _first_line(exc))
            self._changed(None)
            return
        self.actors.append(actor)
        self.info.append(info)
        self._nodes.append(info.get("node"))
        self._queues.append([])
        self._since.append(None)
        self._load.append(0)
        self._last.append(None)
        self._changed(None)

    def _changed(self, event: dict | None) -> None:
        if event is not None:
            self.events.append(event)
        if self.on_change is not None:
            self.on_change(event)

    def _follow_cluster(self, force: bool = False) -> None:
        """Look at the cluster's nodes: record losses (their actors are dead: their chunks go
        to the others) and joins (actors start there), give up actors that cannot start (no
        room, or past the start time limit); raise when no actor is left and none can
        start."""
        import ray

        now = time.monotonic()
        for ref, (actor, since) in list(self._starting.items()):
            if now - since > _ACTOR_START_TIMEOUT:
                log.warning("a new pose actor did not start within %.0f s: given up",
                            _ACTOR_START_TIMEOUT)
                self._starting.pop(ref)
                ray.kill(actor, no_restart=True)
        if self.watch is not None:
            joined, lost = self.watch.poll(force)
            for node in lost:
                self._node_lost(node)
            excess = self._have() - self.watch.room
            for ref in list(self._starting)[::-1][:max(0, excess)]:   # the newest first
                ray.kill(self._starting.pop(ref)[0], no_restart=True)
            for node in joined:
                self._node_joined(node)
        if self._waiting and not self._have():
            if self.watch is not None and not force:
                return self._follow_cluster(force=True)    # raise on what is known now
            raise self._no_actor_left()

    def _no_actor_left(self) -> ClusterError:
        resume = "finished chunks are saved; add a node and rerun the same command to resume"
        if self.watch is None or self.watch.room > 0:
            return ClusterError("no pose actor is left and a new one could not start (see the "
                                f"warnings above): {resume}")
        n, t = len(self.watch.alive), self.watch.threads
        return ClusterError(
            f"no pose actor is left and the cluster has no room for one ({n} live "
            f"node{'' if n == 1 else 's'}, none with {t} CPU{'' if t == 1 else 's'} for an "
            f"actor; nodes lost?): {resume}")

    def _node_lost(self, node: str) -> None:
        """Every actor of ours on ``node`` is dead, noticed yet or not."""
        for i, n in enumerate(self._nodes):
            if n == node and self.actors[i] is not None:
                failure = self._actor_died(i, f"its node {node[:8]} was lost")
                if failure is not None:
                    self._failures.append(failure)
        lost = self._lost.pop(node, {"time": _now(), "actors": 0, "chunks": []})
        chunks = ", ".join(f"[{s}, {e}) of video {v}" for v, s, e in lost["chunks"]) or "none"
        working = f"{self.working} actor{'' if self.working == 1 else 's'} working"
        if lost["actors"]:
            log.warning("node %s lost: %d pose actor%s gone, chunks done again by the others: "
                        "%s; %s", node[:8], lost["actors"], "" if lost["actors"] == 1 else "s",
                        chunks, working)
        else:
            log.warning("node %s lost (no pose actor of this job on it); %s", node[:8], working)
        self._changed({"time": lost["time"], "event": "node lost", "node": node,
                       "actors": lost["actors"], "chunks_redone": lost["chunks"]})

    def _node_joined(self, node: str) -> None:
        more = max(0, min(self.watch.wanted, self.watch.room) - self._have())
        if self.ready is None or self.replace is None:
            more = 0
        for _ in range(more):
            self._start(self.replace())
        cpus = self.watch.alive.get(node, 0.0)
        log.warning("node %s joined (%g CPU%s): %d more actor%s", node[:8], cpus,
                    "" if cpus == 1 else "s", more, "" if more == 1 else "s")
        self._changed({"time": _now(), "event": "node joined", "node": node, "cpus": cpus,
                       "actors": more})

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
        """Give waiting chunks to live actors, up to ``depth`` each. A chunk charged before
        runs alone: only on an idle actor, which gets nothing more until it is done, so a
        second death is that chunk's own (an actor that dies just after finishing a chunk
        can take the chunk's reply with it, and that chunk is charged though it did no
        harm). While one waits, the actor that will be idle first is not topped up."""
        suspects = [k for k in self._waiting if k in self._charged]
        live = [i for i, a in enumerate(self.actors) if a is not None and i not in self._alone]
        while suspects:
            idle = [i for i in live if self._load[i] == 0]
            if not idle:
                break
            self._give(idle[0], suspects.pop(0))
            self._alone.add(idle[0])
            live.remove(idle[0])
        if suspects and live:
            live.remove(min(live, key=self._load.__getitem__))   # kept for the next suspect
        normal = {k: v for k, v in self._waiting.items() if k not in self._charged}
        while normal and live:
            i = min(live, key=self._load.__getitem__)
            if self._load[i] >= self.depth:
                return
            key = self._pick(i, normal)
            del normal[key]
            self._give(i, key)

    def _give(self, i: int, key) -> None:
        fn, task = self._waiting.pop(key)
        ref = fn(self.actors[i], task)
        self._running[ref] = i
        self._calls[ref] = (fn, task)
        if not self._queues[i]:
            self._since[i] = time.monotonic()
        self._queues[i].append(ref)
        self._load[i] += 1
        self._last[i] = task

    def _pick(self, i: int, waiting: dict) -> tuple[int, int]:
        last = self._last[i]
        if last is not None and (last.video, last.end) in waiting:
            return last.video, last.end
        continued = {(t.video, t.end) for t in self._last if t is not None}
        runs: list[list] = []           # waiting chunks in maximal runs of consecutive ones
        prev = None
        for key, (_, t) in waiting.items():
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


def start_pool(spec: JobSpec, config: PoseConfig, actors: int, cap: int | None = None,
               on_change: Callable[[dict | None], None] | None = None):
    """PoseWorkers, warmed up; (pool, info). Locally ``actors`` of them; on a cluster
    (``--address``) as many of ``actors`` as its live nodes hold now, and the pool follows
    the cluster from then on (:class:`ChunkPool`): up to ``actors`` (``--actors``; without
    it, as many as the nodes hold), never more than ``cap``."""
    import ray

    make = actor_factory(spec, config)
    watch = ClusterWatch(spec.threads, spec.actors if spec.address else actors, cap)
    n = actors
    if spec.address:
        n = min(actors, watch.room)
        if n == 0:
            cpus = ", ".join(f"{c:g}" for c in watch.alive.values())
            raise ClusterError(
                f"the cluster at {spec.address} has no room for a pose actor of "
                f"{spec.threads} CPU{'s' if spec.threads > 1 else ''} (CPUs of its live "
                f"nodes: {cpus or 'none'}): add a node, or ask for fewer --threads")
        if n < actors:
            log.warning("the cluster has room for %d of the %d actors asked for: the job "
                        "starts with %d, more when nodes join", n, actors, n)
    handles = [make() for _ in range(n)]
    try:
        info = ray.get([h.ready.remote() for h in handles], timeout=_ACTOR_START_TIMEOUT)
    except ray.exceptions.GetTimeoutError:
        have = ray.cluster_resources().get("CPU", 0)
        raise ConfigError(
            f"{n} actors x {spec.threads} threads did not start within "
            f"{_ACTOR_START_TIMEOUT:.0f} s; the cluster has {have:g} CPUs. Ask for fewer "
            "(--actors, --threads) or add nodes.") from None
    except ray.exceptions.RayActorError as exc:
        raise PosebatchError(f"a pose actor failed to start: {exc}") from None
    pool = ChunkPool(handles, replace=make, timeout=chunk_time_limit(spec),
                     ready=lambda h: h.ready.remote(), info=info, watch=watch,
                     on_change=on_change)
    return pool, info
