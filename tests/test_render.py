"""Renders decoded back: frames and timestamps equal the source's across segment joins, a
drawn joint sits at its table coordinates in its track's colour, side-by-side is twice as
wide, a frame with nobody is left as it was (overlay) or black (skeleton)."""
from __future__ import annotations

import av
import numpy as np

from posebatch.decode import decode_sequential
from posebatch.render import track_color
from .helpers import posebatch, read



def decoded(path) -> tuple[list[np.ndarray], np.ndarray]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [(f.to_ndarray(format="bgr24"), float(f.pts * s.time_base))
                  for f in c.decode(s)]
    return [f for f, _ in frames], np.array([t for _, t in frames])


def render(out, *args) -> str:
    r = posebatch("render", out, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_segments_join_into_every_source_frame_at_its_time(full_run, walk_dir, tmp_path):
    out, _ = full_run
    video = f"{walk_dir.name}/b/clip.mp4"
    dest = tmp_path / "b.mp4"
    # segments of 5, 5, 5, 1 as Ray tasks (--actors: a render this small is otherwise drawn
    # in the command itself, as the other tests here are)
    render(out, "--video", video, "--chunk", 5, "--actors", 2, "--out", dest)
    frames, times = decoded(dest)
    source = read(out, "frames")
    source = source[source.video == video]
    assert len(frames) == len(source) == 16
    np.testing.assert_allclose(times, source.time.to_numpy(), atol=1e-4)
    assert dest.read_bytes()[:64].find(b"moov") > 0            # the index at the front
    with av.open(str(dest)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.codec_context.pix_fmt) == ("h264", "yuv420p")
    # the pictures are the source's, in order: each rendered frame is closest to its own
    src = [f.image for f in decode_sequential(walk_dir / "b" / "clip.mp4")]
    for i in (4, 5, 10, 11):                                    # around the joins
        diffs = [np.abs(frames[i].astype(int) - s.astype(int)).mean() for s in src]
        assert int(np.argmin(diffs)) == i


def test_a_drawn_joint_is_at_its_table_place_in_its_track_colour(full_run, walk_dir, tmp_path):
    out, _ = full_run
    video = f"{walk_dir.name}/a/clip.mp4"
    dest = tmp_path / "skel.mp4"
    render(out, "--video", video, "--style", "skeleton", "--no-captions", "--out", dest)
    frames, _ = decoded(dest)
    assert frames[0].shape == (496, 880, 3)
    kp = read(out, "keypoints")
    necks = kp[(kp.video == video) & (kp.part == "neck") & kp.track.notna() & ~kp.filled]
    checked = 0
    for _, row in necks.iloc[::3].iterrows():
        x, y = int(round(row.x_smooth)), int(round(row.y_smooth))
        pixel = frames[int(row.frame)][y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0)
        want = np.array(track_color(int(row.track)), float)
        cos = pixel @ want / (np.linalg.norm(pixel) * np.linalg.norm(want) + 1e-9)
        assert pixel.max() > 60 and cos > 0.9, (row.frame, pixel, want)
        checked += 1
    assert checked >= 5


def test_side_by_side_is_twice_as_wide(full_run, walk_dir, tmp_path):
    out, _ = full_run
    dest = tmp_path / "sbs.mp4"
    render(out, "--video", f"{walk_dir.name}/a/clip.mp4", "--style", "side-by-side",
           "--max-width", 2000, "--out", dest)
    frames, _ = decoded(dest)
    assert frames[0].shape == (496, 2 * 880, 3) and len(frames) == 16


def test_nobody_frames_stay_as_they_were_or_black(demo_frames, tmp_path):
    from .clips import write_clip

    grey = [np.full((496, 880, 3), 90, np.uint8)] * 4
    clip = write_clip(tmp_path / "in" / "mixed.mp4", demo_frames[:4] + grey,
                      options={"crf": "18"})
    out = tmp_path / "out"
    r = posebatch("run", clip, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert read(out, "frames").people.tolist()[4:] == [0, 0, 0, 0]
    render(out, "--style", "overlay", "--no-captions", "--out", tmp_path / "o.mp4")
    render(out, "--style", "skeleton", "--no-captions", "--out", tmp_path / "s.mp4")
    overlay, _ = decoded(tmp_path / "o.mp4")
    skeleton, _ = decoded(tmp_path / "s.mp4")
    source = [f.image for f in decode_sequential(clip)]
    for i in range(4, 8):
        # nothing drawn: the picture differs from the source only by the re-encoding (a
        # uniform shift of a few levels from the colour conversion), nowhere by a stroke
        diff = overlay[i].astype(int) - source[i].astype(int)
        assert np.abs(diff).mean() < 5 and np.abs(diff - np.median(diff, (0, 1))).max() < 12
        assert skeleton[i].max() < 20
    assert np.abs(overlay[0].astype(int) - source[0].astype(int)).max() > 100  # drawn on
