"""Helpers the tests share (paths, running the CLI, reading and comparing job tables,
stopping jobs, matching people against the goldens). Test modules import from here, never
from one another; fixtures live in conftest.py."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.optimize import linear_sum_assignment

REPO = Path(__file__).resolve().parent.parent


SHARED = REPO.parent / "shared"


GOLDEN = SHARED / "data" / "golden"


IMAGES = SHARED / "data" / "images"


def need_shared(*parts: str) -> Path:
    """Path under ../shared, or skip the test saying what is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data {p} is absent (../shared is only present in the "
                    "development workspace, not in a user's clone)")
    return p


def posebatch(*args, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "posebatch", *map(str, args)],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, **kw)


def reference_cells(humans: list[dict], map_w: int = 216, map_h: int = 184) -> list[dict]:
    """Reference people as {part_id: (col, row, score)} in heatmap cells, plus 'score'."""
    out = []
    for h in humans:
        parts = {int(k): (round(p["x"] * map_w), round(p["y"] * map_h), p["score"])
                 for k, p in h["parts"].items()}
        out.append({"parts": parts, "score": h["score"]})
    return out


def people_cells(kp: np.ndarray, scores: np.ndarray) -> list[dict]:
    """Parser output (n, 18, 3) in cells as the same dicts as reference_cells."""
    out = []
    for k, s in zip(kp, scores):
        parts = {i: (int(k[i, 0]), int(k[i, 1]), float(k[i, 2]))
                 for i in range(k.shape[0]) if k[i, 2] > 0}
        out.append({"parts": parts, "score": float(s)})
    return out


TABLES = ("keypoints", "people", "frames", "tracks", "videos")


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "posebatch", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


DATASETS = ("keypoints", "people", "frames", "tracks")


def table_path(out: Path, table: str) -> Path:
    """Where a user reads a table: a dataset folder (one file per video) or the index."""
    return Path(out) / ("videos.parquet" if table == "videos" else table)


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(table_path(out, table))


def table_files(out: Path, table: str) -> list[Path]:
    path = table_path(out, table)
    return sorted(path.iterdir()) if path.is_dir() else [path]


def same_tables(a: Path, b: Path, run_options: tuple[str, ...] = ()) -> None:
    """Every table equal; of the videos table all but ``seconds`` (actor time differs per run);
    the metadata of every file equal but for the output folder and ``run_options`` (how the
    job ran)."""
    for t in TABLES:
        x, y = read(a, t), read(b, t)
        if t == "videos":
            x, y = x.drop(columns="seconds"), y.drop(columns="seconds")
        pd.testing.assert_frame_equal(x, y, check_exact=True)
        fa, fb = table_files(a, t), table_files(b, t)
        assert [f.name for f in fa] == [f.name for f in fb]
        for pa_, pb_ in zip(fa, fb):
            assert job_metadata(pa_, run_options) == job_metadata(pb_, run_options), pa_.name


def job_metadata(path: Path, run_options: tuple[str, ...] = ()) -> dict:
    """The Parquet file's job metadata without the output folder (the only thing that may
    differ between two runs of the same job in different folders). A dataset file's metadata
    names only what its content depends on: it has neither."""
    import json

    meta = dict(pq.read_schema(path).metadata)
    params = json.loads(meta.pop(b"posebatch.params"))
    if b"posebatch.video" in meta:  # a frames file's stamp and counts, but actor time
        stamp = json.loads(meta[b"posebatch.video"])
        stamp["stats"].pop("seconds")
        meta[b"posebatch.video"] = stamp
    if "params" in params:          # the videos index: the whole job
        for key in ("out",) + run_options:
            params["params"].pop(key)
    else:
        assert not {"out", "chunk", "actors"} & set(params), params
    return {**meta, "params": params}


def kill_job(proc: subprocess.Popen) -> None:
    """SIGKILL the job's process group and wait until every process it started is gone (an
    actor outside the group ends when its raylet does: it may still finish writing a chunk,
    atomically, in that moment)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGKILL)
    except (psutil.NoSuchProcess, ProcessLookupError):     # it had ended
        proc.wait()
        return
    proc.wait()
    _, alive = psutil.wait_procs(family, timeout=60)
    assert not alive, alive


def wait_for_chunk(out: Path, proc: subprocess.Popen, timeout: float = 240) -> None:
    t = time.time()
    while not list((out / ".chunks").rglob("*.frames.parquet")):
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t < timeout, "no chunk finished in time"
        time.sleep(0.2)


def match_within_one_cell(ours: np.ndarray, ref: list[dict]) -> tuple[int, int]:
    """Match people one to one (Hungarian on mean cell distance over shared parts) and count
    reference keypoints whose matched keypoint lies within one cell in x and y.
    ``ours``: (n, 18, 2) cells, NaN where missing. Returns (within, total reference parts)."""
    total = sum(len(r["parts"]) for r in ref)
    if not len(ref) or not len(ours):
        return 0, total
    cost = np.full((len(ref), len(ours)), 1e6)
    for i, r in enumerate(ref):
        for j, o in enumerate(ours):
            d = [np.hypot(o[k][0] - c, o[k][1] - rr) for k, (c, rr, _) in r["parts"].items()
                 if np.isfinite(o[k][0])]
            if d:
                cost[i, j] = np.mean(d) + 10 * (len(r["parts"]) - len(d))
    rows, cols = linear_sum_assignment(cost)
    within = 0
    for i, j in zip(rows, cols):
        for k, (c, rr, _) in ref[i]["parts"].items():
            x, y = ours[j][k]
            if np.isfinite(x) and abs(round(float(x)) - c) <= 1 and abs(round(float(y)) - rr) <= 1:
                within += 1
    return within, total


def assert_same_people(ours: list[dict], ref: list[dict], score_tol: float = 1e-5):
    """Same count; each reference person has one partner with the same parts in the same
    cells and scores within ``score_tol``."""
    assert len(ours) == len(ref)
    unused = list(range(len(ours)))
    for r in ref:
        match = [j for j in unused if ours[j]["parts"].keys() == r["parts"].keys() and all(
            ours[j]["parts"][k][:2] == r["parts"][k][:2] for k in r["parts"])]
        assert match, f"no person matches reference {r}"
        o = ours[match[0]]
        unused.remove(match[0])
        assert abs(o["score"] - r["score"]) <= score_tol
        for k, (_, _, s) in r["parts"].items():
            assert abs(o["parts"][k][2] - s) <= score_tol


GOLDEN_NAMES = ["ski", "p1", "p2", "p3", "apink1", "COCO_val2014_000000000357", "cat",
                "valid_person1"]

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute_notebook(name: str, path: Path, env: dict[str, str] | None = None,
                     save_to: Path | None = None) -> list[dict]:
    """Run the notebook in ``path`` (``env``: variables its kernel sees); return its outputs,
    none of which may be an error. ``save_to``: where the executed notebook is written."""
    from unittest import mock

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    with mock.patch.dict(os.environ, env or {}):
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path)}}).execute()
    if save_to is not None:
        nbformat.write(nb, save_to)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return outputs


def notebook_images(outputs: list[dict]) -> list[dict]:
    return [o for o in outputs if "image/png" in o.get("data", {})]


def busy_pose_actor(processes, alive=lambda: True, timeout: float = 240):
    """A pose actor while it runs a chunk (Ray titles the process after the method it runs),
    among ``processes()`` (psutil processes, looked at again every 50 ms); ``alive()`` must
    hold meanwhile (assert it)."""
    import psutil

    t = time.monotonic()
    while time.monotonic() - t < timeout:
        alive()
        for p in processes():
            try:
                if "PoseWorker.process" in " ".join(p.cmdline()):
                    return p
            except psutil.Error:
                pass
        time.sleep(0.05)
    raise AssertionError("no pose actor was seen running a chunk")


def frame_keypoints(keypoints, frame: int, as_detected: bool = False):
    """(people, 18, 3) detections of one frame of a keypoints table, through the package's
    one rows -> arrays converter (posebatch.engine.poses.Poses)."""
    from posebatch.engine.layout import COCO18
    from posebatch.engine.poses import Poses

    rows = keypoints[keypoints["frame"] == frame]
    return Poses.from_rows(rows, COCO18, as_detected=as_detected).keypoints
