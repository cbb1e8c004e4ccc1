"""`posebatch report OUT`: one self-contained HTML page about a finished job.

Everything is inside the file (pictures as data: URIs, styles inline, no scripts, nothing
fetched), so it opens offline and can be mailed: per video a contact sheet of frames with the
people drawn, people per frame and mean keypoint score over time, the tracks as a timeline,
the gait summary where computed, status and errors, links to the renders beside it; and the
job's totals, parameters, model, versions and timings.
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..engine.layout import KeypointLayout, job_layout
from ..engine.poses import Poses
from ..storage.atomic import atomic_path

_THUMBS = 6
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{font-size:22px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;font-size:13px} .sheet img{width:32%;margin:0 1% 6px 0}
.ok{color:#1a7f37}.error,.partial{color:#c0392b} .plot{max-width:100%} pre{background:#f6f6f6;
padding:8px;overflow:auto;font-size:12px} .video{margin-bottom:28px}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _jpeg(image: np.ndarray) -> str:
    import cv2

    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode()


def _table(df: pd.DataFrame, cls: str = "") -> str:
    df = df.astype(object).where(df.notna(), "")          # None and NaN as empty cells
    return df.to_html(index=False, border=0, classes=cls, float_format=lambda v: f"{v:.4g}")


def _contact_sheet(video: pd.Series, kp: pd.DataFrame, layout: KeypointLayout
                   ) -> list[str]:
    """``_THUMBS`` evenly spaced frames with the people drawn (tracks in their colours)."""
    import cv2

    from ..decode import decode_range, index_video, upright
    from .draw import draw_tracked

    n = int(video.frames or 0)
    if n == 0 or not Path(video.path).exists():
        return []
    index = index_video(Path(video.path))
    picks = sorted({int(i * index.frames / _THUMBS) for i in range(_THUMBS)})
    out = []
    for pick in picks:                   # each frame by seeking: a long video is not decoded
        for f in decode_range(index, pick, pick + 1):
            image = upright(f.image, index.turn)
            rows = kp[kp.frame == f.index]
            if len(rows):
                poses = Poses.from_rows(rows, layout, by="track", smoothed=True)
                image = draw_tracked(image, poses.keypoints, poses.ids, layout)
            scale = 360 / image.shape[1]
            out.append(_jpeg(cv2.resize(image, (360, max(2, int(image.shape[0] * scale))),
                                        interpolation=cv2.INTER_AREA)))
    return out


def _plots(frames: pd.DataFrame, kp: pd.DataFrame, tracks: pd.DataFrame) -> str:
    """People per frame, mean keypoint score per frame, and the tracks as a timeline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(10, 6.5), sharex=True,
                             gridspec_kw={"height_ratios": [2, 2, 3]})
    ok = frames[frames.time.notna()]
    axes[0].step(ok.time, ok.people, where="post", color="tab:blue")
    axes[0].set_ylabel("people")
    det = kp[~kp.filled]
    score = det.groupby("frame").score.mean()
    times = frames.set_index("frame").time
    axes[1].plot(times.reindex(score.index), score.values, ".", ms=3, color="tab:green")
    axes[1].set_ylabel("mean keypoint\nscore")
    from .draw import track_color

    for _, t in tracks.iterrows():
        b, g, r = track_color(int(t.track))
        axes[2].plot([t.start, t.end], [t.track, t.track], lw=6, solid_capstyle="butt",
                     color=(r / 255, g / 255, b / 255))
    axes[2].set_ylabel("track")
    axes[2].set_xlabel("time (s)")
    if len(tracks):
        axes[2].set_ylim(tracks.track.max() + 0.7, -0.7)
    for ax in axes:
        ax.grid(alpha=0.3)
    return _png(fig)


def build_report(out: Path, video_dirs: Sequence[Path] = ()) -> str:
    """The HTML page for job folder ``out`` (``video_dirs``: where videos moved since the run
    are now, for their frames, ``posebatch.storage.tables.find_videos``)."""
    from ..storage.store import read_manifest
    from ..storage.tables import load

    out = Path(out)
    manifest = read_manifest(out)
    job = load(out, video_dirs)
    gait_path = out / "gait" / "summary.parquet"
    gait = pd.read_parquet(gait_path) if gait_path.exists() else None
    renders = sorted((out / "renders").glob("*.mp4")) if (out / "renders").exists() else []
    videos = job.videos
    total_frames = int(videos.frames.sum())
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
             "img-src data:; style-src 'unsafe-inline'\">"
             f"<title>posebatch report: {html.escape(out.name)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1 id='title'>posebatch report: {html.escape(str(out))}</h1>",
             "<section id='totals'><table>"
             f"<tr><th>state</th><td>{html.escape(manifest.get('state', '?'))}</td></tr>"
             f"<tr><th>videos</th><td>{len(videos)} ({int((videos.status == 'ok').sum())} ok)"
             f"</td></tr><tr><th>frames</th><td>{total_frames}</td></tr>"
             f"<tr><th>people followed</th><td>{len(job.tracks)}</td></tr>"
             f"<tr><th>started / finished</th><td>{manifest.get('started', '')} / "
             f"{manifest.get('finished', '')}</td></tr>"
             f"<tr><th>wall time</th><td>{manifest.get('seconds', 0):.1f} s</td></tr>"
             f"<tr><th>model</th><td>{html.escape(manifest['model']['name'])} (sha256 "
             f"{manifest['model']['sha256'][:16]}...)</td></tr></table></section>",
             "<h2>Videos</h2>",
             _table(videos[["video", "status", "frames", "decoded_frames", "people_frames",
                            "tracks", "repeated_frames", "fps", "width", "height", "codec",
                            "seconds", "error"]], "videos")]
    for _, v in videos.iterrows():
        vid = int(v.video_id)
        parts.append(f"<section class='video' id='video-{vid}'><h2>"
                     f"{html.escape(str(v.video))} <span class='{v.status}'>{v.status}</span>"
                     "</h2>")
        if isinstance(v.error, str) and v.error:
            parts.append(f"<p class='error'>{html.escape(str(v.error))}</p>")
        frames = job.frames[job.frames.video_id == vid]
        kp = job.keypoints[job.keypoints.video_id == vid]
        tracks = job.tracks[job.tracks.video_id == vid]
        if len(frames):
            thumbs = _contact_sheet(v, kp, job_layout(manifest))
            if thumbs:
                parts.append("<div class='sheet'>" + "".join(
                    f"<img alt='frame' src='{t}'>" for t in thumbs) + "</div>")
            elif v.get("decode") != "live" and not Path(v.path).exists():
                parts.append(f"<p class='note'>No frames: the video is no longer at "
                             f"{html.escape(str(v.path))} (where it is now: posebatch report "
                             "--video-dir DIR).</p>")
            parts.append(f"<img class='plot' alt='people, score and tracks over time' "
                         f"src='{_plots(frames, kp, tracks)}'>")
        if len(tracks):
            parts.append("<h3>Tracks</h3>" + _table(tracks.drop(columns=["video_id",
                                                                         "video"])))
        if gait is not None:
            g = gait[gait.video == v.video]
            if len(g):
                cols = [c for c in ("track", "strides", "cadence_steps_per_min",
                                    "stride_time_s", "stance_pct", "symmetry_index",
                                    "speed_px_s", "speed_m_s", "reason", "flags") if c in g
                        and (c != "speed_m_s" or g[c].notna().any())]   # with --height-m
                parts.append("<h3>Gait</h3>" + _table(g[cols], "gait"))
        own = [r for r in renders if r.name.startswith(_safe_prefix(str(v.video)))]
        if own:
            parts.append("<p>Renders: " + ", ".join(
                f"<a href='{html.escape(str(r.relative_to(out)))}'>{html.escape(r.name)}</a>"
                for r in own) + "</p>")
        parts.append("</section>")
    if manifest.get("problems"):
        parts.append("<h2>Inputs that are no video</h2>" +
                     _table(pd.DataFrame(manifest["problems"])))
    parts.append("<h2>Parameters</h2><pre id='params'>" +
                 html.escape(json.dumps(manifest["params"], indent=2)) + "</pre>")
    parts.append("<h2>Versions</h2>" + _table(pd.DataFrame(
        sorted(manifest["versions"].items()), columns=["package", "version"])))
    parts.append("</body></html>")
    return "\n".join(parts)


def _safe_prefix(name: str) -> str:
    from .video import safe_name

    return safe_name(name) + "."


def write_report(out: Path, video_dirs: Sequence[Path] = ()) -> Path:
    """Write OUT/report.html (atomically) and return its path."""
    path = Path(out) / "report.html"
    page = build_report(out, video_dirs)    # refuses a folder without a job before writing
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
