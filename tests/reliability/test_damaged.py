"""Damaged data is never silent: bytes changed inside a video's picture data decode without
any error (FFmpeg conceals the damage), so the frames the decoder reported damaged are
marked ``corrupt`` in the frames table, counted in the videos table and the summary, and
estimated all the same."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from posebatch.decode import RangeDecoder, decode_sequential, index_video

from ..clips import write_clip
from ..helpers import posebatch, read


def damage(src: Path, dst: Path, seed: int, n: int = 20) -> Path:
    """``n`` random bytes of the MP4's media data replaced (the index and headers kept)."""
    data = bytearray(src.read_bytes())
    start, end = data.find(b"mdat") + 8, data.find(b"moov")
    rng = random.Random(seed)
    for _ in range(n):
        data[rng.randrange(start, end)] = rng.randrange(256)
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def damaged_dir(tmp_path_factory, demo_frames):
    d = tmp_path_factory.mktemp("damaged")
    clean = write_clip(d / "clean.mp4", demo_frames[:24], options={"crf": "18", "g": "12"})
    assert clean.read_bytes().find(b"mdat") < clean.read_bytes().find(b"moov")
    for seed in range(3):
        damage(clean, d / f"damaged{seed}.mp4", seed)
    return d


def test_the_decoder_reports_damaged_frames_the_same_whichever_way_it_decodes(damaged_dir):
    assert not any(f.corrupt for f in decode_sequential(damaged_dir / "clean.mp4"))
    for seed in range(3):
        path = damaged_dir / f"damaged{seed}.mp4"
        frames = list(decode_sequential(path))
        assert len(frames) == 24               # nothing fails: the damage is concealed
        flagged = [f.index for f in frames if f.corrupt]
        assert 1 <= len(flagged) < 24, (seed, flagged)
        idx = index_video(path)
        dec = RangeDecoder()
        chunked = [f.index for s in (0, 5, 12, 20) for f in
                   dec.range(idx, s, {0: 5, 5: 12, 12: 20, 20: 24}[s]) if f.corrupt]
        assert chunked == flagged


def test_a_job_marks_damaged_frames_counts_them_and_still_estimates_them(damaged_dir,
                                                                         tmp_path):
    out = tmp_path / "out"
    r = posebatch("run", damaged_dir / "clean.mp4", damaged_dir / "damaged0.mp4", "--out", out,
                  "--chunk", 8, "--no-progress", "--summary-json", tmp_path / "s.json")
    assert r.returncode == 1, r.stderr           # an input is not ok: said on exit
    flagged = [f.index for f in decode_sequential(damaged_dir / "damaged0.mp4") if f.corrupt]
    videos = read(out, "videos").set_index("video")
    assert videos.loc["clean.mp4", "corrupt_frames"] == 0
    assert videos.loc["clean.mp4", "status"] == "ok"
    bad = videos.loc["damaged0.mp4"]
    assert bad.corrupt_frames == len(flagged) and bad.status == "partial"
    assert f"{len(flagged)} frames have damaged picture data" in bad.error
    assert bad.decoded_frames == bad.frames == 24
    frames = read(out, "frames")
    f = frames[frames.video == "damaged0.mp4"]
    assert f[f.status == "corrupt"].frame.tolist() == flagged
    assert set(f.status.astype(str)) <= {"ok", "corrupt"}
    assert f[f.status == "corrupt"].error.str.contains("estimated all the same").all()
    # estimated all the same: the network found people in damaged frames too
    assert (f[f.status == "corrupt"].people > 0).any()
    assert "damaged picture data" in r.stdout
