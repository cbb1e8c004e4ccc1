"""The tracking stage on its own (pure functions over arrays): identities, left/right swaps,
gap filling and smoothing on known synthetic data, and the tracked tables' invariants."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from posebatch.engine.config import TrackConfig
from posebatch.errors import ConfigError, InputShapeError
from posebatch.engine.layout import COCO18
from posebatch.track import fill_gaps, frame_durations, lowpass, track_video
from posebatch.track.apply import track_tables
from posebatch.storage.schemas import TRACK_SUMMARY, TRACKED_KEYPOINTS, TRACKED_PEOPLE, frame_tables

from .walkers import crossing, pose


def identities(track: np.ndarray, person: np.ndarray) -> list[set[int]]:
    return [set(np.unique(track[person == p]).tolist()) for p in np.unique(person)]


@pytest.mark.parametrize("seed", range(8))
def test_three_people_crossing_keep_their_ids_and_every_swap_is_undone(seed):
    """Known trajectories of three walkers, two of them crossing (the farther one undetected
    while hidden), 10% of detections dropped, jitter, 5% of parts missed, variable frame
    rate (25-41 ms), 12 injected left/right swaps of 1-3 frames (legs and arms)."""
    scene = crossing(seed)
    vt = track_video(scene.times, scene.frame, scene.keypoints, COCO18, TrackConfig())
    ids = identities(vt.track, scene.person)
    assert all(len(i) == 1 for i in ids), ids               # no identity switch, no break
    assert len(set.union(*ids)) == 3 and -1 not in set.union(*ids)
    assert scene.swapped.any(1).sum() >= 12
    np.testing.assert_array_equal(vt.swapped, scene.swapped)  # all corrected, none invented
    np.testing.assert_array_equal(vt.keypoints, scene.truth)


def test_no_swaps_no_corrections():
    scene = crossing(3, swaps=0)
    vt = track_video(scene.times, scene.frame, scene.keypoints, COCO18, TrackConfig())
    assert not vt.swapped.any()
    np.testing.assert_array_equal(vt.keypoints, scene.keypoints)


def walker(times: np.ndarray, x0: float = 100, v: float = 150, h: float = 300) -> np.ndarray:
    """(T, 18, 3) one walker's keypoints at ``times``."""
    out = []
    for t in times:
        xy = pose(2 * np.pi * 0.9 * t, 1) * h + (x0 + v * t, 400)
        out.append(np.concatenate([xy, np.full((18, 1), 0.8)], 1))
    return np.asarray(out, np.float32)


def test_a_person_who_comes_back_within_max_gap_keeps_the_id():
    times = np.arange(90) / 30                      # 3 s at 30 fps
    seen = np.r_[0:30, 50:90]                      # unseen for 0.7 s (behind something)
    kp = walker(times)[seen]
    vt = track_video(times, seen, kp, COCO18, TrackConfig(max_gap=1.0))
    assert set(vt.track) == {0}
    vt = track_video(times, seen, kp, COCO18, TrackConfig(max_gap=0.5))
    assert vt.track[:30].tolist() == [0] * 30 and vt.track[30:].tolist() == [1] * 40
    # the gap is longer than fill_gap: nothing is made up inside it
    assert not vt.filled.any()


def test_short_spurious_detections_get_no_track():
    times = np.arange(60) / 30
    person = walker(times)
    ghost = walker(times[:5], x0=900)               # five frames = 0.17 s somewhere else
    frame = np.r_[np.arange(60), np.arange(5)]
    order = np.argsort(frame, kind="stable")
    vt = track_video(times, frame[order], np.concatenate([person, ghost])[order], COCO18,
                     TrackConfig(min_seen=0.3))
    is_ghost = np.r_[np.zeros(60, bool), np.ones(5, bool)][order]
    assert set(vt.track[~is_ghost]) == {0}
    assert set(vt.track[is_ghost]) == {-1}
    assert vt.n_tracks == 1


def test_missing_frames_have_no_time_and_no_effect():
    times = np.arange(30) / 30
    times[10:12] = np.nan                           # frames the container lists but lacks
    keep = np.isfinite(times)
    frame = np.flatnonzero(keep)
    vt = track_video(times, frame, walker(np.arange(30) / 30)[keep], COCO18, TrackConfig())
    assert set(vt.track) == {0}
    assert not set(vt.sample_frame) & {10, 11}


def test_frames_never_looked_at_are_neither_seen_nor_unseen():
    """A live session that fell behind: a 30 fps stream of which the network estimated one
    frame in fifteen (the rest ``skipped``). The walker found in each estimated frame is seen
    for the whole 3 s, not for 6/30 s, so it is one reported track, through the job's own
    tables too; a ghost found in a single estimated frame is still not reported."""
    times = np.arange(90) / 30
    looked = np.arange(0, 90, 15)
    estimated = np.zeros(90, bool)
    estimated[looked] = True
    kp = walker(times)[looked]
    assert set(track_video(times, looked, kp, COCO18, TrackConfig()).track) == {-1}  # 0.2 s
    vt = track_video(times, looked, kp, COCO18, TrackConfig(), estimated=estimated)
    assert vt.track.tolist() == [0] * 6
    ghost = walker(times[30:31], x0=900)
    frame = np.r_[looked, 30]
    order = np.argsort(frame, kind="stable")
    both = np.concatenate([kp, ghost])[order]
    vt = track_video(times, frame[order], both, COCO18, TrackConfig(), estimated=estimated)
    assert sorted(vt.track.tolist()) == [-1] + [0] * 6
    recs = [{"frame": f, "pts": f, "time": float(t), "status": "ok" if estimated[f] else
             "skipped", "keypoints": kp[looked == f], "scores": np.full((looked == f).sum(), 0.9)}
            for f, t in enumerate(times)]
    chunk = frame_tables(recs, COCO18)
    out = track_tables(chunk["keypoints"], chunk["people"], chunk["frames"], COCO18,
                       TrackConfig())
    assert out["tracks"].to_pandas()[["track", "frames"]].values.tolist() == [[0, 6]]
    with pytest.raises(InputShapeError, match="estimated: expected shape"):
        track_video(times, looked, kp, COCO18, TrackConfig(), estimated=estimated[:10])


def test_fill_gaps_interpolates_only_gaps_up_to_the_limit_on_true_times():
    t = np.array([0.0, 0.05, 0.1, 0.25, 0.3, 0.9, 1.0])   # uneven steps
    v = np.array([0.0, np.nan, 2.0, np.nan, 6.0, np.nan, 10.0])[:, None]
    out, filled = fill_gaps(t, v, max_gap=0.2)
    assert filled.tolist() == [False, True, False, True, False, False, False]
    assert out[1, 0] == pytest.approx(1.0)
    assert out[3, 0] == pytest.approx(2 + 4 * 0.15 / 0.2)   # by time, not by index
    assert np.isnan(out[5, 0])                             # a 0.7 s gap stays a gap


@pytest.mark.parametrize("vfr", [False, True])
def test_lowpass_keeps_movement_removes_jitter_without_lag(vfr):
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(1 / 40, 1 / 25, 300)) if vfr else np.arange(300) / 30
    slow = 50 * np.sin(2 * np.pi * 1.0 * t)               # a 1 Hz gait-like movement
    fast = 5 * np.sin(2 * np.pi * 12.0 * t)               # 12 Hz jitter
    out = lowpass(t, (slow + fast)[:, None], cutoff=6.0)[:, 0]
    inner = slice(30, -30)                                # away from the ends
    rms = lambda v: float(np.sqrt(np.mean(v ** 2)))  # noqa: E731
    # Evenly sampled, the jitter goes entirely; with frames 25-40 ms apart, resampling the
    # 12 Hz jitter (near the ~15 Hz Nyquist frequency) onto an even grid aliases a little.
    assert rms(out[inner] - slow[inner]) < (0.15 if vfr else 0.001) * rms(fast[inner])
    # zero lag: the filtered movement peaks when the movement does
    lag = np.argmax(np.correlate(out[inner] - out[inner].mean(), slow[inner], "full"))
    assert lag == len(slow[inner]) - 1


def test_lowpass_keeps_the_movement_of_15_pictures_a_second_in_a_24_fps_file():
    """A 15 fps recording saved at 24 fps shows each picture for one or two frames; the
    tracker smooths the pictures at the times they are first shown, 1 or 2 frames apart, 2
    more often. Resampled at that median (83 ms, 12 a second) a 3 Hz movement, a foot's
    swing, kept 75 % of its range and was 0.23 of its amplitude off (rms); on a grid at the
    mean interval (67 ms) it keeps 95 % and 0.11 (the filter's own loss at 6 Hz)."""
    k = np.arange(24 * 6)
    shown = np.floor(k / 24 * 15)                       # the picture each frame shows
    t = k[np.r_[True, np.diff(shown) > 0]] / 24         # each picture's first frame
    x = np.sin(2 * np.pi * 3.0 * t)
    y = lowpass(t, x[:, None], cutoff=6.0)[:, 0]
    inner = slice(15, -15)
    assert np.ptp(y[inner]) / np.ptp(x[inner]) > 0.9
    assert np.sqrt(np.mean((y - x)[inner] ** 2)) < 0.15


def test_lowpass_leaves_short_runs_and_nans_alone():
    t = np.arange(20) / 30
    v = np.arange(20, dtype=float)[:, None]
    v[5] = np.nan                                         # runs of 5 and 14 samples
    out = lowpass(t, v, 6.0)
    np.testing.assert_array_equal(out[:6], v[:6])         # too short to filter
    assert np.isnan(out[5, 0])
    np.testing.assert_allclose(out[6:, 0], v[6:, 0], atol=0.05)  # a ramp passes through


def test_frame_durations_follow_timestamps():
    d = frame_durations(np.array([0.0, 0.04, np.nan, 0.1, 0.13]))
    np.testing.assert_allclose(d[[0, 1, 3]], [0.04, 0.06, 0.03])
    assert np.isnan(d[2]) and d[4] == pytest.approx(0.04)  # the median step


def test_bad_shapes_and_settings_are_refused_with_the_reason():
    with pytest.raises(InputShapeError, match=r"keypoints: expected shape \(n, 18, 3\)"):
        track_video(np.zeros(3), np.zeros(2, int), np.zeros((2, 17, 3)), COCO18, TrackConfig())
    with pytest.raises(InputShapeError, match="non-decreasing"):
        track_video(np.zeros(3), np.array([1, 0]), np.zeros((2, 18, 3)), COCO18, TrackConfig())
    with pytest.raises(ConfigError, match="track.max_gap must be"):
        TrackConfig(max_gap=-1)
    with pytest.raises(ConfigError, match="min_similarity must be in"):
        TrackConfig(min_similarity=0)


def chunk_records(scene) -> list[dict]:
    """The scene as the job's per-frame records (what an actor returns for a chunk)."""
    recs = []
    for f, t in enumerate(scene.times):
        sel = scene.frame == f
        recs.append({"frame": f, "pts": f, "time": float(t), "status": "ok",
                     "keypoints": scene.keypoints[sel], "scores": np.full(sel.sum(), 0.9)})
    return recs


def test_tracked_tables_keep_raw_values_and_say_what_was_changed():
    scene = crossing(1)
    chunk = frame_tables(chunk_records(scene), COCO18)
    out = track_tables(chunk["keypoints"], chunk["people"], chunk["frames"], COCO18,
                       TrackConfig())
    assert out["keypoints"].schema.equals(TRACKED_KEYPOINTS)
    assert out["people"].schema.equals(TRACKED_PEOPLE)
    assert out["tracks"].schema.equals(TRACK_SUMMARY)
    kp = out["keypoints"].to_pandas()
    det = kp[~kp.filled]
    raw = chunk["keypoints"].to_pandas()
    # every detected value is there once, unchanged; only swapped rows changed their label
    key = ["frame", "person", "x", "y", "score"]
    assert sorted(map(tuple, det[key].to_numpy())) == sorted(map(tuple, raw[key].to_numpy()))
    flip = dict(p for a, b in COCO18.flip_pairs for p in ((a, b), (b, a)))
    merged = det.merge(raw, on=key, suffixes=("", "_raw"))
    swapped = merged[merged.swapped]
    assert len(swapped) == scene.swapped.sum()
    assert (swapped.part_id_raw.map(flip) == swapped.part_id).all()
    assert (merged[~merged.swapped].part_id_raw == merged[~merged.swapped].part_id).all()
    # filled rows: no raw value, a smoothed one, a track
    filled = kp[kp.filled]
    assert len(filled) and filled[["x", "y", "score"]].isna().all().all()
    assert filled[["x_smooth", "y_smooth"]].notna().all().all() and filled.track.notna().all()
    tracks = out["tracks"].to_pandas()
    assert tracks.track.tolist() == [0, 1, 2]
    assert tracks.swaps.sum() == scene.swapped.any(1).sum()
    people = out["people"].to_pandas()
    assert (people.groupby("track").size() == tracks.set_index("track").frames).all()


def test_tracking_off_gives_the_same_tables_with_no_tracks():
    scene = crossing(2)
    chunk = frame_tables(chunk_records(scene), COCO18)
    out = track_tables(chunk["keypoints"], chunk["people"], chunk["frames"], COCO18,
                       TrackConfig(enabled=False))
    assert out["tracks"].num_rows == 0
    assert out["keypoints"]["track"].null_count == out["keypoints"].num_rows
    assert out["keypoints"].num_rows == chunk["keypoints"].num_rows
    assert out["keypoints"]["x_smooth"].null_count == out["keypoints"].num_rows


def test_no_detections_at_all():
    empty = frame_tables([{"frame": f, "pts": f, "time": f / 30, "status": "ok",
                           "keypoints": None, "scores": None} for f in range(5)], COCO18)
    out = track_tables(empty["keypoints"], empty["people"], empty["frames"], COCO18,
                       TrackConfig())
    assert [out[t].num_rows for t in ("keypoints", "people", "tracks")] == [0, 0, 0]
    assert isinstance(out["keypoints"], pa.Table)


def test_repeated_pictures_are_one_instant_not_a_pause():
    """A 15 fps recording stored at 30 fps: every other picture repeats the one before, so
    its detections do too. Told which frames repeat, the smoothed trajectory passes through
    them (close to the true, moving position) instead of holding still."""
    times = np.arange(120) / 30
    truth = walker(times)
    shown = truth.copy()
    shown[1::2] = truth[0::2]                       # frame 2k+1 repeats frame 2k
    repeat = np.zeros(120, bool)
    repeat[1::2] = True
    frame = np.arange(120)
    told = track_video(times, frame, shown, COCO18, TrackConfig(), repeat)
    blind = track_video(times, frame, shown, COCO18, TrackConfig())
    neck = 1
    err_told = np.abs(told.smooth[20:-20, neck, 0] - truth[20:-20, neck, 0]).mean()
    err_blind = np.abs(blind.smooth[20:-20, neck, 0] - truth[20:-20, neck, 0]).mean()
    assert err_told < 0.2 * err_blind, (err_told, err_blind)
    assert not told.filled.any()                    # detected there: nothing made up
