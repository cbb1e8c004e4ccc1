"""The whole job SIGKILLed at several points and rerun: the tables are identical to an
uninterrupted run (values and metadata, as tests/test_run.py compares them). Mid-chunk is
tests/test_run.py; here: while indexing the inputs, and while videos' tables are being
written, each point found by watching the job (its open files, its output folder)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import psutil
import pytest

from ..clips import write_clip
from ..helpers import kill_job, posebatch, same_tables, start


@pytest.fixture(scope="module")
def many(tmp_path_factory, demo_frames):
    """48 two-frame clips in 4 folders: indexing takes a moment, and videos finish (their
    tables written) all through the job (120 before: the same points, at twice the cost)."""
    root = tmp_path_factory.mktemp("many")
    clips = [write_clip(root / f"src{k}.mp4", demo_frames[2 * k: 2 * k + 2],
                        options={"crf": "28"}) for k in range(4)]
    folder = root / "videos"
    for i in range(48):
        dest = folder / f"s{i % 4}" / f"clip{i:03d}.mp4"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clips[i % 4], dest)
    out = root / "reference"
    r = posebatch("run", folder, "--out", out, "--chunk", 8, "--no-progress")
    assert r.returncode == 0, r.stderr
    return folder, out


def _kill_when(proc, seen, timeout: float = 240) -> None:
    t = time.time()
    while not seen():
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t < timeout, "the point to kill at never came"
        time.sleep(0.005)
    kill_job(proc)


def _indexing(proc, folder: Path):
    job = psutil.Process(proc.pid)

    def seen() -> bool:
        try:
            return any(Path(f.path).is_relative_to(folder) for f in job.open_files())
        except psutil.Error:
            return False
    return seen


@pytest.mark.parametrize("point", ["indexing", "writing tables"])
def test_killed_at_a_point_then_rerun_gives_identical_tables(many, tmp_path, point):
    folder, reference = many
    out = tmp_path / "out"
    proc = start("run", folder, "--out", out, "--chunk", 8, "--no-progress")
    if point == "indexing":
        _kill_when(proc, _indexing(proc, folder))
        assert not (out / ".chunks").exists() or not any((out / ".chunks").rglob("*.parquet"))
    else:
        _kill_when(proc, lambda: (out / "keypoints").is_dir() and any(
            (out / "keypoints").iterdir()))
        assert not (out / "videos.parquet").exists()
    r = posebatch("run", folder, "--out", out, "--chunk", 8, "--no-progress")
    assert r.returncode == 0, r.stderr
    same_tables(reference, out)
