"""What a batch job is: its options (from the command line or a TOML job spec), the videos it
covers, and the plan of frame chunks. Pure data and file discovery; Ray lives in posebatch.runner."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.config import (Coords, PersonScore, PoseConfig, Precision, Preprocess, Runtime,
                             TrackConfig)
from ..errors import ConfigError
from ..engine.quality import Quality, resolve, resolve_refine
from ..engine.refine import Refine, RefineConfig
from . import options

# Container extensions a directory is searched for (case-insensitive). A file named
# explicitly on the command line is tried whatever its extension.
VIDEO_EXTENSIONS = options.VIDEO_EXTENSIONS

ASSET_PREFIX = "asset:"


@dataclass(frozen=True)
class JobSpec:
    """Every option of ``posebatch run``; a job file's keys are these field names."""

    inputs: tuple[str, ...] = ()
    out: str = ""
    model: str = "mobilenet_thin"
    # What decides accuracy and cost: a quality preset (posebatch.engine.quality), and any of its
    # settings given on its own on top (None: the preset's value).
    quality: Quality = Quality.BALANCED
    preprocess: Preprocess | None = None
    height: int | None = None        # network input height
    upsample: float | None = None
    coords: Coords | None = None
    precision: Precision | None = None   # auto: bf16 where the planning CPU has it
    runtime: Runtime | None = None       # auto: the fastest measured on the planning machine
    subpixel: bool | None = None
    flip: bool | None = None
    scales: tuple[float, ...] | None = None
    person_score: PersonScore | None = None
    refine: Refine | None = None     # a second look at each person (None: the preset's)
    chunk: int = 128                 # frames per task
    actors: int = 0                  # 0: one per `threads` CPUs of the local machine
    threads: int = 0                 # TensorFlow threads (= CPUs reserved) per actor; 0: 1
    prefetch: int = 0                # frames an actor decodes ahead of its network (0: off)
    frame_timeout: float = 10.0      # s per frame before a chunk's worker is presumed hung
    address: str | None = None       # an existing Ray cluster; None starts a local runtime
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS
    force: bool = False
    # Which frames to analyse (posebatch.decode.parse_position: 12.5, 12.5s, 1:02.5 or 300f,
    # held as 12.5s or 300f; None: the video's start, its end) and the stride; per video in
    # ``videos`` ({NAME: {start, end, every}}: a job file's [videos."NAME"] tables).
    start: str | None = None
    end: str | None = None
    every: int = 1
    videos: dict[str, dict[str, Any]] | None = None
    track: TrackConfig = field(default_factory=TrackConfig)   # [track] in a job file

    def __post_init__(self) -> None:
        # every value as the option table (posebatch.runner.options) declares it
        for opt in options.options(""):
            value = getattr(self, opt.name)
            if opt.name == "track":
                continue
            object.__setattr__(self, opt.name, options.check(opt, value))
        if isinstance(self.track, dict):
            object.__setattr__(self, "track", track_config(self.track))
        elif not isinstance(self.track, TrackConfig):
            raise ConfigError(f"track must be a table of tracking settings ([track] with keys "
                              f"{', '.join(sorted(_TRACK_FIELDS))}), got {self.track!r}")
        object.__setattr__(self, "quality", Quality(self.quality))
        for name, kind in (("preprocess", Preprocess), ("coords", Coords),
                           ("precision", Precision), ("person_score", PersonScore),
                           ("runtime", Runtime), ("refine", Refine)):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, kind(getattr(self, name)))
        if self.threads == 0:       # automatic: one thread (and CPU) per actor
            object.__setattr__(self, "threads", 1)
        object.__setattr__(self, "extensions",
                           tuple(e.lower() if e.startswith(".") else f".{e.lower()}"
                                 for e in self.extensions))
        check_range(self.start, self.end)
        object.__setattr__(self, "videos", self.videos or {})


_TRACK_FIELDS = {f.name for f in dataclasses.fields(TrackConfig)}


def check_range(start: str | None, end: str | None, where: str = "") -> None:
    """A ConfigError when ``end`` does not come after ``start`` (both canonical positions of
    the same unit; seconds and frames are compared once the video is indexed)."""
    if start is not None and end is not None and start[-1] == end[-1] and \
            float(start[:-1]) >= float(end[:-1]):
        raise ConfigError(f"{where}end ({end}) must come after start ({start}): the range "
                          "is start up to, not including, end")


def check_people(people: int | None) -> int | None:
    """``--people N`` of gait and render: None (every track) or a whole number, at least 1."""
    if people is not None and (isinstance(people, bool) or not isinstance(people, int)
                               or people < 1):
        raise ConfigError(f"--people must be a whole number of tracks, at least 1, got "
                          f"{people!r}")
    return people


def video_trims(spec: "JobSpec", videos: list["VideoInput"]) -> dict[str, tuple]:
    """Each video's (start, end, every): its ``[videos."NAME"]`` table's values (NAME: its name
    in the tables, or its path), the job's where it gives none. A table that names no input
    video is a ConfigError (a misspelt name would otherwise be ignored)."""
    by_path = {v.path: v.name for v in videos}
    names = {v.name for v in videos}
    entries: dict[str, dict] = {}
    for key, entry in (spec.videos or {}).items():
        name = key if key in names else by_path.get(Path(key).expanduser().absolute())
        if name is None:
            shown = ", ".join(sorted(names)[:8]) + (", ..." if len(names) > 8 else "")
            raise ConfigError(f'[videos."{key}"] names no input video (their names: '
                              f"{shown or 'none'})")
        entries[name] = entry
    job = {"start": spec.start, "end": spec.end, "every": spec.every}
    out = {}
    for v in videos:
        values = {**job, **entries.get(v.name, {})}
        if v.name in entries:       # a per-video start with the job's end: checked together
            check_range(values["start"], values["end"], f'[videos."{v.name}"] ')
        out[v.name] = (values["start"], values["end"], values["every"])
    return out


def track_config(values: dict[str, Any]) -> TrackConfig:
    """A TrackConfig from a job file's ``[track]`` table (or the command line's options)."""
    return TrackConfig(**options.check_values(values, "track"))


# What `posebatch demo` runs; jobs/demo.toml holds the same values (a test checks it).
DEMO_JOB = dict(inputs=("asset:demo_video",), out="out/demo", model="mobilenet_thin",
                quality="balanced", chunk=64, actors=0, threads=1)

_FIELDS = {f.name for f in dataclasses.fields(JobSpec)}


def load_job_file(path: Path) -> dict[str, Any]:
    """The options in a TOML job spec; an unknown key is an error naming the closest key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"job file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"job file {path.name} is not valid TOML ({exc})") from None
    for key in data:
        if key not in _FIELDS:
            raise options.unknown_key(key, "", f"{path.name}: ")
    if "track" in data and not isinstance(data["track"], dict):
        raise ConfigError(f"{path.name}: track must be a table ([track] with keys "
                          f"{', '.join(sorted(_TRACK_FIELDS))})")
    for key in data.get("track", {}):
        if key not in _TRACK_FIELDS:
            raise options.unknown_key(key, "track", f"{path.name}: ")
    if isinstance(data.get("inputs"), str):
        data["inputs"] = [data["inputs"]]
    return data


def make_spec(job_file: Path | None, overrides: dict[str, Any]) -> JobSpec:
    """Job file values, then every command-line option that was given (not None) on top."""
    values = load_job_file(job_file) if job_file else {}
    overrides = dict(overrides)
    track = {**values.get("track", {}), **{k: v for k, v in overrides.pop("track", {}).items()
                                           if v is not None}}
    values.update({k: v for k, v in overrides.items() if v is not None and v != ()})
    values["track"] = track
    if not values.get("inputs"):
        raise ConfigError("no inputs: name video files or folders, or give a job file with "
                          "inputs = [...]")
    if not values.get("out"):
        raise ConfigError("no output folder: pass --out OUT (or out = ... in the job file)")
    try:
        return JobSpec(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:     # not expected: the table checks every value
        raise ConfigError(f"invalid job option: {exc}") from None


def pose_config(spec: JobSpec, input_size: tuple[int, int]) -> PoseConfig:
    """The job's quality preset for a model of this input size, its own settings on top."""
    return resolve(spec.quality, spec.model, input_size,
                   **{k: getattr(spec, k) for k in POSE_SETTINGS})


def refine_config(spec: JobSpec) -> RefineConfig:
    """The job's second look at each person: its preset's (on in accurate), or ``refine``."""
    return resolve_refine(spec.quality, spec.refine)


POSE_SETTINGS = ("preprocess", "height", "upsample", "coords", "precision", "subpixel", "flip",
                 "scales", "person_score", "runtime")


@dataclass(frozen=True)
class VideoInput:
    """One input file: ``path`` absolute, ``name`` unique and readable (relative to the folder
    it was found in, with that folder's name, so a/clip.mp4 and b/clip.mp4 stay distinct)."""

    path: Path
    name: str


@dataclass(frozen=True)
class InputProblem:
    """An input that yields no video at all (missing path, folder without videos)."""

    path: str
    error: str


@dataclass
class Discovery:
    videos: list[VideoInput] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)


def discover(inputs: tuple[str, ...], extensions: tuple[str, ...] = VIDEO_EXTENSIONS,
             resolve_asset=None) -> Discovery:
    """Expand files and folders (recursively) into videos, sorted within each folder; the
    same file given twice is kept once."""
    found = Discovery()
    seen: set[Path] = set()

    def add(path: Path, name: str) -> None:
        path = path.absolute()
        if path not in seen:
            seen.add(path)
            found.videos.append(VideoInput(path, name))

    for raw in inputs:
        if raw.startswith(ASSET_PREFIX):
            if resolve_asset is None:
                raise ConfigError(f"{raw}: assets can only be used from the command line")
            p = Path(resolve_asset(raw[len(ASSET_PREFIX):]))
            add(p, p.name)
            continue
        p = Path(raw).expanduser()
        if p.is_dir():
            files = sorted(f for f in p.rglob("*")
                           if f.suffix.lower() in extensions and not f.is_dir())
            if not files:
                found.problems.append(InputProblem(
                    raw, f"folder contains no video files (looked for {', '.join(extensions)})"))
            for f in files:
                add(f, str(Path(p.absolute().name) / f.relative_to(p)))
        elif p.exists() or p.is_symlink():
            add(p, p.name)
        else:
            found.problems.append(InputProblem(raw, "no such file or folder"))
    # Names must be unique in the tables; two files named alike in unrelated places get their
    # full path.
    counts: dict[str, int] = {}
    for v in found.videos:
        counts[v.name] = counts.get(v.name, 0) + 1
    found.videos = [v if counts[v.name] == 1 else VideoInput(v.path, str(v.path))
                    for v in found.videos]
    return found


def params_key(model_sha256: str, config: PoseConfig, schema_version: int) -> str:
    """Hash of everything that changes a chunk's result (not actors, threads or paths). The
    precision enters only when it is not fp32, so jobs made before the option existed keep
    their keys (and their finished chunks); the runtime only where its outputs differ from
    TensorFlow's (OpenVINO fp32 measured bit for bit equal on this machine shares them)."""
    from ..engine.runtimes import identical_to_tensorflow

    settings = dataclasses.asdict(config)
    if identical_to_tensorflow(config.model, config.runtime, config.precision,
                               (config.net_width, config.net_height)):
        del settings["runtime"]
    # settings added later enter only when they differ from what jobs did before them
    for name, before in (("precision", "fp32"), ("subpixel", False), ("flip", False),
                         ("scales", (1.0,)), ("person_score", "openpose")):
        if settings[name] == before:
            del settings[name]
    doc = {"model_sha256": model_sha256, "config": settings, "schema": schema_version}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


# Bump when the tracking code changes what it produces: stored tracks are then redone.
# 2: repeated pictures are interpolated through, not held.
# 3: parts found twice (a faint ankle on the other foot) are left out of the curves.
# 4: the smoothing's grid is never coarser than the samples' mean interval.
TRACK_ALGORITHM = 4


def track_key(config: TrackConfig) -> str:
    """Hash of the tracking settings and algorithm: a video's stored tracks are reused while it
    and its detections are unchanged."""
    doc = {"track": dataclasses.asdict(config), "algorithm": TRACK_ALGORITHM}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def check_inputs(spec: JobSpec, resolve_asset=None) -> Discovery:
    """The job's videos, after its model and settings are checked: a ConfigError (or the
    model's error) when the model is unknown, the settings do not resolve, or there is no
    video at all (every input missing, or folders without videos), so that a job that cannot
    run is refused before it writes anything."""
    from ..models.manifest import get_model

    model = get_model(spec.model)
    pose_config(spec, model.input_size)
    found = discover(spec.inputs, spec.extensions, resolve_asset)
    if not found.videos:
        said = "; ".join(f"{p.path}: {p.error}" for p in found.problems[:3])
        more = f" (and {len(found.problems) - 3} more)" if len(found.problems) > 3 else ""
        raise ConfigError(f"no video to analyse: {said}{more}; name video files or folders "
                          "that hold some")
    return found
