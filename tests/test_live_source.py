"""The live source (posebatch.live.source) on a real stream: H.264 in MPEG-TS sent over UDP
on 127.0.0.1 by the test, received by the capture thread, dropping out and coming back; bad
sources are clear errors. (The newest frame winning, with every frame a row, is tested
through `posebatch live` in tests/test_live.py.)"""
import time

import pytest

from posebatch.live.source import Capture, SourceError, parse_source

from .streams import UdpSender, free_udp_port


def test_sources_that_cannot_be_opened_say_why(tmp_path):
    with pytest.raises(SourceError, match="no such file, and not a camera index"):
        parse_source(str(tmp_path / "nothing.mp4"))
    assert parse_source("0").url == "/dev/video0" and parse_source("0").format == "v4l2"
    assert parse_source("rtsp://cam.local/stream1").name == "cam.local_stream1"
    with pytest.raises(SourceError, match="cannot open /dev/video9.*Check the camera index"):
        Capture(parse_source("9"), open_timeout=2).start()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(SourceError, match="cannot open"):
        Capture(parse_source(str(bad)), open_timeout=2).start()


def test_a_stream_that_drops_out_is_reopened_and_the_outage_recorded(demo_frames):
    """The sender stops for a few seconds, then a new one sends to the same port: the capture
    records the outage (start, end, why) and frames flow again, numbered on."""
    frames = [f[:360, :640].copy() for f in demo_frames]
    port = free_udp_port()
    first = UdpSender(port, frames, fps=30, delay=1.0)         # 0.8 s of stream
    first.start()
    cap = Capture(parse_source(f"udp://127.0.0.1:{port}"), open_timeout=2).start()
    second = UdpSender(port, frames, fps=30, loops=2, delay=4.5)
    second.start()
    seen = []
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            f, skipped = cap.take(timeout=0.5)
            seen += [s.index for s in skipped] + ([f.index] if f is not None else [])
    finally:
        cap.stop()
        first.stop()
        second.stop()
    f, skipped = cap.take(timeout=0)
    seen += [s.index for s in skipped] + ([f.index] if f is not None else [])
    assert second.error is None and second.sent == 48
    outages = cap.stats.outages
    assert len(outages) >= 1 and outages[0].end is not None and outages[0].error
    assert cap.stats.opened >= 2
    assert seen == list(range(cap.stats.received)) and cap.stats.received > 24 + 20
