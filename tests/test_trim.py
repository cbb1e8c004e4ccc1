"""Trimming and choosing what to analyse: `run --start/--end/--every` (per job and per video in
a job file) and `--people N` for gait and renders. One real job on two short clips is shared
by the end-to-end checks; the parsing, the chunk grid and the choice of tracks are checked
without the network."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from posebatch.cli import app
from posebatch.decode import FrameRange, chunk_ranges, index_video, parse_position
from posebatch.engine.config import TrackConfig
from posebatch.engine.layout import COCO18
from posebatch.storage import tables
from posebatch.storage.schemas import VIDEOS, frame_tables
from posebatch.storage.store import Store
from posebatch.track.apply import track_tables

from .clips import write_clip
from .helpers import posebatch, read
from .walkers import walk

# a.mp4: the job's range (frames 2, 5, ..., 17); b.mp4: its own table in the job file
RANGE = ["--start", "2f", "--end", "20f", "--every", "3", "--chunk", "2"]
JOB_FILE = '[videos."b.mp4"]\nstart = "0.2s"\nend = "10f"\nevery = 1\n'


# --- without the network ----------------------------------------------------------------------

def test_positions_parse_to_seconds_or_frames_and_bad_ones_name_the_forms():
    assert [parse_position(v) for v in (12.5, "12.5", "12.5s", "1:02.5", "300f", " 7F ", 0)] \
        == ["12.5s", "12.5s", "12.5s", "62.5s", "300f", "7f", "0.0s"]
    for bad in ("12x", "f", "-1", "1:75", "nan", True, "", "1.5f"):
        with pytest.raises(ValueError, match=r"--start must be seconds \(12.5 or 12.5s\), "
                                             r"minutes:seconds \(1:02.5\) or a frame number"):
            parse_position(bad, "--start")


def test_chunks_lie_on_a_grid_from_frame_0_so_a_wider_range_keeps_the_inner_ones():
    full = FrameRange(0, 300, 1).chunks(128)
    assert full == [(0, 128), (128, 256), (256, 300)]        # what jobs without a range do
    for n, c in ((1, 1), (230, 16), (1000, 128), (77, 200)):  # their chunks: the same files
        assert FrameRange(0, n).chunks(c) == chunk_ranges(n, c)
    assert FrameRange(100, 200, 1).chunks(128) == [(100, 128), (128, 200)]
    assert FrameRange(2, 20, 3).chunks(2) == [(2, 6), (8, 12), (14, 18)]
    wider = FrameRange(2, 23, 3).chunks(2)
    assert wider[:3] == FrameRange(2, 20, 3).chunks(2) and wider[3:] == [(20, 21)]
    for r in (FrameRange(5, 1000, 7), FrameRange(0, 33, 2)):  # every frame once, in order
        got = np.concatenate([np.arange(s, e, r.every) for s, e in r.chunks(16)])
        assert got.tolist() == r.frames().tolist()
        assert max(len(range(s, e, r.every)) for s, e in r.chunks(16)) == 16


def _two_people_job(out) -> None:
    """One video with a tall walker crossing the frame and a small person standing (both in
    view throughout), written as a job writes its tables."""
    tall, small = walk(seconds=5.0, height=400.0), walk(seconds=5.0, height=150.0,
                                                        stand=5.0, facing=-1)
    records = [{"frame": f, "pts": f, "time": float(t), "status": "ok",
                "keypoints": np.stack([tall.keypoints[f], small.keypoints[f]]),
                "scores": np.array([0.9, 0.9], np.float32)}
               for f, t in enumerate(tall.times)]
    chunk = frame_tables(records, COCO18)
    tracked = track_tables(chunk["keypoints"], chunk["people"], chunk["frames"], COCO18,
                           TrackConfig())
    store = Store(out, "synthetic")
    store.write_video(0, "two.mp4", {**tracked, "frames": chunk["frames"]}, {}, {}, {})
    store.write_videos([{"video_id": 0, "video": "two.mp4", "path": "/videos/two.mp4",
                         "status": "ok", "frames": chunk["frames"].num_rows, "width": 1920,
                         "height": 1080, "tracks": tracked["tracks"].num_rows,
                         "first_frame": 0, "end_frame": chunk["frames"].num_rows,
                         "every": 1}], {})
    store.write_manifest({"schema": "posebatch.job/1", "state": "complete",
                          "model": {"name": "mobilenet_thin", "layout": COCO18.name}})


def test_people_1_keeps_the_most_prominent_track_for_gait(tmp_path):
    from posebatch import gait

    _two_people_job(tmp_path)
    job = tables.load(tmp_path)
    assert len(job.tracks) == 2
    score = tables.prominence(job.tracks, job.videos)
    tall = int(job.tracks.track[score.idxmax()])
    assert job.tracks.set_index("track").box_height[tall] > 300
    chosen = tables.prominent(job.tracks, job.videos, 1)
    assert chosen.track.tolist() == [tall]
    assert len(tables.prominent(job.tracks, job.videos, 5)) == 2
    result = gait.analyse(job, people=1)
    assert result.summary.track.tolist() == [tall] and result.summary.strides.iloc[0] >= 2
    assert set(result.angles.track) == {tall}
    assert sorted(gait.analyse(job).summary.track) == sorted(job.tracks.track)
    r = posebatch("gait", tmp_path, "--people", "1")
    assert r.returncode == 0 and "gait: 1 tracks" in r.stdout, r.stdout + r.stderr
    assert len(read(tmp_path, "tracks")) == 2      # the tables keep every track


def test_the_videos_table_declares_the_range_columns():
    for name, kind in (("first_frame", "int64"), ("end_frame", "int64"), ("every", "int32")):
        f = VIDEOS.field(name)
        assert str(f.type) == kind and f.metadata[b"doc"]


# --- a real job -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trim_clips(tmp_path_factory, demo_frames):
    d = tmp_path_factory.mktemp("trim")
    write_clip(d / "a.mp4", demo_frames[:24], options={"crf": "18", "g": "8"})
    write_clip(d / "b.mp4", demo_frames[12:24], options={"crf": "18"})
    (d / "job.toml").write_text(JOB_FILE)
    return d


@pytest.fixture(scope="module")
def trim_run(trim_clips, tmp_path_factory):
    """Both clips with a range and a stride, b.mp4 with its own range in the job file; then
    the gait and a render of the most prominent track."""
    out = tmp_path_factory.mktemp("trimmed") / "out"
    r = posebatch("run", trim_clips / "a.mp4", trim_clips / "b.mp4", "--job",
                  trim_clips / "job.toml", "--out", out, *RANGE, "--no-progress", "--gait",
                  "--render", "skeleton", "--people", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    return out, r


def test_a_range_and_stride_give_rows_for_exactly_those_frames_at_their_times(trim_run,
                                                                              trim_clips):
    out, r = trim_run
    assert "10 frames (10 computed in this run)" in r.stdout
    frames = read(out, "frames")
    want = {"a.mp4": list(range(2, 20, 3)), "b.mp4": [6, 7, 8, 9]}
    for name, rows in want.items():
        got = frames[frames.video == name]
        assert got.frame.tolist() == rows and (got.status == "ok").all()
        times = index_video(trim_clips / name).times()
        np.testing.assert_array_equal(got.time.to_numpy(), times[rows])   # the container's
        kp = read(out, "keypoints")
        assert set(kp[kp.video == name].frame) <= set(rows)
    videos = read(out, "videos").set_index("video")
    assert videos.loc["a.mp4", ["first_frame", "end_frame", "every", "frames"]].tolist() == \
        [2, 20, 3, 6]
    assert videos.loc["b.mp4", ["first_frame", "end_frame", "every", "frames"]].tolist() == \
        [6, 10, 1, 4]
    m = json.loads((out / "manifest.json").read_text())
    assert (m["params"]["start"], m["params"]["end"], m["params"]["every"]) == ("2f", "20f", 3)
    assert m["params"]["videos"] == {"b.mp4": {"start": "0.2s", "end": "10f", "every": 1}}
    assert [v["range"]["every"] for v in m["videos"]] == [3, 1]
    # the stride sets the sampling, the tracker the clock: a's track runs 2..17 at real times
    tracks = read(out, "tracks")
    a = tracks[tracks.video == "a.mp4"]
    assert len(a) >= 1 and a.first_frame.min() >= 2 and a.last_frame.max() <= 17


def test_people_1_gait_and_render_take_the_most_prominent_track(trim_run):
    out, r = trim_run
    chosen = tables.prominent(read(out, "tracks"), read(out, "videos"), 1)
    summary = pd.read_parquet(out / "gait" / "summary.parquet")
    assert sorted(zip(summary.video.astype(str), summary.track)) == \
        sorted(zip(chosen.video.astype(str), chosen.track))
    shown = ", ".join(map(str, chosen[chosen.video == "a.mp4"].track))
    assert f"(18 frames of a.mp4; tracks {shown})" in r.stdout, r.stdout   # frames 2..19
    assert "(4 frames of b.mp4; tracks none)" in r.stdout
    assert (out / "renders" / "a.mp4.skeleton.mp4").stat().st_size > 0


def test_same_range_reruns_nothing_and_a_changed_one_reuses_only_exact_chunks(trim_run,
                                                                             trim_clips,
                                                                             tmp_path):
    out = tmp_path / "out"
    shutil.copytree(trim_run[0], out)
    chunks = sorted((out / ".chunks").rglob("*.parquet"))
    mtimes = [p.stat().st_mtime_ns for p in chunks]
    args = ["run", trim_clips / "a.mp4", trim_clips / "b.mp4", "--job", trim_clips / "job.toml",
            "--out", out, "--no-progress"]
    r = posebatch(*args, *RANGE)
    assert r.returncode == 0 and "(0 computed in this run)" in r.stdout, r.stdout + r.stderr
    assert [p.stat().st_mtime_ns for p in chunks] == mtimes
    before = read(out, "keypoints")
    # a's range one stride wider (its three chunks reused, frame 20 computed); b every other
    # frame (a stride its chunks never had: all computed)
    (trim_clips / "job2.toml").write_text(JOB_FILE.replace("every = 1", "every = 2"))
    r = posebatch(*args[:3], "--job", trim_clips / "job2.toml", *args[5:],
                  *RANGE[:2], "--end", "23f", *RANGE[4:])
    assert r.returncode == 0 and "(3 computed in this run)" in r.stdout, r.stdout + r.stderr
    frames = read(out, "frames")
    assert frames[frames.video == "a.mp4"].frame.tolist() == [2, 5, 8, 11, 14, 17, 20]
    assert frames[frames.video == "b.mp4"].frame.tolist() == [6, 8]
    assert read(out, "videos").set_index("video").loc["b.mp4", "every"] == 2
    cols = ["frame", "person", "part_id", "x", "y", "score"]
    old = before[before.video == "a.mp4"][cols].reset_index(drop=True)
    new = read(out, "keypoints")
    new = new[(new.video == "a.mp4") & (new.frame < 20)][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(new, old, check_exact=True)


runner = CliRunner()


@pytest.mark.parametrize("args, says", [
    (["--start", "12x"], "--start must be seconds (12.5 or 12.5s), minutes:seconds (1:02.5) "
                         "or a frame number (300f), got '12x'"),
    (["--end", "3f", "--start", "5f"], "end (3f) must come after start (5f)"),
    (["--every", "0"], "--every must be a whole number, at least 1 (frames), got 0"),
    (["--people", "1"], "--people chooses the tracks of --gait and --render"),
    (["--people", "0", "--gait"], "--people must be a whole number of tracks, at least 1"),
    (["--job", "stop"], '[videos."a.mp4"] unknown key \'stop\''),
    (["--job", "late"], '[videos."a.mp4"] end (1.0s) must come after start (2.0s)'),
    (["--job", "other"], '[videos."c.mp4"] names no input video (their names: a.mp4)'),
])
def test_bad_ranges_fail_with_exit_code_2_and_one_line_before_anything_is_written(
        args, says, tmp_path, demo_clip):
    clip = tmp_path / "a.mp4"
    shutil.copy(demo_clip, clip)
    if args[:2] == ["--job", "stop"]:
        (tmp_path / "j.toml").write_text('[videos."a.mp4"]\nstop = "3s"\n')
        args = ["--job", str(tmp_path / "j.toml")]
    elif args[:2] == ["--job", "late"]:
        (tmp_path / "j.toml").write_text('end = "1s"\n[videos."a.mp4"]\nstart = "2s"\n')
        args = ["--job", str(tmp_path / "j.toml")]
    elif args[:2] == ["--job", "other"]:
        (tmp_path / "j.toml").write_text('[videos."c.mp4"]\nend = "3s"\n')
        args = ["--job", str(tmp_path / "j.toml")]
    out = tmp_path / "out"
    r = runner.invoke(app, ["run", str(clip), "--out", str(out), *args])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], r.output
    assert not out.exists()
