"""A disk that fills up while the job writes: a clear error, nothing that looks complete,
and a rerun once there is space again ends with the tables of an uninterrupted run. The
output folder is a small tmpfs mounted for the test (root only, as in CI)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pyarrow.parquet as pq
import pytest
from ..helpers import posebatch, same_tables


pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="mounting a small tmpfs for the output needs root")


@pytest.fixture()
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk, leave: int) -> None:
    """Take all the space but ``leave`` bytes with a filler file."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


def test_a_full_disk_stops_the_job_clearly_and_a_rerun_finishes_it(full_run, walk_dir,
                                                                    small_disk):
    out = small_disk / "out"
    fill(small_disk, 96 * 1024)             # room for a few chunks, not for the job
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 3, r.stdout + r.stderr      # resumable: rerun
    assert "No space left on device" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "rerun the same command to resume" in r.stderr, r.stderr
    assert not (out / "videos.parquet").exists()          # nothing looks complete
    for p in out.rglob("*.parquet"):    # every file under a final name is whole
        pq.read_metadata(p)
    (small_disk / "filler").unlink()
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0, r.stderr
    computed = int(re.search(r"\((\d+) computed in this run\)", r.stdout).group(1))
    assert 0 < computed < 32                # it went on from where it stopped
    same_tables(full_run[0], out)
    shutil.rmtree(out)
