"""The Ray side of a job: the runtime (local or an existing cluster) and the pool of pose
actors."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
from typing import Iterator

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
