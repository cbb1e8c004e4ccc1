"""A Ray cluster on 127.0.0.1 made of `ray start --block` nodes that a test starts, kills and
stops itself. Each node is one process tree (the `ray start --block` process, its raylet and
the raylet's workers), so stopping or killing a node signals exactly the processes this test
started, never another Ray runtime on the machine (`ray stop` would stop them all). The
cluster keeps its files in a temp dir of its own, with ports of its own."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RAY = Path(sys.executable).parent / "ray"
_COMMON = ["--block", "--disable-usage-stats", "--object-store-memory=100000000",
           "--node-ip-address=127.0.0.1", "--include-log-monitor=false"]
_HEALTH = '{"health_check_period_ms": 1000, "health_check_failure_threshold": 5}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One `ray start --block` process and everything under it."""

    def __init__(self, proc: subprocess.Popen, log: Path):
        self.proc, self.log = proc, log

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def processes(self) -> list[psutil.Process]:
        try:
            me = psutil.Process(self.proc.pid)
            return [me, *me.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the node's raylet, its workers and the rest at once: a lost machine."""
        procs = self.processes()
        for p in procs:
            with _gone():
                p.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=30)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (ray start --block shuts its node down), then SIGKILL what is left."""
        procs = self.processes()
        with _gone():
            self.proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=20)
        for p in alive:
            with _gone():
                p.send_signal(signal.SIGKILL)
        psutil.wait_procs(alive, timeout=20)
        with _gone():
            self.proc.wait(timeout=20)


class LoopbackCluster:
    """``head()`` then ``add()`` nodes; ``address``, ``env`` (token authentication on) for
    the jobs that connect to it; ``close()`` stops every node it started."""

    def __init__(self):
        self.temp = Path(tempfile.mkdtemp(prefix="pbray", dir="/tmp"))  # short: socket paths
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, "RAY_AUTH_MODE": "token"}
        self.nodes: list[Node] = []

    def head(self, cpus: int = 1) -> Node:
        """The head node (the driver's: a job started here attaches to it). Ray marks a node
        dead after missing its health checks for about 5 s here (15 s by default; less would
        have a busy machine's nodes taken for dead)."""
        return self._start(["--head", f"--port={self.port}", "--include-dashboard=false",
                            "--no-monitor",
                            f"--temp-dir={self.temp}", f"--ray-client-server-port={free_port()}",
                            f"--dashboard-port={free_port()}", f"--system-config={_HEALTH}",
                            f"--num-cpus={cpus}"])

    def add(self, cpus: int = 1) -> Node:
        return self._start([f"--address={self.address}", f"--num-cpus={cpus}"])

    def _start(self, args: list[str], timeout: float = 120) -> Node:
        log = self.temp / f"node{len(self.nodes)}.log"
        with open(log, "w") as f:
            args = [*_COMMON, f"--dashboard-agent-listen-port={free_port()}", *args]
            proc = subprocess.Popen([str(RAY), "start", *args], env=self.env,
                                    stdout=f, stderr=subprocess.STDOUT, cwd=self.temp)
        node = Node(proc, log)
        self.nodes.append(node)
        t = time.monotonic()
        while "Ray runtime started" not in log.read_text():
            if proc.poll() is not None or time.monotonic() - t > timeout:
                raise AssertionError(f"ray start failed:\n{log.read_text()}")
            time.sleep(0.2)
        return node

    def workers(self, n: int) -> list[Node]:
        """Exactly ``n`` live worker nodes (one CPU each): the newest stopped, or nodes
        added, as needed (a test that needs some reuses those a test before it left)."""
        live = [node for node in self.nodes[1:] if node.alive]
        for node in live[n:][::-1]:
            node.stop()
        return live[:n] + [self.add() for _ in range(n - len(live))]

    def close(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        shutil.rmtree(self.temp, ignore_errors=True)


class _gone:
    """Ignore a process that has already exited."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        return kind is not None and issubclass(kind, (psutil.NoSuchProcess,
                                                      ProcessLookupError,
                                                      subprocess.TimeoutExpired))
