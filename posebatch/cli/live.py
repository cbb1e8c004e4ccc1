"""posebatch live: a camera or a stream into the same tables as a job, with a preview."""
from __future__ import annotations

import collections
import os
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..live.session import Preview
from .common import Given, command, console, err, guard, model_config


@command(no_args_is_help=True)
def live(
    source: Annotated[str, typer.Argument(help="A camera index (0: /dev/video0), a stream "
                      "address (rtsp://, http://, udp://, srt://, ...) or a video file.",
                      show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where the session writes its "
                   "tables (a new folder per session).", show_default=False)],
    duration: Annotated[Optional[float], typer.Option(
        help="Seconds to run. \\[default: until Ctrl-C, SIGTERM or the source ends]",
        show_default=False)] = None,
    preview: Annotated[Optional[Preview], typer.Option(
        help="window: an OpenCV window; web: a page on http://127.0.0.1:PORT/; none. "
        "\\[default: a window when there is a display, else web]", case_sensitive=False,
        show_default=False)] = None,
    port: Annotated[int, typer.Option(help="Port of the web preview on 127.0.0.1.")] = 8765,
    wait: Annotated[Optional[float], typer.Option(
        help="Seconds to wait for a stream that has not started yet (inf: until Ctrl-C). "
        "\\[default: udp, rtp and srt: until --duration or Ctrl-C; others: none]",
        show_default=False)] = None,
    realtime: Annotated[bool, typer.Option(
        "--realtime", help="Play a video file at its own speed (to rehearse without a "
        "camera).")] = False,
    chunk_seconds: Annotated[float, typer.Option(
        help="Seconds between writes of the tables (a crash loses at most these).")] = 5.0,
    *, opts: Given,
):
    """Estimate every person in a live source, newest frame first (skipped frames are rows
    too): tables in OUT rewritten every few seconds, readable while the session runs."""
    from ..engine.config import RuntimeConfig, TrackConfig
    from ..engine.layout import get_layout
    from ..live.preview import WebPreview, WindowPreview, annotate
    from ..live.session import LiveOptions, run_live

    from ..live.source import parse_source

    with guard():
        spec, config = model_config(opts)
        parse_source(source, realtime)      # a source that is not there: said before anything
        mode = preview or (Preview.WINDOW if os.environ.get("DISPLAY") else Preview.WEB)
        options = LiveOptions(duration=duration, chunk_seconds=chunk_seconds, realtime=realtime,
                              preview=mode, port=port, wait=wait)
        shown = None
        if mode is Preview.WEB:
            shown = WebPreview(port, source)
            console.print(f"preview: {shown.url}", highlight=False)
        elif mode is Preview.WINDOW:
            shown = WindowPreview(f"posebatch live: {source}")
        recent: collections.deque[float] = collections.deque(maxlen=30)

        layout = get_layout(spec.layout)

        def on_frame(f, res, stats) -> bool:
            recent.append(time.monotonic())
            if shown is None:
                return False
            fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
            lat = stats.latency_ms[-1] if stats.latency_ms else 0.0
            img = annotate(f.image, None if res is None else res.keypoints, layout,
                           [f"{fps:.1f} frames/s", f"latency {lat:.0f} ms",
                            f"skipped {stats.skipped} of {stats.received + 1}"])
            shown.show(img, stats.summary())
            return bool(getattr(shown, "quit", False))

        try:
            report = run_live(source, out, config,
                              TrackConfig(enabled=opts.value("track.enabled")), options,
                              RuntimeConfig(intra_threads=opts.value("threads")),
                              on_frame=on_frame,
                              on_wait=lambda url: err.print(
                                  f"waiting for {url} to start (Ctrl-C to stop)",
                                  highlight=False, soft_wrap=True))
        finally:
            if shown is not None:
                shown.close()
    s = report.stats.summary()
    console.print(f"{report.name}: {s['received']} frames received in {s['seconds']:.1f} s, "
                  f"{s['processed']} estimated ({s['processed_fps']} frames/s), "
                  f"{s['skipped']} skipped ({100 * s['skipped_share']:.1f}%); latency median "
                  f"{s['latency_ms']['median']} ms, 95th percentile {s['latency_ms']['p95']} "
                  f"ms; {report.chunks} chunks; ended: {report.ended}", highlight=False,
                  soft_wrap=True)
    for o in report.outages:
        err.print(f"[yellow]source dropped out at {o['start_s']} s"
                  + (f", back at {o['end_s']} s" if o["end_s"] is not None else ", not back")
                  + f": {o['error']}[/yellow]", highlight=False)
    console.print(f"tables: {out} (posebatch.storage.tables.load); settings: {report.settings}",
                  highlight=False, soft_wrap=True)
