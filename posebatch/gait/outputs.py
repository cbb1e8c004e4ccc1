"""Writing a gait analysis: OUT/gait/{angles,events,strides,bouts,summary}.parquet and a PNG per
analysed track (knee and hip angles over time with the events marked, and its strides)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from ..engine.config import GaitConfig
from ..storage.schemas import write_parquet
from . import GaitResult, schema
from .schema import GAIT_SCHEMA_VERSION

__all__ = ["GAIT_SCHEMA_VERSION", "merged", "track_figure", "write_gait"]


def merged(out: Path, result: GaitResult, config: GaitConfig, video: str | None = None,
           track: int | None = None) -> GaitResult:
    """``result``, the analysis of ``video`` and/or ``track`` only, with the rows of every
    other video and track already in OUT/gait/ kept: analysing one video does not drop the
    others' analysis. Refused where those rows were made with other settings or by another
    version of the tables (one table, one set of settings)."""
    import json

    import pyarrow.parquet as pq

    from ..errors import ConfigError

    folder = Path(out) / "gait"
    if (video is None and track is None) or not (folder / "summary.parquet").is_file():
        return result
    meta = pq.read_schema(folder / "summary.parquet").metadata or {}
    made = json.loads(meta.get(b"posebatch.params", b"{}")).get("gait")
    version = meta.get(b"posebatch.schema", b"").decode()
    if version != f"gait.summary/{GAIT_SCHEMA_VERSION}" or made != dataclasses.asdict(config):
        raise ConfigError(f"{folder} holds the gait of other videos or tracks made "
                          + ("by another posebatch" if made == dataclasses.asdict(config) else
                             f"with other settings ({made})")
                          + f": analyse them all again (`posebatch gait {out}` with the "
                          "settings you want), or analyse this one with the same settings")
    parts = {}
    for name in schema.TABLES:
        old = pd.read_parquet(folder / f"{name}.parquet")
        mine = pd.Series(True, index=old.index)
        if video is not None:
            mine &= old["video"].astype(str) == video
        if track is not None:
            mine &= old["track"] == track
        both = pd.concat([old[~mine], getattr(result, name)], ignore_index=True)
        both = both.sort_values(["video", "track"], kind="stable", ignore_index=True)
        parts[name] = schema.frame(name, both)
    return GaitResult(**parts)


def write_gait(out: Path, result: GaitResult, config: GaitConfig,
               figures: pd.DataFrame | None = None) -> dict[str, Path]:
    """The five tables (atomically, each with exactly its schema of ``gait.schema`` whatever
    the data, naming its table, version and the settings in its metadata) and the per-track
    figures (of the summary rows ``figures``, default all); returns what was written."""
    folder = Path(out) / "gait"
    params = {"gait": dataclasses.asdict(config)}
    paths = {}
    for name, declared in schema.TABLES.items():
        table = schema.table(name, getattr(result, name))
        paths[name] = write_parquet(table, folder / f"{name}.parquet", f"gait.{name}", params,
                                    GAIT_SCHEMA_VERSION, schema=declared)
    for _, row in (result.summary if figures is None else figures).iterrows():
        if row.get("reason") is None or pd.isna(row.get("reason")):
            paths[f"{row.video}#{row.track}"] = track_figure(folder, result, row.video,
                                                             int(row.track))
    return paths


def track_figure(folder: Path, result: GaitResult, video: str, track: int) -> Path:
    """Knee and hip flexion of both legs over time, contacts (solid) and toe-offs (dotted)
    marked in the leg's colour, and the stride table beneath; the summary's flags under the
    title, so that a figure read alone still says where its numbers are uncertain."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = lambda df: df[(df.video == video) & (df.track == track)]  # noqa: E731
    angles, events, strides = sel(result.angles), sel(result.events), sel(result.strides)
    colours = {"left": "tab:blue", "right": "tab:red"}
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), gridspec_kw={"height_ratios": [3, 3, 2]})
    for ax, joint in zip(axes[:2], ("knee", "hip")):
        for side, c in colours.items():
            ax.plot(angles.time, angles[f"{side}_{joint}_flexion"], color=c, label=side)
            for _, e in events[events.side == side].iterrows():
                ax.axvline(e.time, color=c, lw=1, ls="-" if e.event == "contact" else ":")
        ax.set_ylabel(f"{joint} flexion (deg)")
        ax.grid(alpha=0.3)
    axes[0].legend(title="contact — / toe-off ···", fontsize=8)
    flags = "; ".join(sel(result.summary)["flags"].dropna())
    lines = [f"{video}, track {track}"] + textwrap.wrap(f"flags: {flags}" if flags else "", 120)
    axes[0].set_title("\n".join(lines), fontsize=9)
    axes[1].set_xlabel("time (s)")
    axes[2].axis("off")
    cols = ["side", "start", "stride_time", "step_time", "stance_pct", "double_support_pct",
            "cadence_steps_per_min"]
    shown = strides[cols].round(2).head(12) if len(strides) else pd.DataFrame(columns=cols)
    if len(shown):
        axes[2].table(cellText=shown.values, colLabels=[c.replace("_", " ") for c in cols],
                      loc="center", fontsize=8)
    fig.tight_layout()
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in video)
    path = folder / f"{safe}.track{track}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
