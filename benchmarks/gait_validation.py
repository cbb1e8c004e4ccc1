"""Gait events, cadence, step and stance time against frame-by-frame labels of real walkers.

    .venv/bin/python benchmarks/gait_validation.py [--out DIR] [--quality Q] [--clips a,b]
                                                   [--mirror]

Runs ``posebatch run --gait`` over every clip of ``benchmarks/gait_set/`` (the labelled
originals, plus the derived clips that each stand for a kind of footage: ``*_repeats``, 15
pictures a second in a 24 fps file as phones and editors make them, and ``*_vfr``, a
variable-frame-rate file with frames dropped), then compares the
walker's events with the labels and prints, per clip and overall: contacts and toe-offs found
within 1, 2 and 3 frames of a label (recall, precision), the mean signed error in ms (the
ankle's lateness), the mean absolute error in frames, cadence, step time, stride time and
stance % against the labels' own (from every label, the hidden ones too: a step behind
something is still a step; cadence over whole strides, each contact to the one two later,
as steps may alternate long and short). Events are scored at labels of confidence >= 0.4
only. The labels, how they were made and the clips' sources and
licences are in ``benchmarks/gait_set/README.md``.

``--mirror`` scores each clip mirrored left to right instead (``NAME_mirror``: the labels'
sides swapped, the direction reversed): the same walks as the network sees them going the
other way, a check that the gait does not depend on the direction.

Clips whose video this project may not copy (``source = "github:OWNER/REPO:PATH"``, no
licence stated) are read in place from ``--videos DIR`` (or ``$POSEBATCH_GAIT_VIDEOS``), where
a clone of that repository's files may be, checked by sha256; without it they are skipped.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SET = Path(__file__).resolve().parent / "gait_set"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
MIN_CONFIDENCE = 0.4           # labels below this (the foot hidden) are not scored
FROM = ("biomech_normal", "demo_woman")   # also scored as derived clips (DERIVED)
VIDEOS: list[Path] = [Path(p) for p in
                      os.environ.get("POSEBATCH_GAIT_VIDEOS", "").split(os.pathsep) if p]


@dataclass
class Clip:
    """A labelled clip: where its video is (``path``) and its events (frame numbers)."""

    name: str
    path: Path | None
    events: pd.DataFrame            # event, side, frame, confidence
    span: tuple[int, int]
    meta: dict = field(default_factory=dict)

    @property
    def input(self) -> str:
        """The job's input name for the clip's video (passes of one video share it)."""
        return self.meta.get("input", self.name)


def _resolve(source: str, sha256: str | None = None) -> Path | None:
    if source.startswith("asset:"):
        from posebatch.models.fetch import ensure_asset
        from posebatch.models.manifest import get_asset
        return ensure_asset(get_asset(source.split(":", 1)[1]))
    if source.startswith("shared:"):
        p = SHARED / source.split(":", 1)[1]
        return p if p.exists() else None
    if source.startswith("github:"):
        from posebatch.storage.atomic import sha256_file

        name = Path(source.rsplit(":", 1)[1]).name
        for d in VIDEOS:
            for p in d.rglob(name):
                if p.is_file() and (sha256 is None or sha256_file(p) == sha256):
                    return p
        return None
    raise ValueError(f"unknown source {source!r}")


def load_clip(name: str, work: Path) -> Clip:
    """The clip ``name`` of the set: an original (``NAME.toml``) or a derived clip
    (``NAME_repeats``, ``NAME_vfr``: made from the original on the spot, labels carried
    over)."""
    base, _, kind = name.rpartition("_")
    if kind == "mirror":
        orig = load_clip(base, work)
        return mirrored(orig, work) if orig.path is not None else Clip(
            name, None, orig.events, orig.span, orig.meta)
    if kind in DERIVED and base in FROM:
        orig = load_clip(base, work)
        if orig.path is None:
            return Clip(name, None, orig.events, orig.span, orig.meta)
        return DERIVED[kind](orig, work / f"{name}.mp4")
    meta = tomllib.loads((SET / f"{name}.toml").read_text())
    ev = pd.DataFrame(meta["events"], columns=["event", "side", "frame", "confidence"])
    return Clip(name, _resolve(meta["source"], meta.get("sha256")), ev, tuple(meta["frames"]),
                meta)


def clip_names() -> list[str]:
    names = sorted(p.stem for p in SET.glob("*.toml"))
    return names + [f"{n}_{kind}" for kind in DERIVED for n in names if n in FROM]


def repeated(orig: Clip, dst: Path, picture_fps: float = 15.0, file_fps: int = 24) -> Clip:
    """``orig`` as a ``file_fps`` file holding ``picture_fps`` different pictures a second
    (each picture shown for one or two frames, as a 15 fps recording saved at 24 fps)."""
    from posebatch.decode import index_video

    src_times = index_video(orig.path).times()
    src_times = src_times - src_times[0]
    n_out = int(src_times[-1] * file_fps) + 1
    # picture shown by output frame k: the last source frame at or before the last
    # picture_fps tick at or before k / file_fps (non-decreasing, so one decoding pass)
    ticks = np.floor(np.arange(n_out) / file_fps * picture_fps) / picture_fps
    shown = np.searchsorted(src_times, ticks + 1e-6, side="right") - 1
    return _derived(orig, dst, shown, file_fps, None,
                    f"{picture_fps:g} pictures/s in a {file_fps} fps file, from {orig.name}")


def variable(orig: Clip, dst: Path, drop: float = 0.3, seed: int = 0) -> Clip:
    """``orig`` as a variable-frame-rate file, as a phone writes one when it cannot keep up:
    each frame but the first and last is dropped with probability ``drop`` (seeded), and the
    frames kept keep their own times, so the gaps between them are one, two or more frame
    intervals."""
    from posebatch.decode import index_video

    src_times = index_video(orig.path).times()
    keep = np.random.default_rng(seed).random(len(src_times)) >= drop
    keep[[0, -1]] = True
    shown = np.flatnonzero(keep)
    rate = round(1 / float(np.median(np.diff(src_times))))
    return _derived(orig, dst, shown, rate, src_times[shown] - src_times[0],
                    f"variable frame rate: {100 * drop:.0f} % of the frames dropped at "
                    f"random, the rest at their own times, from {orig.name}")


def mirrored(orig: Clip, work: Path) -> Clip:
    """``orig`` mirrored left to right (``NAME_mirror``): the same walk as the network sees it
    going the other way, the labels' sides swapped (a mirrored left foot is drawn as a right
    one) and the direction reversed. Passes of one video share one mirrored video. A check
    that the gait does not depend on which way the walker goes."""
    from posebatch.decode import index_video

    index = index_video(orig.path)
    c = _derived(orig, work / f"{orig.input}_mirror.mp4", np.arange(index.frames),
                 round(index.fps), None,
                 f"mirrored left to right, from {orig.name}", flip=True)
    swap = {"left": "right", "right": "left"}
    return Clip(f"{orig.name}_mirror", c.path, c.events.assign(side=c.events.side.map(swap)),
                c.span, {**c.meta, "input": f"{orig.input}_mirror",
                         "direction": swap.get(orig.meta.get("direction", ""), "")})


def _derived(orig: Clip, dst: Path, shown: np.ndarray, rate: int, times: np.ndarray | None,
             what: str, flip: bool = False) -> Clip:
    """A clip whose frame k shows ``orig``'s frame ``shown[k]`` (non-decreasing; padded:
    ``_padded_yuv420``; ``flip``: mirrored left to right) at ``times[k]`` seconds (None: k /
    ``rate``), encoded once into ``dst``, with the labels moved to the frames that show them:
    a contact to the first frame whose picture is at or after the labelled one, a toe-off to
    the last frame whose picture is at or before it."""
    from fractions import Fraction

    import av

    from posebatch.decode import decode_sequential

    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_suffix(".part.mp4")
        tb = Fraction(1, 90000)
        with av.open(str(tmp), "w") as c:
            s = None
            k = 0
            for f in decode_sequential(orig.path):
                picture = _padded_yuv420(f.image[:, ::-1] if flip else f.image)
                if s is None:
                    s = c.add_stream("libx264", rate=rate)
                    s.height, s.width = picture.shape[0] * 2 // 3, picture.shape[1]
                    # single-threaded: x264's threads made other bytes under load
                    s.pix_fmt, s.options = "yuv420p", {"crf": "18", "threads": "1"}
                    if times is not None:
                        s.codec_context.time_base = tb
                while k < len(shown) and shown[k] == f.index:
                    frame = av.VideoFrame.from_ndarray(picture, "yuv420p")
                    if times is not None:
                        frame.pts, frame.time_base = int(round(times[k] / tb)), tb
                    for pkt in s.encode(frame):
                        c.mux(pkt)
                    k += 1
            for pkt in s.encode():
                c.mux(pkt)
        os.replace(tmp, dst)
    rows = []
    for e in orig.events.itertuples():
        if e.event == "contact":
            at = np.flatnonzero(shown >= e.frame)
            k = int(at[0]) if len(at) else None
        else:
            at = np.flatnonzero(shown <= e.frame)
            k = int(at[-1]) if len(at) else None
        if k is not None:
            rows.append((e.event, e.side, k, e.confidence))
    span = (int(np.flatnonzero(shown >= orig.span[0])[0]),
            int(np.flatnonzero(shown <= orig.span[1])[-1]))
    return Clip(dst.stem, dst, pd.DataFrame(rows, columns=orig.events.columns), span,
                {**{k: v for k, v in orig.meta.items() if k != "input"}, "derived": what})


def _padded_yuv420(image: np.ndarray) -> np.ndarray:
    """The picture with black added at the right and bottom up to a width of a multiple of
    128 (the colour planes', half of it, a multiple of 64) and a height of a multiple of 16,
    in the encoder's pixel format. At other sizes the encoder met the frame buffer's
    uninitialised row padding, and a derived clip came out in other bytes from one process
    to the next (one contact of the test's repeated-frame clip moved by a frame with them);
    padded, it is the same bytes every time (checked in four processes). Pixel coordinates
    are unchanged."""
    import cv2

    h, w = image.shape[:2]
    image = cv2.copyMakeBorder(image, 0, (-h) % 16, 0, (-w) % 128, cv2.BORDER_CONSTANT, value=0)
    return cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)


DERIVED = {"repeats": repeated, "vfr": variable}   # NAME_KIND: made from NAME by DERIVED[KIND]


def run_job(clips: list[Clip], out: Path, extra: list[str]) -> None:
    inputs = out.parent / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for c in clips:
        link = inputs / f"{c.input}{c.path.suffix}"
        if not link.exists():
            link.symlink_to(c.path.resolve())
    cmd = [sys.executable, "-m", "posebatch", "run", str(inputs), "--out", str(out),
           "--gait", "--no-progress", "--quiet", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"posebatch run failed ({r.returncode}): {r.stderr[-2000:]}")


def _match(label_t: np.ndarray, found_t: np.ndarray, tol: float) -> list[tuple[int, int]]:
    """Pairs (label, found) one to one, nearest first, within ``tol`` seconds."""
    pairs = sorted((abs(a - b), i, j) for i, a in enumerate(label_t)
                   for j, b in enumerate(found_t) if abs(a - b) <= tol)
    used_i, used_j, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return out


def _label_figures(ev: pd.DataFrame, times: pd.Series) -> dict:
    """Cadence, step, stride and stance time from the labels themselves."""
    c = ev[ev.event == "contact"].sort_values("frame")
    ct = times.loc[c.frame].to_numpy()
    steps = np.diff(ct)
    strides = []
    stance = []
    for s in ("left", "right"):
        own = times.loc[c[c.side == s].frame].to_numpy()
        offs = times.loc[ev[(ev.event == "toe_off") & (ev.side == s)].frame].to_numpy()
        for a, b in zip(own[:-1], own[1:]):
            strides.append(b - a)
            to = offs[(offs > a) & (offs < b)]
            if len(to) == 1:
                stance.append(100 * (to[0] - a) / (b - a))
    # cadence over whole strides (each contact to the one two later): where steps alternate
    # long and short (a limp, circumduction), an odd number of them is biased to one kind
    two = ct[2:] - ct[:-2]
    cadence = (120.0 / float(np.mean(two)) if len(two)
               else 60.0 / float(np.mean(steps)) if len(steps) else np.nan)
    return {"step_time_s": float(np.mean(steps)) if len(steps) else np.nan,
            "cadence": cadence,
            "stride_time_s": float(np.mean(strides)) if strides else np.nan,
            "stance_pct": float(np.mean(stance)) if stance else np.nan}


def score_clip(clip: Clip, out: Path) -> dict:
    """The walker's events in ``out`` against ``clip``'s labels."""
    from posebatch.storage import tables

    video = f"inputs/{clip.input}{clip.path.suffix}"      # as run_job names it
    frames = tables.read(out, "frames")
    frames = frames[frames.video.astype(str) == video].set_index("frame")
    times = frames.time
    dt = float(np.median(np.diff(times.to_numpy())))
    events = pd.read_parquet(out / "gait" / "events.parquet")
    events = events[events.video.astype(str) == video]
    lo, hi = times.loc[clip.span[0]], times.loc[clip.span[1]]
    inside = events[(events.time >= lo - dt) & (events.time <= hi + dt)]
    track = inside.track.value_counts().idxmax() if len(inside) else None
    found = inside[inside.track == track] if track is not None else inside
    labels = clip.events[clip.events.confidence >= MIN_CONFIDENCE]
    row: dict = {"clip": clip.name, "track": track}
    errs_by_kind: dict[str, np.ndarray] = {}
    for kind in ("contact", "toe_off"):
        lab = labels[labels.event == kind]
        lt = times.loc[lab.frame].to_numpy()
        mine = found[found.event == kind]
        # an event found at a label too uncertain to score (the foot hidden) is neither
        # credited nor counted against the precision
        hidden = times.loc[clip.events[(clip.events.event == kind) & (
            clip.events.confidence < MIN_CONFIDENCE)].frame].to_numpy()
        at_hidden = {j for _, j in _match(hidden, mine.time.to_numpy(), 2.5 * dt)}
        mine = mine[np.array([j not in at_hidden for j in range(len(mine))], bool)]
        ft, fs = mine.time.to_numpy(), mine.side.to_numpy()
        row[f"{kind}_labels"] = len(lt)
        row[f"{kind}_found"] = len(ft)
        for k in (1, 2, 3):
            m = _match(lt, ft, (k + 0.5) * dt)
            row[f"{kind}_recall_{k}"] = len(m) / len(lt) if len(lt) else np.nan
            row[f"{kind}_precision_{k}"] = len(m) / len(ft) if len(ft) else np.nan
        m = _match(lt, ft, 3.5 * dt)
        err = np.array([ft[j] - lt[i] for i, j in m])
        errs_by_kind[kind] = err
        row[f"{kind}_error_ms"] = 1000 * float(err.mean()) if len(err) else np.nan
        row[f"{kind}_abs_error_frames"] = float(np.abs(err).mean() / dt) if len(err) else np.nan
        row[f"{kind}_side_agreement"] = (float(np.mean([fs[j] == lab.side.iloc[i]
                                                        for i, j in m])) if m else np.nan)
    # every labelled event, the hidden ones too: a step behind something is still a step, and
    # left out, the steps either side of it read as one (cadence half as fast there)
    truth = _label_figures(clip.events, times)
    summary = pd.read_parquet(out / "gait" / "summary.parquet")
    s = summary[(summary.video.astype(str) == video) & (summary.track == track)]
    got = s.iloc[0].to_dict() if len(s) else {}
    bouts = pd.read_parquet(out / "gait" / "bouts.parquet")
    b = bouts[(bouts.video.astype(str) == video) & (bouts.track == track)]
    if len(b) > 1:      # out and back in one track: the pass's own bout, as a user reads it
        overlap = np.minimum(b.end, hi) - np.maximum(b.start, lo)
        got = {**got, **b.loc[overlap.idxmax()].drop(["video", "track"]).to_dict()}
    row["cadence_labels"] = truth["cadence"]
    row["cadence"] = got.get("cadence_steps_per_min", np.nan)
    row["cadence_error_pct"] = 100 * (row["cadence"] - truth["cadence"]) / truth["cadence"]
    row["step_time_error_ms"] = 1000 * (got.get("step_time_s", np.nan) - truth["step_time_s"])
    row["stride_time_error_ms"] = 1000 * (got.get("stride_time_s", np.nan)
                                          - truth["stride_time_s"])
    row["stance_labels_pct"] = truth["stance_pct"]
    row["stance_error_pct"] = got.get("stance_pct", np.nan) - truth["stance_pct"]
    row["reason"] = got.get("reason")
    row["flags"] = got.get("flags")
    row.update(legs_ahead(clip, out, video, track, times, got.get("standing_height_px")))
    row["_errors"] = errs_by_kind
    row["_dt"] = dt
    return row


def legs_ahead(clip: Clip, out: Path, video: str, track, times: pd.Series,
               height: float | None) -> dict:
    """Which foot is ahead, frame by frame, against the labels: in the tracked keypoints
    (smoothed, as the gait reads them) and in the gait's legs (the detections with
    ``angles.legs_traded`` applied, smoothed again as the gait does:
    :func:`posebatch.gait.legs.as_gait`). The labels say which foot is ahead as the gait's
    own events do (:func:`posebatch.gait.legs.ahead`: the one that landed last until the
    other passes it). Frames with the ankles level, around the feet passing, or outside the
    labelled contacts are left out, and so is a step-to clip (its labels do not say which
    foot only comes level). Returns ``legs_frames`` and the share of them with the wrong
    foot ahead: ``legs_wrong_tracked_pct``, ``legs_wrong_gait_pct``."""
    from posebatch.gait import track_settings
    from posebatch.gait.legs import LEVEL, ahead, as_gait
    from posebatch.storage import tables

    none = {"legs_frames": 0, "legs_wrong_tracked_pct": np.nan, "legs_wrong_gait_pct": np.nan}
    if track is None or not height or "step-to" in clip.meta.get("gait", ""):
        return none
    kp = tables.read(out, "keypoints")
    kp = kp[(kp.video.astype(str) == video) & (kp.track == track)]
    views = [tables.wide(kp, smooth=s, doubled=False).droplevel(["video", "track"])
             for s in (True, False)]
    w, raw = (v[v.frame.between(*clip.span)] for v in views)
    angles = pd.read_parquet(out / "gait" / "angles.parquet")
    angles = angles[(angles.video.astype(str) == video) & (angles.track == track)]
    trade = w.frame.map(angles.set_index("frame").legs_traded).fillna(False).to_numpy(bool)
    settings = track_settings(out)
    frames = tables.read(out, "frames")
    repeat = frames[frames.video.astype(str) == video].set_index("frame").get("repeat")
    fresh = None if repeat is None else ~repeat.reindex(w.frame).fillna(False).to_numpy(bool)
    legs = as_gait(w, raw, trade, fresh, settings)
    way = 1 if clip.meta.get("direction") == "right" else -1
    gaps = [way * (v.right_ankle_x - v.left_ankle_x).to_numpy() for v in (w, legs)]
    ok = np.isfinite(gaps[0])
    if not ok.any():
        return none
    labels = clip.events.assign(time=times.loc[clip.events.frame].to_numpy(), bout=0)
    truth = ahead(times.loc[w.frame].to_numpy(), labels)
    judged = ok & (truth != 0) & (np.abs(gaps[0]) >= LEVEL * height)
    tracked, gait_legs = (np.sign(g)[judged] != truth[judged] for g in gaps)
    n = int(judged.sum())
    return {"legs_frames": n,
            "legs_wrong_tracked_pct": 100 * float(tracked.mean()) if n else np.nan,
            "legs_wrong_gait_pct": 100 * float(gait_legs.mean()) if n else np.nan}


def overall(rows: list[dict]) -> dict:
    """Pooled over clips: recall and precision counted over all labels and events, errors
    averaged over all matched events."""
    out: dict = {"clip": "all"}
    for kind in ("contact", "toe_off"):
        n_lab = sum(r[f"{kind}_labels"] for r in rows)
        n_found = sum(r[f"{kind}_found"] for r in rows)
        for k in (1, 2, 3):
            out[f"{kind}_recall_{k}"] = sum(r[f"{kind}_recall_{k}"] * r[f"{kind}_labels"]
                                            for r in rows) / max(n_lab, 1)
            out[f"{kind}_precision_{k}"] = sum(
                np.nan_to_num(r[f"{kind}_precision_{k}"]) * r[f"{kind}_found"]
                for r in rows) / max(n_found, 1)
        err = np.concatenate([r["_errors"][kind] for r in rows])
        frames = np.concatenate([r["_errors"][kind] / r["_dt"] for r in rows])
        out[f"{kind}_labels"], out[f"{kind}_found"] = n_lab, n_found
        out[f"{kind}_error_ms"] = 1000 * float(err.mean()) if len(err) else np.nan
        out[f"{kind}_abs_error_frames"] = float(np.abs(frames).mean()) if len(err) else np.nan
    for col in ("cadence_error_pct", "step_time_error_ms", "stride_time_error_ms",
                "stance_error_pct"):
        out[col] = float(np.nanmean([abs(r[col]) for r in rows]))
    n = sum(r["legs_frames"] for r in rows)
    out["legs_frames"] = n
    for col in ("legs_wrong_tracked_pct", "legs_wrong_gait_pct"):
        out[col] = (sum(np.nan_to_num(r[col]) * r["legs_frames"] for r in rows) / n
                    if n else np.nan)
    return out


def validate(names: list[str], work: Path, extra: list[str] | None = None) -> list[dict]:
    clips = [load_clip(n, work / "clips") for n in names]
    missing = [c.name for c in clips if c.path is None]
    clips = [c for c in clips if c.path is not None]
    if missing:
        print(f"skipped (video not here): {', '.join(missing)}", file=sys.stderr)
    run_job(clips, work / "out", extra or [])
    rows = [score_clip(c, work / "out") for c in clips]
    return rows + [overall(rows)] if rows else rows


def table(rows: list[dict]) -> str:
    cols = ["clip", "contact_labels", "contact_found", "contact_recall_1", "contact_recall_2",
            "contact_recall_3", "contact_precision_2", "contact_error_ms",
            "contact_abs_error_frames", "toe_off_labels", "toe_off_found", "toe_off_recall_2",
            "toe_off_precision_2", "toe_off_error_ms", "toe_off_abs_error_frames",
            "cadence_error_pct", "step_time_error_ms", "stride_time_error_ms",
            "stance_error_pct", "legs_frames", "legs_wrong_tracked_pct", "legs_wrong_gait_pct"]
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows])
    return df.to_string(index=False, float_format=lambda v: f"{v:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/gait_validation"))
    ap.add_argument("--clips", default=",".join(clip_names()))
    ap.add_argument("--quality", default=None)
    ap.add_argument("--toe-offs", default=None, choices=("picture", "ankle"),
                    help="how the gait times toe-offs (posebatch run --toe-offs)")
    ap.add_argument("--mirror", action="store_true",
                    help="score each clip mirrored left to right instead (NAME_mirror)")
    ap.add_argument("--videos", type=Path, action="append", default=[],
                    help="where clips of github: sources are (repeatable; also "
                         "$POSEBATCH_GAIT_VIDEOS)")
    a = ap.parse_args()
    VIDEOS[:0] = a.videos
    extra = ["--quality", a.quality] if a.quality else []
    extra += ["--toe-offs", a.toe_offs] if a.toe_offs else []
    names = a.clips.split(",")
    if a.mirror:
        names = [f"{n}_mirror" for n in names]
    rows = validate(names, a.out, extra)
    print(table(rows))
    for r in rows[:-1]:
        if r.get("reason") or r.get("flags"):
            print(f"{r['clip']}: {r.get('reason') or ''} {r.get('flags') or ''}")


if __name__ == "__main__":
    main()
