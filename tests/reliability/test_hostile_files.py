"""Hostile inputs: a bounded fuzz pass over decoding (files cut at many points, bytes
flipped, random headers, absurd declared sizes and frame counts), awkward names (spaces,
non-ASCII, a newline), symlink loops, and a folder of 10,000 small non-video files. The
job neither crashes nor hangs; every input is reported, each failure with its reason."""
from __future__ import annotations

import random
import struct
import time
from pathlib import Path

import pytest

from posebatch.decode import decode_sequential
from posebatch.errors import VideoError
from posebatch.runner.spec import discover

from ..clips import write_clip
from ..helpers import posebatch, read


def _box(data: bytearray, kind: bytes) -> int:
    """Offset of the first MP4 box of this type (its size field)."""
    return data.find(kind) - 4


def hostile_files(clean: Path, folder: Path) -> list[Path]:
    data = clean.read_bytes()
    rng = random.Random(11)
    made = []

    def put(name: str, content: bytes) -> None:
        p = folder / name
        p.write_bytes(content)
        made.append(p)

    for k, frac in enumerate((0.01, 0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 0.999)):
        put(f"cut{k}.mp4", data[: int(len(data) * frac)])
    for k in range(8):                                    # bytes flipped anywhere
        b = bytearray(data)
        for _ in range(rng.choice((1, 8, 64))):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        put(f"flip{k}.mp4", bytes(b))
    for k in range(3):                                    # random header
        put(f"header{k}.mp4", bytes(rng.randrange(256) for _ in range(256)) + data[256:])
    b = bytearray(data)                                   # absurd frame count (stsz, stts)
    stsz = _box(b, b"stsz")
    b[stsz + 16: stsz + 20] = struct.pack(">I", 0x7FFFFFFF)
    put("frames.mp4", bytes(b))
    b = bytearray(data)                                   # absurd picture size (tkhd)
    tkhd = _box(b, b"tkhd")
    size = struct.unpack(">I", b[tkhd:tkhd + 4])[0]
    b[tkhd + size - 8: tkhd + size] = struct.pack(">II", 0xFFFF0000, 0xFFFF0000)
    put("size.mp4", bytes(b))
    put("empty.mp4", b"")
    put("text.mp4", b"not a video\n" * 100)
    return made


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory, demo_frames):
    folder = tmp_path_factory.mktemp("hostile")
    clean = write_clip(folder / "clean clip é\nnewline.mp4", demo_frames[:16],
                       options={"crf": "23", "g": "4"})
    hostile_files(clean, folder)
    fast = write_clip(folder / "fast.mp4", demo_frames[:16], options={"crf": "23", "g": "4"},
                      container_options={"movflags": "faststart"})   # index first: cuts
    data = fast.read_bytes()                                          # keep what they hold
    for k, frac in enumerate((0.3, 0.5, 0.7, 0.9, 0.97)):
        (folder / f"fastcut{k}.mp4").write_bytes(data[: int(len(data) * frac)])
    (folder / "loop").mkdir()
    (folder / "loop" / "back").symlink_to(folder)           # a folder loop
    (folder / "self.mp4").symlink_to(folder / "self.mp4")   # a file loop
    return folder


def test_hostile_files_neither_crash_nor_hang_the_job_and_each_is_reported(hostile_dir,
                                                                          tmp_path):
    out = tmp_path / "out"
    r = posebatch("run", hostile_dir, "--out", out, "--chunk", 4, "--no-progress",  # 600 s cap
                  "--frame-timeout", 5)
    assert r.returncode == 1, r.stderr          # some inputs failed: said by the exit code
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    videos = read(out, "videos")
    names = {v.name for v in discover((str(hostile_dir),)).videos}
    assert len(videos) == len(names) == 32      # every input has its row
    assert (videos[videos.status != "ok"].error.str.len() > 0).all()
    by = videos.set_index(videos.video.str.split("/").str[-1])
    assert by.loc["clean clip é\nnewline.mp4", "status"] == "ok"
    assert by.loc["clean clip é\nnewline.mp4", "people_frames"] > 0
    assert by.loc["self.mp4", "status"] == "error" and "symbolic links" in \
        by.loc["self.mp4", "error"]
    for name in ("empty.mp4", "text.mp4", "cut0.mp4"):
        assert by.loc[name, "status"] == "error", name
    cut = by.loc[[f"fastcut{k}.mp4" for k in range(5)]]
    assert (cut.status == "partial").sum() >= 3, cut[["status", "error"]]
    assert (cut.decoded_frames < cut.frames).any()
    frames = read(out, "frames")
    damaged = 0
    for k in range(8):          # bit flips: what a straight decode flags, the job flags
        name = f"flip{k}.mp4"
        try:
            seen = [f.index for f in decode_sequential(hostile_dir / name) if f.corrupt]
        except VideoError:      # the flip broke the file, or its data from some frame on
            assert by.loc[name, "status"] != "ok", name
            damaged += 1
            continue
        flagged = frames[(frames.video_id == by.loc[name, "video_id"])
                         & (frames.status == "corrupt")].frame.tolist()
        assert flagged == seen, (name, flagged, seen)
        assert by.loc[name, "status"] == ("partial" if seen else "ok"), name
        damaged += bool(seen)
    assert damaged >= 5             # most flips (one, 8 or 64 bits) damage the file
    for _, v in videos[videos.status != "error"].iterrows():   # every frame accounted for
        f = frames[frames.video_id == v.video_id]
        assert f.frame.tolist() == list(range(v.frames)), v.video
    assert (frames[frames.status != "ok"].error.str.len() > 0).all()


def test_discovery_of_10000_non_video_files_is_fast(tmp_path):
    folder = tmp_path / "many"
    for d in range(100):
        sub = folder / f"d{d:02d}"
        sub.mkdir(parents=True)
        for k in range(100):
            (sub / f"note{k}.txt").write_bytes(b"x")
    (folder / "d50" / "clip.mp4").write_bytes(b"")
    t = time.perf_counter()
    found = discover((str(folder),))
    seconds = time.perf_counter() - t
    assert [v.name for v in found.videos] == ["many/d50/clip.mp4"]
    print(f"discovery of 10,001 files: {seconds:.3f} s")   # the figure is in the README
