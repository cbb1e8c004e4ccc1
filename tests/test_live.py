"""`posebatch live` as a user runs it, on a real stream on loopback: the test sends H.264 in
MPEG-TS over UDP to 127.0.0.1 and the command receives it for a few seconds. Every received
frame is a row (estimated or skipped), people are found, the tables are readable while the
session runs, the web preview serves the annotated frames, SIGTERM ends it cleanly."""
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import cv2
import numpy as np

from posebatch.storage import tables

from .streams import UdpSender, free_udp_port


def _start(port: int, out, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "posebatch", "live",
                             f"udp://127.0.0.1:{port}", "--out", str(out), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stream(demo_frames, port: int, seconds: float) -> UdpSender:
    frames = [cv2.resize(f, (640, 360)) for f in demo_frames]
    sender = UdpSender(port, frames, fps=30, loops=int(seconds * 30 / len(frames)) + 1,
                       delay=0.0)
    return sender


def test_live_udp_stream_into_tables_with_a_web_preview(demo_frames, tmp_path):
    port, web = free_udp_port(), free_udp_port()
    out = tmp_path / "live"
    proc = _start(port, out, "--duration", 8, "--preview", "web", "--port", web,
                  "--chunk-seconds", 2)
    sender = _stream(demo_frames, port, 25)
    try:
        # the preview page is up before the model is loaded; start sending once it is
        page = None
        for _ in range(120):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{web}/", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.5)
        assert page is not None and b"/stream.mjpg" in page
        sender.start()
        # tables readable while the session runs: the videos index appears with its chunks
        t0 = time.time()
        while not (out / "videos.parquet").exists() or tables.read(out, "frames").empty:
            assert proc.poll() is None, proc.communicate()
            assert time.time() - t0 < 60, "no tables while the session ran"
            time.sleep(0.5)
        running = json.loads((out / "manifest.json").read_text())
        midway = tables.load(out)
        jpeg = urllib.request.urlopen(f"http://127.0.0.1:{web}/frame.jpg", timeout=10).read()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        sender.stop()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert running["state"] == "running" and len(midway.frames) > 0
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (360, 640, 3)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["state"] == "complete" and manifest["ended"] == "duration reached"
    live = manifest["live"]
    t = tables.load(out)
    frames = t.frames
    # every frame received is a row, in order: estimated, or skipped because a newer one won
    assert frames.frame.tolist() == list(range(live["received"]))
    assert set(frames.status.astype(str)) <= {"ok", "skipped"}
    assert (frames.status == "ok").sum() == live["processed"] >= 10
    assert (frames.status == "skipped").sum() == live["skipped"]
    assert live["received"] >= 150                  # about 8 s of a 30 fps stream
    # people in most estimated frames (the first ones after joining a stream can be grey)
    assert (frames[frames.status == "ok"].people > 0).mean() > 0.6
    assert frames.time.is_monotonic_increasing and frames.time.notna().all()
    assert t.tracks.track.nunique() >= 1 and t.keypoints.track.notna().any()
    assert t.videos.status.tolist() == ["ok"] and t.videos.decode.tolist() == ["live"]
    assert live["latency_ms"]["median"] > 0
    assert f"{live['received']} frames received" in stdout
    st = subprocess.run([sys.executable, "-m", "posebatch", "status", str(out)],
                        capture_output=True, text=True, timeout=60)
    assert st.returncode == 2 and "holds a live session (complete" in st.stderr


def test_a_stream_that_starts_late_is_waited_for_and_sigterm_ends_cleanly(demo_frames,
                                                                          tmp_path):
    """A UDP receiver is started before its sender: the command says it is waiting, the
    stream starts 6 s (or more: once the model is loaded) after the command and runs 10 s,
    every frame it delivered is a row, and SIGTERM then ends the session cleanly."""
    port = free_udp_port()
    out = tmp_path / "live"
    started = time.time()
    proc = _start(port, out, "--preview", "none", "--chunk-seconds", 1)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")),
                              daemon=True)
    reader.start()
    sender = _stream(demo_frames, port, 10)
    sender.loops = int(10 * 30 / len(sender.frames))
    try:
        while not any("waiting for udp://127.0.0.1" in line for line in lines):
            assert proc.poll() is None, lines
            assert time.time() - started < 120, "the command never said it was waiting"
            time.sleep(0.2)
        time.sleep(max(0.0, started + 6 - time.time()))
        sender.start()
        sender.join(timeout=60)
        assert sender.error is None and sender.sent >= 285
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        stdout = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        sender.stop()
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert proc.returncode == 0, lines
    assert f"waiting for udp://127.0.0.1:{port} to start (Ctrl-C to stop)" in "".join(lines)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["state"] == "complete" and manifest["ended"] == "stopped by SIGTERM"
    frames = tables.read(out, "frames")
    received = manifest["live"]["received"]
    assert frames.frame.tolist() == list(range(received))
    assert received >= 0.95 * sender.sent, (received, sender.sent)   # the stream's frames
    assert (frames.status == "ok").sum() >= 20
    assert f"{received} frames received" in stdout
    leftovers = [p for p in out.rglob("*") if p.is_file() and (".tmp" in p.parts
                 or p.name.endswith((".tmp", ".part")))]
    assert leftovers == []                     # no half-written file anywhere in OUT


def test_a_source_that_never_opens_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "posebatch", "live", str(tmp_path / "no.mp4"),
                        "--out", str(tmp_path / "o"), "--preview", "none"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no such file, and not a camera index" in r.stderr
    assert "Traceback" not in r.stderr
