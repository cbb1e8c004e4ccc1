"""A job spread over two nodes of a cluster, and nodes that leave or join a cluster while a
job runs, on a Ray cluster on loopback that the
test starts and stops itself (its own temp dir and ports; only its own processes are
signalled): a node killed mid-job (its raylet and workers SIGKILLed, as a lost machine) has
its chunks done by the other node at once; a node that joins gets actors and chunks; losing
every node that holds actors stops the job with a clear, resumable message (exit 3). In
every case the tables equal an uninterrupted run's.

One head node (no CPUs: the driver's, as on a cluster whose head runs no work) serves the
module; each test asks for the worker nodes it needs (one CPU each), reusing those the test
before it left (the tests are in the order that needs the fewest node starts)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from posebatch.storage.store import Store

from ..loopback import LoopbackCluster, Node
from ..helpers import busy_pose_actor, kill_job, same_tables

RUN = ("address", "actors", "threads")       # how the job ran: not in the tables


@pytest.fixture(scope="module")
def cluster():
    """The head; each test asks for the worker nodes it needs (``cluster.workers(n)``)."""
    cluster = LoopbackCluster()
    try:
        cluster.head(cpus=0)
        yield cluster
    finally:
        cluster.close()


def start_job(cluster: LoopbackCluster, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "posebatch", "run", *map(str, args), "--address",
         cluster.address, "--threads", "1", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**cluster.env, "COLUMNS": "200"})


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except BaseException:
        kill_job(proc)
        raise


def chunks_done(out: Path) -> list[Path]:
    return list((out / ".chunks").rglob("*.frames.parquet"))


def busy_actor(node: Node, proc: subprocess.Popen) -> psutil.Process:
    """The node's pose actor while it runs a chunk (the job still running)."""
    def running() -> None:
        assert proc.poll() is None, proc.communicate()

    return busy_pose_actor(node.processes, running)


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_the_speed_follows_the_actors_that_work():
    """Frames per actor-second times the actors working: a lost node halves the speed (and
    doubles the time left) at once; with no actor the speed is 0 (time left unknown)."""
    from posebatch.cli.progress import Rate

    rate = Rate(0.0)
    rate.actors(2, 10.0)                 # the pool is up after 10 s of start-up
    rate.add(200, 20.0)                  # 2 actors x 10 s: 10 frames/s each
    assert rate.fps(20.0) == 20.0 and rate.text(20.0) == "20.0 frames/s on 2 actors"
    rate.actors(1, 20.0)                 # a node lost
    assert rate.fps(20.0) == 10.0 and rate.text(20.0) == "10.0 frames/s on 1 actor"
    rate.add(100, 30.0)                  # the other one went on alone
    assert rate.fps(30.0) == 10.0
    rate.actors(3, 30.0)                 # two more joined
    assert rate.fps(30.0) == 30.0
    rate.actors(0, 31.0)
    assert rate.fps(31.0) == 0.0


@pytest.mark.slow   # the job must outlast a node's start and its actor's: the demo video
def test_a_node_that_joins_gets_actors_and_chunks(cluster, demo_runs, tmp_path):
    cluster.workers(1)
    out = tmp_path / "out"
    proc = start_job(cluster, "asset:demo_video", "--out", out, "--chunk", 16, "--quality",
                     "reference", "--actors", 2)
    t = time.monotonic()
    while not chunks_done(out):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t < 240, "no chunk finished in time"
        time.sleep(0.1)
    cluster.add()
    stdout, stderr = finish(proc)
    assert proc.returncode == 0, stderr
    assert "the cluster has room for 1 of the 2 actors asked for" in stderr, stderr
    assert "joined (1 CPU): 1 more actor" in stderr, stderr
    m = manifest(out)
    joined = [e for e in m["cluster"] if e["event"] == "node joined"]
    assert len(joined) == 1 and joined[0]["actors"] == 1, m["cluster"]
    assert len(m["actors"]) == 2 and m["actors"][1]["node"] == joined[0]["node"], m["actors"]
    assert set(m["nodes"]) == {a["node"] for a in m["actors"]}, m["nodes"]   # both worked
    assert sum(m["nodes"].values()) == 15, m["nodes"]
    print(f"chunks per node: {m['nodes']}")
    assert m["videos"][0]["chunks"][-1] == [224, 230]
    # the demo job's tables, run locally in chunks of 64: neither the chunking nor the nodes
    # change a table (tracks included: they are made per video from every chunk)
    same_tables(demo_runs["demo"], out, run_options=RUN + ("chunk",))


def test_job_runs_across_two_nodes_of_an_existing_cluster(cluster, full_run, walk_dir,
                                                         tmp_path):
    """One actor on each node (token authentication on), each chunk's result taken once,
    the tables an uninterrupted local run's (moved here from tests/test_run.py: the nodes
    the next test needs, no cluster of its own to start)."""
    cluster.workers(2)
    out = tmp_path / "out"
    proc = start_job(cluster, walk_dir, "--out", out, "--chunk", 4, "--actors", 2)
    stdout, stderr = finish(proc)
    assert proc.returncode == 0, stderr
    m = manifest(out)
    nodes = {a["node"] for a in m["actors"]}
    assert len(nodes) == 2, m["actors"]          # one actor on each node
    assert sum(m["nodes"].values()) == 8 and set(m["nodes"]) == nodes
    same_tables(full_run[0], out, run_options=RUN)


def test_a_lost_node_s_chunks_go_to_the_other_node_at_once(cluster, walk_dir, full_run,
                                                            tmp_path):
    doomed = cluster.workers(2)[1]
    out = tmp_path / "out"
    proc = start_job(cluster, walk_dir, "--out", out, "--chunk", 4, "--actors", 2)
    victim = busy_actor(doomed, proc)
    t_kill = time.monotonic()
    before = set(chunks_done(out))
    doomed.kill()
    stdout, stderr = finish(proc)
    after_kill = time.monotonic() - t_kill
    assert proc.returncode == 0, stderr
    # the chunk it was running is charged once: its death is seen, or its node's loss first
    assert "it is done again" in stderr, stderr
    assert "its worker died" in stderr or "was lost; it is done again" in stderr, stderr
    same_tables(full_run[0], out, run_options=RUN)    # every frame, each once
    m = manifest(out)
    assert sum(m["nodes"].values()) == 8, m["nodes"]   # each chunk's result taken once
    node = next(a["node"] for a in m["actors"] if a["pid"] == victim.pid)
    lost = [e for e in m["cluster"] if e["node"] == node]
    assert len(lost) == 1 and lost[0]["event"] in ("node lost", "actor died"), m["cluster"]
    assert lost[0]["actors"] == 1 and lost[0]["chunks_redone"], lost
    if lost[0]["event"] == "node lost":
        assert f"node {node[:8]} lost: 1 pose actor gone" in stderr, stderr
    # one node's time for the rest: the surviving actor's own time on the chunks left when
    # the node was killed (recorded with each chunk), plus the job's tail (finishing videos)
    rest = set(chunks_done(out)) - before
    store = Store(out, m["params_key"])
    work = sum(store.chunk_info(p.parts[-3], *map(int, p.name.split(".")[0].split("-")))[0]
               for p in rest)
    one_node = work + m["timing"]["tail_s"]
    print(f"node killed with {len(rest)} of 8 chunks left; the job ended {after_kill:.1f} s "
          f"later; one node's time for the rest: {one_node:.1f} s; {lost[0]['event']}")
    assert after_kill <= 2 * one_node, (after_kill, one_node, stderr)


def test_losing_every_node_with_actors_stops_the_job_resumably(cluster, walk_dir, full_run,
                                                               tmp_path):
    only, = cluster.workers(1)
    out = tmp_path / "out"
    args = (walk_dir, "--out", out, "--chunk", 4)
    proc = start_job(cluster, *args)
    t = time.monotonic()
    while not chunks_done(out):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t < 240, "no chunk finished in time"
        time.sleep(0.05)
    busy_actor(only, proc)
    only.kill()
    stdout, stderr = finish(proc)
    assert proc.returncode == 3, stderr
    error = [x for x in stderr.splitlines() if x.startswith("error:")]
    assert error == ["error: no pose actor is left and the cluster has no room for one (1 live "
                     "node, none with 1 CPU for an actor; nodes lost?): finished chunks are "
                     "saved; add a node and rerun the same command to resume"], stderr
    assert "Traceback" not in stderr
    m = manifest(out)
    assert m["state"] == "failed" and [e["event"] for e in m["cluster"]] == ["node lost"]
    done = len(chunks_done(out))
    assert 1 <= done < 8

    cluster.add()
    proc = start_job(cluster, *args)
    stdout, stderr = finish(proc)
    assert proc.returncode == 0, stderr
    assert f"32 frames ({32 - 4 * done} computed in this run)" in stdout, stdout
    same_tables(full_run[0], out, run_options=RUN)
