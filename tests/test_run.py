"""`posebatch run` end to end, as a user runs it (a subprocess with a local Ray runtime; on an
existing cluster: tests/reliability/test_nodes.py): tables, bad inputs, resume after SIGKILL,
Ctrl-C, status."""
from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from posebatch.storage import tables
from .helpers import frame_keypoints
from posebatch.errors import ConfigError
from posebatch.decode import decode_sequential
from posebatch.gait import schema as gait_schema

from .clips import cut, set_display_rotation, write_clip
from .helpers import (DATASETS, TABLES, kill_job, posebatch, read, same_tables, start,
                      table_files, wait_for_chunk)


def test_tables_account_for_every_frame_with_distinct_names(full_run, walk_dir):
    out, r = full_run
    assert "32 frames (32 computed in this run)" in r.stdout
    assert "Token authentication" not in r.stderr     # Ray's notice is not the user's concern
    videos = read(out, "videos")
    assert videos.video.tolist() == [f"{walk_dir.name}/a/clip.mp4", f"{walk_dir.name}/b/clip.mp4"]
    assert videos.status.tolist() == ["ok", "ok"]
    assert videos.frames.tolist() == videos.decoded_frames.tolist() == [16, 16]
    assert videos.container_frames.tolist() == [16, 16]
    assert videos.codec.tolist() == ["h264", "h264"] and videos.width.tolist() == [880, 880]
    frames = read(out, "frames")
    assert frames.groupby("video_id").frame.apply(list).tolist() == [list(range(16))] * 2
    assert (frames.status == "ok").all()
    np.testing.assert_allclose(frames.time[:16], np.arange(16) / 30)
    kp, people = read(out, "keypoints"), read(out, "people")
    per_frame = people.groupby(["video_id", "frame"]).size()
    got = frames.set_index(["video_id", "frame"]).people
    assert (got[got > 0] == per_frame.reindex(got[got > 0].index)).all()
    assert (~kp.filled).sum() == people.parts.sum()   # detections; the rest is filled
    assert str(kp.part.dtype) == "category" and kp.part.cat.categories[1] == "neck"


def test_tables_match_in_process_estimation(full_run, walk_dir, default_estimator):
    """The job's keypoints (Ray actors, chunks of 4) equal estimating each decoded frame here
    (both at the default quality)."""
    out, _ = full_run
    kp = read(out, "keypoints")
    kp = kp[kp.video_id == 1]
    for f in decode_sequential(walk_dir / "b" / "clip.mp4"):
        want = default_estimator.estimate(f.image)
        got = frame_keypoints(kp, f.index, as_detected=True)  # as the network labelled them
        assert len(got) == want.n_people
        np.testing.assert_array_equal(got[..., 2] > 0, want.keypoints[..., 2] > 0)
        np.testing.assert_allclose(got[..., :2], want.keypoints[..., :2], atol=1e-3)


def test_tables_readable_by_polars_and_duckdb_with_job_metadata(full_run):
    import json

    import duckdb
    import polars as pl

    import pyarrow.dataset as ds

    out, _ = full_run
    n = len(read(out, "keypoints"))
    assert pl.read_parquet(out / "keypoints").height == n
    assert pl.scan_parquet(out / "frames" / "*.parquet").filter(
        pl.col("status") == "ok").collect().height == 32
    assert duckdb.sql(f"select count(*) from '{out}/keypoints/*.parquet'").fetchall()[0][0] == n
    assert duckdb.sql(f"select count(*) from '{out}/frames/*.parquet' where status = 'ok'"
                      ).fetchall()[0][0] == 32
    assert ds.dataset(out / "keypoints").to_table().num_rows == n
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["state"] == "complete"
    timing = manifest["timing"]         # what the driver cost (benchmarks/big_jobs.py)
    assert (timing["frames_done"], timing["chunks"]) == (32, 8)
    assert all(timing[k] >= 0 for k in ("plan_s", "infer_s", "tail_s", "driver_cpu_s"))
    assert 0 < timing["chunk_ms_mean"] <= timing["chunk_ms_max"]
    assert 0.05 < timing["driver_peak_gb"] < 8
    assert manifest["tables"] == {"keypoints": "keypoints", "people": "people",
                                  "frames": "frames", "tracks": "tracks",
                                  "videos": "videos.parquet"}
    assert manifest["model"]["sha256"] == (
        "51f84ea82b3d0143dd4cf362e018c125e832c64771908ee8766fbd8b0328008d")
    assert set(manifest["versions"]) >= {"posebatch", "tensorflow", "ray"}
    for t in TABLES:
        for path in table_files(out, t):
            meta = pq.read_schema(path).metadata
            assert meta[b"posebatch.schema"] == f"{t}/6".encode()
            params = json.loads(meta[b"posebatch.params"])
            assert params["model"] == manifest["model"]
            assert params["versions"] == manifest["versions"]
            assert params["params_key"] == manifest["params_key"]
            assert params["track_key"] == manifest["track_key"]
            if t == "videos":
                assert params["params"]["chunk"] == 4


def test_each_table_is_a_dataset_of_one_file_per_video(full_run):
    """No final copy: a video's four files are written when it is finished, named by its
    video_id, holding its rows only; the folders hold nothing else."""
    out, _ = full_run
    videos = read(out, "videos")
    for t in DATASETS:
        files = table_files(out, t)
        assert [f.name for f in files] == ["00000000.parquet", "00000001.parquet"], files
        for vid, f in enumerate(files):
            part = pd.read_parquet(f)
            assert set(part.video_id) <= {vid} and set(part.video) <= {videos.video[vid]}
    assert not (out / ".tmp").exists() or not any((out / ".tmp").iterdir())
    assert not any((out / f"{t}.parquet").exists() for t in DATASETS)


def test_rerun_does_no_work_and_parameters_redo_what_they_change(full_run, walk_dir, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(full_run[0], out)
    chunk_files = sorted((out / ".chunks").rglob("*.parquet"))
    dataset_files = [f for t in DATASETS for f in table_files(out, t)]
    mtimes = [p.stat().st_mtime_ns for p in chunk_files + dataset_files]
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0 and "(0 computed in this run)" in r.stdout, r.stdout + r.stderr
    assert [p.stat().st_mtime_ns for p in chunk_files + dataset_files] == mtimes
    same_tables(full_run[0], out)
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--upsample", 2, "--no-progress")
    assert "(32 computed in this run)" in r.stdout, r.stdout + r.stderr
    assert not read(out, "keypoints").equals(read(full_run[0], "keypoints"))
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert "(0 computed in this run)" in r.stdout  # the upsample-4 chunks are still there
    same_tables(full_run[0], out)
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--force", "--no-progress")
    assert "(32 computed in this run)" in r.stdout
    same_tables(full_run[0], out)
    st = posebatch("status", out)
    assert st.returncode == 0 and "complete" in st.stdout and "32/32 frames done" in st.stdout


def test_fewer_inputs_rewrite_only_the_moved_videos_without_inference(full_run, walk_dir,
                                                                      tmp_path):
    """The second video alone becomes video_id 0: its tables are rewritten from its stored
    chunks (nothing computed), the first video's files are gone, the rows are the same."""
    out = tmp_path / "out"
    shutil.copytree(full_run[0], out)
    r = posebatch("run", walk_dir / "b", "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0 and "(0 computed in this run)" in r.stdout, r.stdout + r.stderr
    videos = read(out, "videos")
    assert len(videos) == 1 and videos.video_id.tolist() == [0]
    for t in DATASETS:
        assert [f.name for f in table_files(out, t)] == ["00000000.parquet"]
        got = read(out, t).drop(columns=["video_id", "video"])
        full = read(full_run[0], t)
        want = full[full.video_id == 1].drop(columns=["video_id", "video"])
        pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_exact=True)
        assert set(read(out, t).video) <= {videos.video[0]}


def test_sigkill_then_rerun_gives_identical_tables(full_run, walk_dir, tmp_path):
    out = tmp_path / "out"
    proc = start("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    wait_for_chunk(out, proc)
    kill_job(proc)
    done = len(list((out / ".chunks").rglob("*.frames.parquet")))
    assert 0 < done < 8
    assert not (out / "videos.parquet").exists()  # no index: nothing looks complete
    with pytest.raises(ConfigError, match="no finished job in .*: give the --out folder of a finished"):
        tables.load(out)
    st = posebatch("status", out)
    assert "stopped (the job that wrote it is no longer running" in st.stdout, st.stdout
    assert f"{4 * done}/32 frames done" in st.stdout, st.stdout
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert f"({32 - 4 * done} computed in this run)" in r.stdout
    same_tables(full_run[0], out)


def test_ctrl_c_shuts_ray_down_and_keeps_finished_chunks(walk_dir, tmp_path):
    import psutil

    out = tmp_path / "out"
    proc = start("run", walk_dir, "--out", out, "--chunk", 2, "--no-progress")
    wait_for_chunk(out, proc)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children  # the local Ray runtime and its actors
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 3, stderr     # interrupted: rerun to resume
    assert "run the same command again to resume" in stderr
    gone, alive = psutil.wait_procs(children, timeout=60)
    assert not alive, [p.cmdline()[:3] for p in alive]
    import json

    assert json.loads((out / "manifest.json").read_text())["state"] == "interrupted"


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory, demo_frames):
    d = tmp_path_factory.mktemp("bad")
    good = write_clip(d / "good.mp4", demo_frames[:6], options={"crf": "18"})
    write_clip(d / "nobody.mp4", [np.full((240, 320, 3), 90, np.uint8)] * 5)
    write_clip(d / "one.mp4", demo_frames[:1], options={"crf": "18"})
    (d / "zero.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("this is a text file, not a video\n")
    cut(good, d / "cut.mp4")  # index (moov) at the end: nothing left to read
    big = write_clip(d / "x" / "whole.mov", demo_frames[:12], options={"crf": "18", "g": "4"},
                     container_options={"movflags": "faststart"})
    cut(big, d / "cut_faststart.mp4", 0.6)  # index first: the frames after the cut are lost
    big.unlink()
    (d / "x" / "notes.txt").write_text("no videos in this folder")
    if os.geteuid() == 0:  # root reads anything: a dangling link stands in for no permission
        os.symlink(d / "gone.mp4", d / "unreadable.mp4")
    else:
        (d / "unreadable.mp4").write_bytes(good.read_bytes())
        os.chmod(d / "unreadable.mp4", 0)
    return d


def test_bad_inputs_are_reported_and_the_rest_completes(bad_dir, tmp_path):
    out = tmp_path / "out"
    r = posebatch("run", bad_dir, bad_dir / "x", bad_dir / "missing.mp4", "--out", out,
                  "--chunk", 4, "--no-progress")
    assert r.returncode == 1
    v = read(out, "videos").set_index("video")
    status = v.status.rename(lambda n: n.split("/", 1)[-1] if n.startswith(bad_dir.name) else
                             Path(n).name).to_dict()
    assert status == {
        "cut.mp4": "error", "cut_faststart.mp4": "partial", "good.mp4": "ok",
        "nobody.mp4": "ok", "one.mp4": "ok", "text.mp4": "error", "unreadable.mp4": "error",
        "zero.mp4": "error", "x": "error", "missing.mp4": "error"}
    errors = dict(zip(status, v.error))
    assert "empty file (0 bytes)" in errors["zero.mp4"]
    assert "not a readable video" in errors["text.mp4"]
    assert "folder contains no video files" in errors["x"]
    assert "no such file" in errors["missing.mp4"]
    for name in ("cut.mp4", "text.mp4", "zero.mp4", "unreadable.mp4", "x", "missing.mp4",
                 "cut_faststart.mp4"):
        assert name in r.stderr.split("inputs failed:")[1], name  # the failed list
    rows = v.reset_index()
    nobody = rows[rows.video.str.endswith("nobody.mp4")].iloc[0]
    assert (nobody.frames, nobody.decoded_frames, nobody.people_frames) == (5, 5, 0)
    assert "nobody found" in r.stdout
    one = rows[rows.video.str.endswith("one.mp4")].iloc[0]
    assert (one.frames, one.decoded_frames, one.people_frames) == (1, 1, 1)
    frames = read(out, "frames")
    # every frame of every readable video is in the frames table, failed ones with a status
    assert frames.groupby("video_id").size().to_dict() == \
        rows[rows.frames > 0].set_index("video_id").frames.to_dict()
    cf = rows[rows.video.str.endswith("cut_faststart.mp4")].iloc[0]
    assert cf.container_frames == 12 and 0 < cf.decoded_frames < 12
    cfs = frames[frames.video_id == cf.video_id]
    assert len(cfs) == 12 and (cfs.status == "ok").sum() == cf.decoded_frames
    assert cfs[cfs.status != "ok"].error.notna().all()


def test_bench_reports_every_stage_and_the_ratio_to_the_bare_network():
    """The benchmark runs and reports (speed itself is measured by `posebatch bench`, not
    asserted here), with the second look's cost per person (`--refine people`; 12 frames:
    a person is tracked, so looked at again, from 0.3 s on)."""
    r = posebatch("bench", "--frames", 12, "--stage-frames", 4, "--repeats", 1, "--chunk", 4,
                  "--refine", "people")
    assert r.returncode == 0, r.stderr
    for stage in ("decode", "repeat check", "preprocess", "network (bare)", "upsample",
                  "smooth+peaks", "parse",
                  "write", "finish video", "end to end, one process",
                  "end to end, job (Ray)"):
        assert stage in r.stdout, stage
    from posebatch.engine.runtimes import candidates, label

    for r_p in candidates():    # every runtime/precision this machine runs, side by side
        assert re.search(rf"{label(*r_p)}\s+│ [\d.]+\s+│ [\d.]+\s+│ [\d.]+", r.stdout), r_p
    assert re.search(r"job end to end: [\d.]+ frames/s = [\d.]+ x the bare fp32 network", r.stdout)
    assert re.search(r"cost per frame / the reference 432x368 fp32 network's \([\d.]+ ms/frame, "
                     r"same run\): job [\d.]+, one process [\d.]+", r.stdout)
    assert re.search(r"finish video \(track, smooth, write\): [\d.]+ ms/frame = [\d.]+% of the bare network", r.stdout)
    assert re.search(r"start-up: Ray [\d.]+ s, \d+ actors loaded and warm [\d.]+ s, first "
                     r"chunk done [\d.]+ s .*resident memory per actor: [\d.]+ GB", r.stdout)
    assert re.search(r"second look \(--refine people\): [\d.]+ ms per person per frame in one "
                     r"process = [\d.]+ x the bare network; in the job, [\d.]+ ms of actor time "
                     r"per person", r.stdout.replace("\n", " ")), r.stdout


def test_phone_rotation_is_applied_before_inference(demo_frames, estimator, tmp_path):
    """A clip stored sideways with a display matrix saying "turn 90 degrees clockwise" (as
    phones write portrait video) is processed upright: people found, coordinates in the
    upright frame, as estimating the upright frames here."""
    import cv2

    from posebatch.decode import upright

    sideways = [cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) for f in demo_frames[:4]]
    clip = set_display_rotation(write_clip(tmp_path / "in" / "phone.mp4", sideways,
                                           options={"crf": "18"}), 90)
    out = tmp_path / "out"
    r = posebatch("run", clip, "--out", out, "--chunk", 2, "--quality", "reference",
                  "--no-progress")     # the settings of the `estimator` fixture
    assert r.returncode == 0, r.stderr
    v = read(out, "videos").iloc[0]
    assert (v.rotation, v.width, v.height) == (90, 880, 496)
    kp = read(out, "keypoints")
    frames = read(out, "frames")
    assert (frames.people > 0).all()
    for f in decode_sequential(clip):
        image = upright(f.image, 90)
        assert image.shape[:2] == (496, 880)
        want = estimator.estimate(image)
        got = frame_keypoints(kp, f.index, as_detected=True)
        assert frames.people[f.index] == want.n_people == len(got)
        np.testing.assert_allclose(got[..., :2], want.keypoints[..., :2], atol=1e-3)


def test_bf16_job_finds_the_same_people_as_fp32(walk_dir, tmp_path):
    """--precision bf16 (oneDNN mixed precision) on a CPU that has it: its own chunks, and
    the people of the fp32 job within one network cell, at the settings of `fast` (the preset
    that uses bf16, through precision auto; the README gives the measured agreement on the
    demo and the AP on COCO)."""
    import json

    from posebatch.engine.config import cpu_has_bf16

    if not cpu_has_bf16():
        pytest.skip("this CPU has neither AVX512-BF16 nor AMX: bf16 would only be emulated")
    outs = {}
    for precision in ("fp32", "bf16"):
        out = outs[precision] = tmp_path / precision
        r = posebatch("run", walk_dir, "--out", out, "--chunk", 8, "--quality", "fast",
                      "--precision", precision, "--no-progress")
        assert r.returncode == 0, r.stderr
        params = json.loads((out / "manifest.json").read_text())["params"]
        assert params["precision"] == params["config"]["precision"] == precision
    full, out = outs["fp32"], outs["bf16"]
    # No clear person (half the body or more, score >= 0.5; the walkers score 0.6-1.4 with
    # 11-18 parts here) appears or vanishes in any frame. The walker leaving clip b shows 7-11
    # parts at scores 0.3-0.7 and may fall either side of the threshold under either
    # precision, as under any rounding.
    a, b = read(full, "people"), read(out, "people")
    for one, other in ((a, b), (b, a)):
        sure = one[(one.score >= 0.5) & (one.parts >= 9)].groupby(
            ["video", "frame"], observed=True).size()
        found = other.groupby(["video", "frame"], observed=True).size()
        assert (sure <= found.reindex(sure.index, fill_value=0)).all(), (sure, found)
        assert len(sure) >= 24                  # most of the 32 frames have a clear person
    ka, kb = read(full, "keypoints"), read(out, "keypoints")
    cell = 496 / 46                                   # one network output cell, in pixels
    near = total = 0
    for (video, f), rows in ka[~ka.filled].groupby(["video", "frame"], observed=True):
        other = kb[(kb.video == video) & (kb.frame == f) & ~kb.filled]
        for _, p in rows.iterrows():
            same = other[other.part_id == p.part_id]
            total += 1
            near += bool(len(same)) and np.hypot(same.x - p.x, same.y - p.y).min() <= cell
    assert near / total >= 0.9, (near, total)


def test_chunk_pool_keeps_each_actor_on_consecutive_chunks():
    """ChunkPool's order of handing out chunks (no Ray needed to check it): two in flight per
    actor; an actor continues its own run of chunks; a new actor splits the longest run at
    its middle when someone is already continuing into it; a second video is started whole."""
    import itertools

    from posebatch.runner.chunk import ChunkTask
    from posebatch.runner.cluster import ChunkPool

    given: dict[str, list] = {"A": [], "B": []}
    refs = itertools.count()

    def fn(actor, task):
        given[actor].append((task.video, task.start))
        return next(refs)

    pool = ChunkPool(["A", "B"], depth=2)
    for s in range(0, 128, 32):
        pool.submit(fn, ChunkTask(0, "v", s, s + 32))
    assert given == {"A": [], "B": []}
    pool._fill()         # what get_next_unordered does first
    assert given == {"A": [(0, 0), (0, 32)], "B": [(0, 64), (0, 96)]}

    given = {"A": [], "B": []}
    pool = ChunkPool(["A", "B"], depth=2)
    for v in (0, 1):
        for s in range(0, 96, 32):
            pool.submit(fn, ChunkTask(v, f"v{v}", s, s + 32))
    pool._fill()
    # A takes video 0 from its start; B the longest run nobody continues into yet
    assert given["A"][0] == (0, 0) and given["A"][1] == (0, 32)
    assert given["B"][0] in {(0, 32), (1, 0)} and len(given["B"]) == 2
    assert set(pool._waiting) | {t for v in given.values() for t in v} == {
        (v, s) for v in (0, 1) for s in (0, 32, 64)}


def test_gait_cli_on_a_real_job_without_walkers(full_run, tmp_path):
    """`posebatch gait` on a job the network made (two 16-frame clips: tracks far too short
    to walk): every gait file still has all its columns, and a reason per track."""
    out = tmp_path / "job"
    shutil.copytree(full_run[0], out, ignore=shutil.ignore_patterns("gait", ".chunks"))
    r = posebatch("gait", out)
    assert r.returncode == 0, r.stderr
    for name, declared in gait_schema.TABLES.items():
        got = pq.read_schema(out / "gait" / f"{name}.parquet")
        assert [(f.name, f.type, f.nullable) for f in got] == [
            (f.name, f.type, f.nullable) for f in declared]
    summary = pd.read_parquet(out / "gait" / "summary.parquet")
    assert len(summary) == len(tables.read(out, "tracks")) > 0
    assert summary.reason.str.startswith("no gait").all()
    assert summary.cadence_steps_per_min.isna().all()
    for reason in summary.reason:                      # the printed table says why, briefly
        assert reason.split(" (")[0] in r.stdout, (reason, r.stdout)
    assert "notes in full: the summary's reason and flags columns" in r.stdout
