"""The output folder without Ray: a video's dataset files, their stamp, pruning, and what
finishing a video does when its tracking fails."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from posebatch.engine.config import TrackConfig
from posebatch.decode import VideoIndex
from posebatch.runner.finish import VideoWork, finish_video
from posebatch.storage.store import DATASETS, Store, video_stamp
from posebatch.storage.schemas import frame_tables


def _index(frames: int, container_frames: int) -> VideoIndex:
    return VideoIndex(path="v.mp4", pts=np.arange(frames, dtype=np.int64) * 100,
                      time_base=1e-3, container_frames=container_frames, fps=10.0, width=64,
                      height=48, codec="h264", rotation=0,
                      keyframes=np.array([0], np.int64), seekable=True)


def _chunks(store: Store, layout, key: str = "vk") -> list[tuple[int, int]]:
    """Two chunks of 3 frames: one person walking right in frames 0-4, frame 5 not decoded."""
    rows = []
    for f in range(6):
        if f == 5:
            rows.append({"frame": f, "pts": f * 100, "time": f / 10, "status": "decode_error",
                         "error": "boom"})
            continue
        kp = np.zeros((1, 18, 3), np.float32)
        kp[..., :2] = np.nan
        kp[0, [0, 1, 8, 11], :] = [[10 + f, 5, .9], [10 + f, 10, .9], [9 + f, 25, .8],
                                   [11 + f, 25, .8]]
        rows.append({"frame": f, "pts": f * 100, "time": f / 10, "status": "ok",
                     "keypoints": kp, "scores": np.array([3.0], np.float32)})
    chunks = [(0, 3), (3, 6)]
    for s, e in chunks:
        store.write_chunk(key, s, e, frame_tables(rows[s:e], layout), 0.5, "seek")
    return chunks


def test_finished_video_files_carry_their_stamp_and_counts(tmp_path, layout):
    store = Store(tmp_path, "pk")
    chunks = _chunks(store, layout)
    stamp = video_stamp(3, "a/v.mp4", "vk", "pk", "tk")
    work = VideoWork(3, "a/v.mp4", "vk", chunks, _index(6, 8), stamp)
    stats = finish_video(tmp_path, "pk", work, layout, TrackConfig(min_seen=0.0), {"m": 1})
    assert stats == {"decoded": 5, "people": 5, "repeated": 0, "bad": 1,
                     "first_error": "boom", "corrupt": 0, "first_corrupt": None,
                     "seconds": 1.0, "decode": "seek", "track_error": None, "tracks": 1}
    for t in DATASETS:
        assert [p.name for p in (tmp_path / t).iterdir()] == ["00000003.parquet"]
    frames = pd.read_parquet(tmp_path / "frames")
    assert frames.frame.tolist() == list(range(8))          # 2 rows the container promised
    assert frames.status.astype(str).tolist()[5:] == ["decode_error", "missing", "missing"]
    assert set(frames.video_id) == {3} and set(frames.video.astype(str)) == {"a/v.mp4"}
    assert store.video_stats(3, stamp) == stats
    for other in ({**stamp, "track_key": "other"}, {**stamp, "video_id": 2},
                  {**stamp, "name": "b/v.mp4"}, {**stamp, "params_key": "x"}):
        assert store.video_stats(3, other) is None
    assert store.video_stats(4, stamp) is None

    (tmp_path / ".tmp").mkdir(exist_ok=True)
    (tmp_path / ".tmp" / ".00000009.parquet.x.part").write_bytes(b"half")
    store.prune({3})
    assert all((tmp_path / t / "00000003.parquet").exists() for t in DATASETS)
    assert not (tmp_path / ".tmp").exists()
    store.prune(set())
    assert not any(any((tmp_path / t).iterdir()) for t in DATASETS)


def test_a_video_whose_tracking_fails_keeps_its_detections_untracked(tmp_path, layout,
                                                                     monkeypatch):
    import posebatch.track.apply as tt

    def broken(*args, **kwargs):
        raise ValueError("bad trajectory")

    monkeypatch.setattr(tt, "track_video", broken)
    store = Store(tmp_path, "pk")
    chunks = _chunks(store, layout)
    work = VideoWork(0, "v.mp4", "vk", chunks, _index(6, 6), video_stamp(0, "v.mp4", "vk",
                                                                          "pk", "tk"))
    stats = finish_video(tmp_path, "pk", work, layout, TrackConfig(), {})
    assert stats["tracks"] is None
    assert stats["track_error"] == "tracking failed: ValueError: bad trajectory"
    kp = pd.read_parquet(tmp_path / "keypoints")
    assert len(kp) == 5 * 4 and kp.track.isna().all() and not kp.filled.any()
    assert pd.read_parquet(tmp_path / "tracks").empty


def test_video_row_reports_failed_frames_missing_ones_and_tracking(tmp_path):
    from pathlib import Path

    from posebatch.runner.outcome import VideoState, video_row

    st = VideoState(0, "v.mp4", Path("v.mp4"), size=10, fingerprint="f", index=_index(6, 8))
    stats = {"decoded": 5, "people": 5, "repeated": 0, "bad": 1, "first_error": "boom",
             "corrupt": 2, "first_corrupt": 3, "seconds": 1.0, "decode": "seek",
             "track_error": "tracking failed: X", "tracks": None}
    row = video_row(st, stats)
    assert (row["frames"], row["decoded_frames"], row["status"]) == (8, 5, "partial")
    assert row["corrupt_frames"] == 2
    assert row["error"] == ("1 of 6 frames failed (first: boom); 2 frames listed by the "
                            "container are missing (file cut?); 2 frames have damaged picture "
                            "data (the decoder concealed it; first: frame 3; estimated all the "
                            "same); tracking failed: X (its keypoints are in the tables, "
                            "untracked)")
    with pytest.raises(KeyError):
        video_row(st, {})   # no silent default for a count


def test_videos_moved_since_the_run_are_found_by_name_and_bytes(tmp_path):
    """``--video-dir``: a video that is no longer where the job read it is looked for under
    the folders given, at any depth, by its name, and taken only with the bytes the job read
    (a same-named file of the same size but other bytes, nearer, is passed over). A video
    still in place, one found nowhere and a live stream keep their paths."""
    from posebatch.storage.store import fingerprint
    from posebatch.storage.tables import find_videos

    new = tmp_path / "new"
    (new / "deep" / "er").mkdir(parents=True)
    moved = new / "deep" / "er" / "walk.mp4"
    moved.write_bytes(b"the walk" * 100)
    (new / "walk.mp4").write_bytes(b"not this" * 100)        # same size, other bytes
    here = tmp_path / "here.mp4"
    here.write_bytes(b"still here")
    videos = pd.DataFrame({
        "video": ["walk.mp4", "here.mp4", "lost.mp4", "camera"],
        "path": [str(tmp_path / "old" / "walk.mp4"), str(here), str(tmp_path / "lost.mp4"),
                 "rtsp://camera"],
        "size": [800, 10, 5, None],
        "fingerprint": [fingerprint(moved), fingerprint(here), "0" * 32, None],
        "decode": ["seek", "seek", "seek", "live"]})
    found = find_videos(videos, [tmp_path / "elsewhere", new])
    assert found.path.tolist() == [str(moved.absolute()), str(here), str(tmp_path / "lost.mp4"),
                                   "rtsp://camera"]
    assert videos.path.iloc[0] == str(tmp_path / "old" / "walk.mp4")     # a copy is changed
    assert find_videos(videos, []) is videos
