"""Tracks through the batch job, on real videos with the real model: they are resumable, old
outputs are upgraded without inference, and the measured quality on the demo video and the
gait clip (that chunking does not change them: tests/reliability/test_nodes.py, whose joining
node runs the demo job in other chunks and must give the same tables)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from posebatch.storage import tables
from posebatch.errors import ConfigError
from .helpers import (DATASETS, posebatch, read, same_tables, table_files,
                      table_path)


LONG = 2.0   # seconds: a "long" track, as opposed to fragments of a person's acrobatics


def test_demo_two_people_two_long_tracks_without_a_switch(demo_runs):
    """The woman walks across the lawn (y of her box's top > 450 px); the man stands on the
    utility box (top < 250 px) until his backflip. Each is one long track, and neither track
    ever holds a detection of the other."""
    tracks = read(demo_runs["demo"], "tracks")
    long = tracks[tracks.end - tracks.start > LONG]
    assert len(long) == 2, tracks
    people = read(demo_runs["demo"], "people")
    man, woman = (people[people.track == t] for t in long.track)
    if man.y_min.mean() > woman.y_min.mean():
        man, woman = woman, man
    assert (man.y_min < 250).all() and (woman.y_min > 450).all()
    assert woman.frame.min() <= 40 and woman.frame.max() >= 195        # across the view
    assert man.frame.min() == 0 and man.frame.max() >= 135             # until the flip
    # in every frame where both are detected, each is in their own track
    both = people[people.track.isin(long.track)].groupby("frame").track.nunique()
    assert (both[both.index.isin(man.frame) & both.index.isin(woman.frame)] == 2).all()
    kp = read(demo_runs["demo"], "keypoints")
    assert kp.swapped.any() and kp.filled.any()
    assert (kp[kp.track.notna()][["x_smooth", "y_smooth"]].notna().all()).all()
    videos = read(demo_runs["demo"], "videos")
    assert videos.tracks.tolist() == [len(tracks)]


def test_gait_walker_is_one_track_and_his_reflection_another(gait_set_run):
    """biomech_gait_normal_01: every detection of the walker is in one track, and nothing
    else is; his reflection in the glass cabinet (small, in the cabinet's upper left region)
    is a track of its own; his gait is found at the default quality (README "How the presets
    were chosen": settings that lost it were not made presets). Its job: the gait set's
    (`--gait`, default settings; tests/conftest.py), where it is one of three videos."""
    _, out = gait_set_run
    video = "inputs/biomech_normal.mp4"
    people = read(out, "people")
    people = people[people.video.astype(str) == video]
    assert len(people) and (read(out, "videos").video.astype(str) == video).sum() == 1
    height = people.y_max - people.y_min
    in_cabinet = (people.x_max < 470) & (people.y_max < 240) & (height < 160)
    walker, reflection = people[~in_cabinet], people[in_cabinet]
    assert len(walker) >= 100 and walker.track.nunique() == 1 and walker.track.notna().all()
    track = walker.track.iloc[0]
    assert (people.track == track).sum() == len(walker)   # and nothing else in his track
    assert walker.frame.is_unique and walker.frame.max() == 123   # to the last frame
    assert reflection.track.nunique() == 1 and track not in set(reflection.track.dropna())
    assert reflection.track.notna().sum() >= 0.9 * len(reflection)
    # --gait: his gait (he walks side-on, left to right, about two strides in view)
    summary = pd.read_parquet(out / "gait" / "summary.parquet")
    summary = summary[summary.video.astype(str) == video].set_index("track")
    him = summary.loc[track]
    assert pd.isna(him.reason) and him.strides >= 2 and him.alternation == 1.0
    assert 95 <= him.cadence_steps_per_min <= 120 and 55 <= him.stance_pct <= 70
    assert (out / "gait" / f"inputs_biomech_normal.mp4.track{int(track)}.png").exists()
    # the time series of his track: every frame of his span, smoothed, with a time index
    wide = tables.wide(read(out, "keypoints")).loc[(video, track)]
    assert wide.index.is_monotonic_increasing and len(wide) >= len(walker)
    assert wide.right_knee_x.notna().mean() > 0.9


def test_rerun_keeps_tracks_and_new_settings_retrack_without_inference(full_run, walk_dir,
                                                                       tmp_path):
    out = tmp_path / "out"
    shutil.copytree(full_run[0], out)
    tracked = [f for t in DATASETS for f in table_files(out, t)]
    assert len(tracked) == 2 * 4            # two videos, four tables each
    mtimes = [p.stat().st_mtime_ns for p in tracked]
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0 and "(0 computed in this run)" in r.stdout, r.stderr
    assert [p.stat().st_mtime_ns for p in tracked] == mtimes   # not tracked again
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--cutoff", 3, "--no-progress")
    assert r.returncode == 0 and "(0 computed in this run)" in r.stdout, r.stderr
    kp, before = read(out, "keypoints"), read(full_run[0], "keypoints")
    pd.testing.assert_frame_equal(kp[["frame", "person", "x", "y"]],
                                  before[["frame", "person", "x", "y"]])
    assert not np.allclose(kp.x_smooth, before.x_smooth, equal_nan=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["params"]["track"]["cutoff"] == 3
    # the tables record it, and the gait smooths legs it trades as the tracker did
    from posebatch.gait import track_settings
    from posebatch.storage.tables import load

    assert load(out).params["track"]["cutoff"] == 3 and track_settings(out).cutoff == 3
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0 and "(0 computed in this run)" in r.stdout, r.stderr
    same_tables(full_run[0], out)           # back to the defaults: the same tracks again


def make_version_1(out: Path) -> None:
    """Turn a job folder into what posebatch wrote before tracks existed (schema 1): single
    files (OUT/keypoints.parquet, ...), no tracks table, no track columns."""
    drop = {"keypoints": ["track", "x_smooth", "y_smooth", "filled", "swapped", "refined"],
            "people": ["track"], "videos": ["tracks"], "frames": []}
    for name, cols in drop.items():
        t = pq.read_table(table_path(out, name))
        t = t.filter(pc.invert(t["filled"])) if name == "keypoints" else t
        t = t.drop_columns(cols)
        meta = dict(pq.read_schema(table_files(out, name)[0]).metadata)
        meta[b"posebatch.schema"] = f"{name}/1".encode()
        pq.write_table(t.replace_schema_metadata(meta), out / f"{name}.parquet")
    for name in DATASETS:
        shutil.rmtree(out / name)


def test_old_outputs_are_recognised_and_upgraded_without_inference(full_run, walk_dir,
                                                                   tmp_path):
    out = tmp_path / "old"
    shutil.copytree(full_run[0], out)
    make_version_1(out)
    with pytest.raises(ConfigError, match=r"holds keypoints/1 tables in the single-file layout "
                                          r".*reads keypoints/6 datasets: rerun the job"):
        tables.load(out)
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0 and "(0 computed in this run)" in r.stdout, r.stderr
    assert "tables of an older posebatch" in r.stderr and "keypoints/1" in r.stderr
    assert not any((out / f"{n}.parquet").exists() for n in DATASETS)
    same_tables(full_run[0], out)
    t = tables.load(out)
    assert set(t.tracks.video) == {f"{walk_dir.name}/a/clip.mp4", f"{walk_dir.name}/b/clip.mp4"}


def test_tracking_can_be_turned_off(full_run, walk_dir, tmp_path):
    """--no-track over a tracked job's folder (tracking is not part of the chunks' key: the
    detections are reused, the tables rewritten untracked)."""
    out = tmp_path / "off"
    shutil.copytree(full_run[0], out)
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-track", "--no-progress")
    assert r.returncode == 0 and "(0 computed in this run)" in r.stdout, r.stderr
    assert not read(out, "keypoints").filled.any()          # no gaps filled along tracks
    assert read(out, "tracks").empty and read(out, "keypoints").track.isna().all()
    assert read(out, "videos").tracks.tolist() == [0, 0]


def test_repeated_pictures_are_marked_across_chunk_boundaries(demo_frames, tmp_path):
    """A 15 fps recording stored at 30 fps (each picture twice, re-encoded with H.264):
    every second frame is a repeat, also where a chunk starts on one (chunks of 5); the
    smoothed keypoints move on through the repeats while the raw ones hold still (within a
    quarter pixel: the re-encoded copy differs by compression noise, which moves sub-pixel
    peaks by hundredths of a pixel; at upsample 4 without them they hold exactly)."""
    from .clips import write_clip

    pictures = demo_frames[0:24:2]
    clip = write_clip(tmp_path / "in" / "doubled.mp4", [p for p in pictures for _ in (0, 1)],
                      options={"crf": "18"})
    out = tmp_path / "out"
    r = posebatch("run", clip, "--out", out, "--chunk", 5, "--no-progress")
    assert r.returncode == 0, r.stderr
    frames = read(out, "frames")
    assert frames.repeat.isna().tolist() == [True] + [False] * 23
    assert frames.repeat[1:].tolist() == [i % 2 == 1 for i in range(1, 24)]
    assert (frames.change[frames.repeat == True] <= 3).all()  # noqa: E712
    assert (frames.change[frames.repeat == False] > 3).all()  # noqa: E712
    assert read(out, "videos").repeated_frames.tolist() == [12]
    kp = read(out, "keypoints")
    neck = kp[(kp.track == 0) & (kp.part == "neck")].set_index("frame")
    held = neck.x.diff()[1::2]                  # raw: a repeat holds the previous value
    moved = neck.x_smooth.diff()[1::2]
    assert (held.abs() < 0.25).mean() > 0.8 and (moved.abs() > 1e-3).mean() > 0.8


def test_gait_of_the_demo_walker(demo_runs):
    """`posebatch gait OUT`: the woman walking across the demo's lawn gets a cadence in the
    human range and contacts that alternate left/right; the man on the box (standing, then a
    backflip) is said not to walk."""
    out = demo_runs["demo"]
    r = posebatch("gait", out)
    assert r.returncode == 0, r.stderr
    summary = pd.read_parquet(out / "gait" / "summary.parquet")
    tracks = read(out, "tracks")
    woman = tracks.loc[(tracks.end - tracks.start).idxmax(), "track"]
    her = summary.set_index("track").loc[woman]
    assert 80 <= her.cadence_steps_per_min <= 140 and her.alternation == 1.0
    events = pd.read_parquet(out / "gait" / "events.parquet")
    contacts = events[(events.track == woman) & (events.event == "contact")].sort_values("time")
    sides = contacts.side.to_numpy()
    assert len(contacts) >= 4 and (sides[1:] != sides[:-1]).all()
    assert summary[summary.track != woman].reason.str.startswith("no gait").all()
    for name in ("angles", "strides"):
        assert not pd.read_parquet(out / "gait" / f"{name}.parquet").empty


def test_gait_notebook_runs_on_the_demo_job(demo_runs, notebooks_run):
    from .helpers import notebook_images as images

    outputs = notebooks_run("30_gait.ipynb", demo_runs["demo"])
    assert len(images(outputs)) == 1                      # angles with the events
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    text = "".join(o.get("text", "") for o in outputs)
    assert "double_support_pct" in html and "stance_pct" in html   # strides, per side
    assert "steps/min" in text and "symmetry index" in text
