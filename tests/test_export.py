"""posebatch export on a real job's tables, each format read back by the tool that consumes it:
Pose2Sim's own OpenPose JSON and TRC readers (its wheel from PyPI), pycocotools for the COCO
results, pandas for the CSV."""
import json

import numpy as np
import pandas as pd
import pytest

from .helpers import frame_keypoints
from posebatch.storage.tables import read
from .helpers import posebatch


def test_openpose_json_per_frame_as_pose2sim_reads_it(full_run, tmp_path, pose2sim):
    read_json, _ = pose2sim
    out, _ = full_run
    r = posebatch("export", out, "--format", "openpose", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    frames, kp = read(out, "frames"), read(out, "keypoints")
    assert f"{len(frames)} files for 2 videos" in r.stdout
    for v in frames.video.astype(str).unique():
        stem = v.replace("/", "_")
        files = sorted((tmp_path / stem).glob("*_keypoints.json"))
        vf = frames[frames.video == v]
        assert len(files) == len(vf)                      # every frame, people or not
        vkp = kp[(kp.video == v)]
        for f, row in zip(files, vf.itertuples()):
            assert f.name == f"{stem}_{row.frame:012d}_keypoints.json"
            people = read_json(f)                          # Pose2Sim's reader
            assert len(people) == row.people
            want = frame_keypoints(vkp, row.frame)         # x, y, score; NaN, NaN, 0 missing
            got = np.array(people, np.float64).reshape(-1, 18, 3)
            np.testing.assert_allclose(got, np.nan_to_num(want), atol=1e-3)
            doc = json.loads(f.read_text())
            tracks = vkp[(vkp.frame == row.frame) & ~vkp.filled].groupby("person").track.first()
            assert [p["person_id"][0] for p in doc["people"]] == [
                -1 if pd.isna(t) else int(t) for t in tracks]
            assert doc["posebatch"]["status"] == row.status


def test_coco_results_load_in_pycocotools(full_run, tmp_path):
    from pycocotools.coco import COCO

    out, _ = full_run
    r = posebatch("export", out, "--format", "coco", "--out", tmp_path, "--video", "b/clip.mp4")
    assert r.returncode == 2 and "no video named 'b/clip.mp4'" in r.stderr  # names are full
    name = read(out, "videos").video.astype(str).iloc[1]
    r = posebatch("export", out, "--format", "coco", "--out", tmp_path, "--video", name)
    assert r.returncode == 0, r.stderr
    stem = name.replace("/", "_")
    gt = COCO(str(tmp_path / f"{stem}.images.json"))
    dt = gt.loadRes(str(tmp_path / f"{stem}.results.json"))
    people = read(out, "people")
    people = people[people.video == name]
    assert len(dt.getAnnIds()) == len(people) and len(gt.getImgIds()) == 16
    ann = dt.loadAnns(dt.getAnnIds(imgIds=[int(people.frame.iloc[0])]))[0]
    assert len(ann["keypoints"]) == 51 and ann["score"] > 0
    assert gt.loadCats(1)[0]["keypoints"][:3] == ["nose", "left_eye", "right_eye"]


def test_csv_is_one_wide_table_per_video(full_run, tmp_path):
    out, _ = full_run
    r = posebatch("export", out, "--format", "csv", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    kp = read(out, "keypoints")
    for v in kp.video.astype(str).unique():
        t = pd.read_csv(tmp_path / f"{v.replace('/', '_')}.csv")
        assert list(t.columns[:5]) == ["frame", "time", "track", "nose_x", "nose_y"]
        assert len(t.columns) == 3 + 3 * 18
        tracked = kp[(kp.video == v) & kp.track.notna()]
        assert len(t) == len(tracked.groupby(["frame", "track"]))
        one = tracked[(tracked.part == "neck")].iloc[0]
        row = t[(t.frame == one.frame) & (t.track == one.track)].iloc[0]
        assert abs(row.neck_x - one.x_smooth) < 1e-3 and abs(row.neck_y - one.y_smooth) < 1e-3


def test_trc_per_track_reads_in_pose2sim_in_pixels_and_metres(full_run, tmp_path, pose2sim):
    _, read_trc = pose2sim
    out, _ = full_run
    kp = read(out, "keypoints")
    video = kp.video.astype(str).iloc[0]
    track = int(kp[kp.video == video].track.dropna().iloc[0])
    r = posebatch("export", out, "--format", "trc", "--out", tmp_path / "px",
                  "--video", video, "--track", track)
    assert r.returncode == 0, r.stderr
    files = list((tmp_path / "px").glob("*.trc"))
    assert [f.name for f in files] == [f"{video.replace('/', '_')}.track{track}.trc"]
    data, frames, times, markers, header = read_trc(files[0])     # Pose2Sim's reader
    assert markers[:3] == ["Nose", "Neck", "RShoulder"] and len(markers) == 18
    assert header[2].split("\t")[4] == "px"
    rows = kp[(kp.video == video) & (kp.track == track) & (kp.part == "neck")]
    assert frames.tolist() == list(range(int(rows.frame.min()), int(rows.frame.max()) + 1))
    np.testing.assert_allclose(times, rows.sort_values("frame").time, atol=1e-4)
    neck = data.iloc[:, 3:6].to_numpy()                          # X, Y, Z of the neck
    np.testing.assert_allclose(neck[:, 0], rows.sort_values("frame").x_smooth, atol=1e-3)
    np.testing.assert_allclose(neck[:, 1], 496 - rows.sort_values("frame").y_smooth, atol=1e-3)
    assert (neck[:, 2] == 0).all()
    r = posebatch("export", out, "--format", "trc", "--out", tmp_path / "m",
                  "--video", video, "--track", track, "--height-m", 1.7)
    assert r.returncode == 0, r.stderr
    data_m, *_, header_m = read_trc(next((tmp_path / "m").glob("*.trc")))
    assert header_m[2].split("\t")[4] == "m"
    ratio = data_m.iloc[:, 3:5].to_numpy() / neck[:, :2]
    assert np.allclose(ratio, ratio[0, 0]) and 0.001 < ratio[0, 0] < 0.05   # one scale


def test_export_errors_are_clear(full_run, tmp_path):
    out, _ = full_run
    r = posebatch("export", out, "--format", "trc", "--track", 999)
    assert r.returncode == 2 and "no track 999" in r.stderr
    r = posebatch("export", out, "--format", "csv", "--height-m", 1.7)
    assert r.returncode == 2 and "applies to the trc format only" in r.stderr
    r = posebatch("export", tmp_path, "--format", "csv")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = posebatch("export", out, "--format", "trc", "--legs", "gait")   # no gait run here
    assert r.returncode == 2 and f"run `posebatch gait {out}` first" in " ".join(
        r.stderr.split())
    r = posebatch("export", out, "--format", "coco", "--legs", "gait")
    assert r.returncode == 2 and "csv and trc" in r.stderr
