"""Gait on real walkers against frame-by-frame labels (benchmarks/gait_set, README "Gait
validation"): `posebatch run --gait` at the default settings over the demo walker, the same
walker as 15 pictures a second in a 24 fps file (repeated frames), and the barefoot walker
of ../shared (variable frame rate), then the benchmark's own scoring."""
from __future__ import annotations

import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from .helpers import REPO

sys.path.insert(0, str(REPO))
from benchmarks import gait_validation as gv  # noqa: E402


@pytest.fixture(scope="module")
def scores(gait_set_run):
    """The benchmark's own scoring (gv.validate's) of the gait set's job (conftest)."""
    clips, out = gait_set_run
    rows = [gv.score_clip(c, out) for c in clips]
    return {r["clip"]: r for r in rows + [gv.overall(rows)]}


def test_labelled_clips_are_read_with_their_labels(tmp_path):
    clip = gv.load_clip("demo_woman", tmp_path)
    assert clip.span == (38, 199) and len(clip.events) == 16
    assert set(clip.events.event) == {"contact", "toe_off"}
    contacts = clip.events[clip.events.event == "contact"].sort_values("frame")
    assert (contacts.side.to_numpy()[1:] != contacts.side.to_numpy()[:-1]).all()


def test_a_mirrored_clip_is_the_same_walk_going_the_other_way(tmp_path):
    """``gait_validation.py --mirror``: the barefoot walker's clip mirrored left to right,
    its labels at the same frames with their sides swapped and its direction reversed, its
    pictures the original's mirrored (within the re-encoding's error), far from the
    original's own."""
    from posebatch.decode import decode_sequential

    orig = gv.load_clip("biomech_normal", tmp_path)
    if orig.path is None:
        pytest.skip("../shared/data/videos/biomech_gait_normal_01.mp4 is not here")
    m = gv.load_clip("biomech_normal_mirror", tmp_path)
    assert (m.name, m.input, m.span) == ("biomech_normal_mirror", "biomech_normal_mirror",
                                         orig.span)
    assert (orig.meta["direction"], m.meta["direction"]) == ("right", "left")
    swap = {"left": "right", "right": "left"}
    pd.testing.assert_frame_equal(m.events, orig.events.assign(side=orig.events.side.map(swap)))
    a = next(iter(decode_sequential(orig.path))).image.astype(float)
    b = next(iter(decode_sequential(m.path))).image.astype(float)[:a.shape[0], :a.shape[1]]
    assert np.abs(b - a[:, ::-1]).mean() < 3 < 10 < np.abs(b - a).mean()


def test_every_label_file_is_complete_and_consistent(tmp_path):
    """Each labelled pass of the set (its video present or not): events inside its span, a
    side and a confidence each, contacts alternating feet and so do toe-offs, each foot's
    contacts and toe-offs alternating in time, and a sha256 wherever the video is read in
    place (never copied here)."""
    import tomllib

    names = [p.stem for p in gv.SET.glob("*.toml")]
    assert len(names) >= 15
    for name in names:
        meta = tomllib.loads((gv.SET / f"{name}.toml").read_text())
        clip = gv.load_clip(name, tmp_path)
        ev = clip.events
        lo, hi = clip.span
        assert ev.frame.between(lo, hi).all(), name
        assert set(ev.side) <= {"left", "right"} and ev.confidence.between(0.2, 1).all(), name
        assert not ev.duplicated(["event", "side", "frame"]).any(), name
        for kind in ("contact", "toe_off"):
            sides = ev[ev.event == kind].sort_values("frame").side.to_numpy()
            assert (sides[1:] != sides[:-1]).all(), (name, kind)
        for side in ("left", "right"):
            own = ev[ev.side == side].sort_values("frame").event.to_numpy()
            assert (own[1:] != own[:-1]).all(), (name, side)
        if meta["source"].startswith("github:"):
            assert len(meta["sha256"]) == 64, name


def test_clips_we_may_not_copy_are_read_in_place_and_checked(tmp_path, monkeypatch):
    """A ``github:`` source (no licence: never copied here) is found by its file name under
    the folders given (--videos), and only with the labelled sha256."""
    (tmp_path / "Dataset").mkdir()
    video = tmp_path / "Dataset" / "walk.mp4"
    video.write_bytes(b"not really a video")
    from posebatch.storage.atomic import sha256_file

    good = sha256_file(video)
    monkeypatch.setattr(gv, "VIDEOS", [tmp_path])
    assert gv._resolve("github:someone/gait:Dataset/walk.mp4", good) == video
    assert gv._resolve("github:someone/gait:Dataset/walk.mp4", "0" * 64) is None
    monkeypatch.setattr(gv, "VIDEOS", [])
    assert gv._resolve("github:someone/gait:Dataset/walk.mp4", good) is None


def test_contacts_and_toe_offs_are_found_where_the_labels_are(scores):
    every = scores["all"]
    assert every["contact_labels"] >= 20 and every["toe_off_labels"] >= 19
    assert every["contact_recall_2"] >= 0.95 and every["contact_precision_2"] >= 0.95
    assert every["toe_off_recall_2"] >= 0.85 and every["toe_off_precision_2"] >= 0.85
    assert every["contact_abs_error_frames"] <= 1.0
    assert abs(every["contact_error_ms"]) <= 35          # no systematic lateness left


def test_toe_offs_from_the_toe_tip_in_the_picture_beat_the_ankles(gait_set_run, scores,
                                                                 tmp_path):
    """The default (``--toe-offs picture``) times most toe-offs from the rear foot's toe tip in
    the video (``events.from_picture``). Against the labels it is closer than the ankle rule
    (`posebatch gait --toe-offs ankle` on a copy of the job): on these three clips within 1
    frame 0.45 -> 0.60, within 2 frames 0.80 -> 0.95, mean error +41 -> +21 ms, mean
    absolute error 1.43 -> 1.13 frames (2026-12-01). A video that is no longer where the
    job read it keeps the ankles' times, and the summary's flags say so."""
    import dataclasses

    from posebatch import gait
    from posebatch.storage import tables
    from .helpers import posebatch

    clips, out = gait_set_run
    events = pd.read_parquet(out / "gait" / "events.parquet")
    toes = events[events.event == "toe_off"]
    assert toes.from_picture.mean() >= 0.7
    assert not events[events.event == "contact"].from_picture.any()
    ankle = tmp_path / "ankle"
    shutil.copytree(out, ankle, ignore=shutil.ignore_patterns("gait"))
    r = posebatch("gait", ankle, "--toe-offs", "ankle")
    assert r.returncode == 0, r.stderr
    assert not pd.read_parquet(ankle / "gait" / "events.parquet").from_picture.any()
    rows = [gv.score_clip(c, ankle) for c in clips]
    by_ankle, by_picture = gv.overall(rows), scores["all"]
    assert by_picture["toe_off_recall_1"] > by_ankle["toe_off_recall_1"]
    assert by_picture["toe_off_abs_error_frames"] < by_ankle["toe_off_abs_error_frames"]
    assert abs(by_picture["toe_off_error_ms"]) < abs(by_ankle["toe_off_error_ms"])
    assert by_picture["toe_off_recall_2"] >= by_ankle["toe_off_recall_2"]
    # contacts do not depend on it
    assert by_picture["contact_recall_1"] == by_ankle["contact_recall_1"]

    job = tables.load(ankle)
    video = str(job.videos.video.iloc[0])
    gone = dataclasses.replace(job, videos=job.videos.assign(path=str(tmp_path / "moved.mp4")))
    moved = gait.analyse(gone, video=video)
    assert not moved.events.from_picture.any()
    walking = moved.summary[moved.summary.reason.isna()]
    assert len(walking) and walking["flags"].str.contains(
        "toe-offs from the ankles: the video is no longer at").all()
    kept = pd.read_parquet(ankle / "gait" / "events.parquet")
    kept = kept[kept.video.astype(str) == video]
    np.testing.assert_allclose(np.sort(moved.events.time), np.sort(kept.time))


def test_a_job_whose_video_was_moved_reads_it_from_video_dir(gait_set_run, tmp_path):
    """The job's folder taken elsewhere and its video moved: `posebatch gait` without
    ``--video-dir`` keeps the ankles' toe-off times and says where to look; with it, the
    video is found (two folders down, by its name and bytes) and the gait is the job's own,
    event for event. `posebatch render` refuses a video it cannot find, naming the option,
    and draws it from its new place; the report's frames come back the same way."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from posebatch.render.report import build_report
    from .helpers import posebatch

    clips, out = gait_set_run
    video = "inputs/demo_woman.mp4"
    job = tmp_path / "job"
    shutil.copytree(out, job, ignore=shutil.ignore_patterns("gait", "renders", "report.html"))
    table = pq.read_table(job / "videos.parquet")
    paths = table.column("path").to_pylist()
    i = table.column("video").to_pylist().index(video)
    (tmp_path / "new" / "clips" / "b").mkdir(parents=True)
    shutil.copy(paths[i], tmp_path / "new" / "clips" / "b" / "demo_woman.mp4")
    paths[i] = str(tmp_path / "old" / "demo_woman.mp4")
    pq.write_table(table.set_column(table.schema.get_field_index("path"),
                                    table.schema.field("path"), pa.array(paths)),
                   job / "videos.parquet")
    assert table.schema.metadata == pq.read_schema(job / "videos.parquet").metadata

    def gait_of(*extra):
        r = posebatch("gait", job, "--video", video, *extra)
        assert r.returncode == 0, r.stderr
        return (pd.read_parquet(job / "gait" / "events.parquet"),
                pd.read_parquet(job / "gait" / "summary.parquet"))

    ev, summary = gait_of()
    assert not ev.from_picture.any()
    flags = " ".join(summary["flags"].dropna())
    assert "the video is no longer at" in flags and "--video-dir DIR" in flags
    ev, summary = gait_of("--video-dir", tmp_path / "new")
    assert "no longer at" not in " ".join(summary["flags"].dropna())
    theirs = pd.read_parquet(out / "gait" / "events.parquet")
    theirs = theirs[theirs.video.astype(str) == video]
    cols = ["track", "event", "side", "frame", "from_picture"]
    pd.testing.assert_frame_equal(ev[cols].sort_values(cols).reset_index(drop=True),
                                  theirs[cols].sort_values(cols).reset_index(drop=True))
    assert ev.from_picture.any()

    r = posebatch("render", job, "--video", video, "--end", "1")
    assert r.returncode == 2 and "--video-dir" in r.stderr and "no longer at" in r.stderr
    r = posebatch("render", job, "--video", video, "--end", "1", "--video-dir", tmp_path / "new")
    assert r.returncode == 0, r.stderr
    assert len(list((job / "renders").glob("*.mp4"))) == 1
    without = build_report(job)
    assert "No frames: the video is no longer at" in without
    found = build_report(job, [tmp_path / "new"])
    assert "No frames" not in found and found.count("alt='frame'") > without.count("alt='frame'")


def test_cadence_holds_with_repeated_frames_and_variable_frame_rate(scores):
    """Cadence within 3 % of the labels' on every clip; the repeated-frame clip (2 of every
    5 frames repeat the picture before) neither halves nor doubles it."""
    for name in ("demo_woman", "demo_woman_repeats", "biomech_normal"):
        r = scores[name]
        assert abs(r["cadence_error_pct"]) <= 3.0, (name, r["cadence"], r["cadence_labels"])
        assert abs(r["step_time_error_ms"]) <= 20, name
    assert np.isclose(scores["demo_woman_repeats"]["cadence"],
                      scores["demo_woman"]["cadence"], rtol=0.03)


def test_the_gait_legs_put_the_foot_that_landed_last_ahead(scores):
    """Frame by frame, which foot is ahead against the labels (the one that landed last until
    the other passes it): as tracked, the network's side-on labels have the feet the wrong
    way round in about a quarter of the judged frames (27 % over these clips, 2026-12-01);
    the gait's legs follow the events' sides (``angles.legs_traded``) and have it wrong in
    a few per cent (5 %)."""
    rows = [scores[n] for n in ("demo_woman", "demo_woman_repeats", "biomech_normal")]
    n = sum(r["legs_frames"] for r in rows)
    assert n >= 150
    wrong = {k: sum(r[k] * r["legs_frames"] for r in rows) / n
             for k in ("legs_wrong_tracked_pct", "legs_wrong_gait_pct")}
    assert wrong["legs_wrong_gait_pct"] <= 8
    assert wrong["legs_wrong_gait_pct"] <= wrong["legs_wrong_tracked_pct"] / 3


def test_exports_with_the_gait_legs_put_the_foot_that_landed_last_ahead(gait_set_run, scores,
                                                                       pose2sim, tmp_path):
    """`posebatch export --format trc --legs gait` writes the legs as the gait names them:
    read back by Pose2Sim's TRC reader, its ankles put the foot that landed last ahead
    (against the labels, as in the test above) where the tracked legs often do not, and
    every other marker is the same as in the tracked export."""
    from posebatch.gait.legs import LEVEL, ahead
    from .helpers import posebatch

    _, read_trc = pose2sim
    clips, out = gait_set_run
    clip = next(c for c in clips if c.name == "demo_woman")
    video, track = f"inputs/{clip.input}{clip.path.suffix}", int(scores["demo_woman"]["track"])
    data = {}
    for legs in ("tracked", "gait"):
        r = posebatch("export", out, "--format", "trc", "--video", video, "--track", track,
                      "--legs", legs, "--out", tmp_path / legs)
        assert r.returncode == 0, r.stderr
        data[legs], frames, times, markers, _ = read_trc(next((tmp_path / legs).glob("*.trc")))
    col = {m: 3 * i for i, m in enumerate(markers)}
    legs_cols = [col[f"{s}{p}"] + k for s in "RL" for p in ("Hip", "Knee", "Ankle")
                 for k in range(3)]
    same = [c for c in range(data["gait"].shape[1]) if c not in legs_cols]
    np.testing.assert_allclose(data["gait"].iloc[:, same], data["tracked"].iloc[:, same])
    # a video the gait did not analyse is refused, not written with the tracked legs
    gait_of_one = tmp_path / "one"
    shutil.copytree(out, gait_of_one, ignore=shutil.ignore_patterns("gait"))
    r = posebatch("gait", gait_of_one, "--video", "inputs/biomech_normal.mp4")
    assert r.returncode == 0, r.stderr
    r = posebatch("export", gait_of_one, "--format", "csv", "--video", video, "--legs", "gait")
    assert r.returncode == 2 and "has no gait analysis of" in " ".join(r.stderr.split())
    in_span = (frames >= clip.span[0]) & (frames <= clip.span[1])
    labels = clip.events.assign(time=np.interp(clip.events.frame, frames, times), bout=0)
    truth = ahead(np.asarray(times)[in_span], labels)
    way = 1 if clip.meta["direction"] == "right" else -1
    summary = pd.read_parquet(out / "gait" / "summary.parquet")
    height = float(summary[(summary.video.astype(str) == video)
                           & (summary.track == track)].standing_height_px.iloc[0])
    gap = {k: way * (d.iloc[:, col["RAnkle"]] - d.iloc[:, col["LAnkle"]]).to_numpy()[in_span]
           for k, d in data.items()}
    judged = (truth != 0) & (np.abs(gap["tracked"]) >= LEVEL * height)
    wrong = {k: float(np.mean(np.sign(g[judged]) != truth[judged])) for k, g in gap.items()}
    assert judged.sum() >= 60
    assert wrong["tracked"] >= 0.2          # 39 % on this walker (2026-12-01)
    assert wrong["gait"] <= 0.08 and wrong["gait"] <= wrong["tracked"] / 3

