"""Workers that die or hang: the pool replaces them and redoes their chunk; a chunk that
kills (or hangs) its worker twice is given up on with the reason; a real job survives the
SIGKILL of a pose actor in the middle of a chunk with the same tables."""
from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil
import pytest

from posebatch.runner.chunk import ChunkTask
from posebatch.runner.cluster import ChunkFailure, ChunkPool
from ..helpers import busy_pose_actor, kill_job, same_tables, start



@pytest.fixture(scope="module")
def local_ray():
    """One local Ray runtime for the module's pool tests (a start costs seconds)."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False,
             object_store_memory=100 * 2**20, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture()
def pools(local_ray):
    """The pools a test made: their actors are stopped after it (the next test has every
    CPU of the module's runtime again)."""
    made: list[ChunkPool] = []
    yield made
    for pool in made:
        for actor in pool.actors + [a for a, _ in pool._starting.values()]:
            if actor is not None:
                with contextlib.suppress(Exception):
                    local_ray.kill(actor, no_restart=True)


def test_pool_redoes_a_dead_workers_chunk_and_gives_up_on_poison_and_hangs(local_ray, pools,
                                                                            tmp_path):
    ray = local_ray
    once = tmp_path / "crashed-once"

    @ray.remote(num_cpus=0)
    class Worker:
        # each death waits a moment: the reply of the chunk the worker finished just before
        # is then delivered (a reply lost with the process is the case of
        # test_a_chunk_charged_once_is_redone_alone; here it added a death to the count)
        def process(self, task):
            if task.start == 4 and not once.exists():   # dies the first time only
                once.touch()
                time.sleep(0.5)
                os._exit(1)
            if task.start == 8:                          # dies every time: a poison input
                time.sleep(0.5)
                os._exit(1)
            if task.start == 12:                         # hangs every time
                time.sleep(3600)
            return task.start, os.getpid()

    # 4 s for the hanging chunk; the others get room for a replacement worker's start, which
    # the limit includes (the job's own limit allows 120 s for it): on a loaded 2-core AVX2
    # machine a new worker took over 4 s to start, and chunks 4 and 16 were charged as hung
    pool = ChunkPool([Worker.remote(), Worker.remote()], replace=Worker.remote,
                     timeout=lambda task: 4.0 if task.start == 12 else 60.0)
    pools.append(pool)
    tasks = [ChunkTask(0, "v", s, s + 4) for s in range(0, 24, 4)]
    for t in tasks:
        pool.submit(lambda a, t: a.process.remote(t), t)
    done, failed = [], {}
    while pool.has_next():
        r = pool.get_next_unordered()
        if isinstance(r, ChunkFailure):
            failed[r.task.start] = r.reason
        else:
            done.append(r[0])
    assert sorted(done) == [0, 4, 16, 20]        # each once, the crashed-once chunk redone
    assert set(failed) == {8, 12}
    assert failed[8].startswith("attempt 1: its worker died (")
    assert "attempt 2: its worker died (" in failed[8]
    assert failed[12] == ("attempt 1: it ran past its time limit of 4 s; attempt 2: it ran "
                          "past its time limit of 4 s")
    assert pool.replaced == 5                    # 1 + 2 deaths, 2 hangs


def test_a_chunk_charged_once_is_redone_alone():
    """The flake this fixes: an actor that dies just after finishing a chunk can take that
    chunk's reply with it, so the chunk is charged though the next one killed the process;
    redone with that poison chunk queued behind it again, it was charged twice and given up
    on. A charged chunk now goes only to an idle actor, with nothing queued behind it until
    it is done; while it waits, the actor that will be idle first gets no more chunks.
    (Where chunks go is decided without Ray: the actors here are names, the calls record.)"""
    calls = []
    pool = ChunkPool(["a0", "a1", "a2"], depth=2)
    for s in range(0, 40, 4):
        pool.submit(lambda a, t: calls.append((a, t.start)) or len(calls),
                    ChunkTask(0, "v", s, s + 4))
    pool._fill()
    assert [len(q) for q in pool._queues] == [2, 2, 2]
    charged = pool._calls[pool._queues[0][0]][1].start
    assert pool._actor_died(0, "its worker died") is None    # charged once, put back
    assert pool.working == 2 and (0, charged) in pool._waiting
    calls.clear()
    pool._fill()
    assert calls == []                               # no actor idle: it waits
    pool._done(1, pool._queues[1][0])                # a1 (soonest idle) is not topped up
    pool._fill()
    assert calls == [] and pool._load[1] == 1
    pool._done(2, pool._queues[2][0])                # a2 is
    pool._fill()
    assert [a for a, _ in calls] == ["a2"] and pool._load[2] == 2
    pool._done(1, pool._queues[1][0])                # a1 idle: the charged chunk, alone
    pool._fill()
    assert calls[1] == ("a1", charged) and pool._load[1] == 1
    pool._done(2, pool._queues[2][0])
    pool._fill()
    assert pool._load[1] == 1 and pool._load[2] == 2   # still nothing behind it
    pool._done(1, pool._queues[1][0])                # done: a1 takes chunks again
    pool._fill()
    assert pool._load[1] == 2


def test_chunks_never_wait_for_a_replacement_that_cannot_start(local_ray, pools, tmp_path):
    """The issue's stuck job: a worker dies and its successor can never be placed (here it
    asks for a resource no node has). The other worker does the dead one's chunks at once,
    not after the chunk time limit; the successor gets no chunk while it is not up.

    The worker dies in the first chunk it is given ([0, 4), with [4, 8) queued behind it),
    so which chunks its death puts back is known: dying in a later chunk, the reply of the
    chunk it had just finished may die with the process, and that chunk is put back too."""
    ray = local_ray
    once = tmp_path / "crashed-once"

    @ray.remote(num_cpus=1, max_restarts=0)
    class Worker:
        def ready(self):
            return {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

        def process(self, task):
            if task.start == 0 and not once.exists():
                once.touch()
                os._exit(1)
            return task.start, os.getpid()

    first = [Worker.remote(), Worker.remote()]
    info = ray.get([w.ready.remote() for w in first])
    pool = ChunkPool(first, replace=Worker.options(resources={"gone": 1}).remote,
                     timeout=lambda task: 300.0, ready=lambda w: w.ready.remote(), info=info)
    pools.append(pool)
    for s in range(0, 24, 4):
        pool.submit(lambda a, t: a.process.remote(t), ChunkTask(0, "v", s, s + 4))
    t = time.monotonic()
    done = []
    while pool.has_next():
        done.append(pool.get_next_unordered())
    assert time.monotonic() - t < 60                # the time limit is 300 s
    assert sorted(s for s, _ in done) == [0, 4, 8, 12, 16, 20]       # each once
    assert pool.working == 1 and pool.replaced == 1
    assert len(pool._starting) == 1                 # the successor: still not placed
    pool.close()
    assert [e["event"] for e in pool.events] == ["actor died"]
    assert pool.events[0]["chunks_redone"] == [[0, 0, 4], [0, 4, 8]]


def test_job_completes_with_the_same_tables_after_an_actor_is_killed(full_run, walk_dir,
                                                                     tmp_path):
    out = tmp_path / "out"
    proc = start("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    try:
        job = psutil.Process(proc.pid)
        victim = busy_pose_actor(lambda: job.children(recursive=True))
        victim.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=600)
    except BaseException:
        kill_job(proc)
        raise
    assert proc.returncode == 0, stderr
    assert "its worker died" in stderr and "it is done again" in stderr, stderr
    same_tables(full_run[0], out)       # no frame missing, none twice
