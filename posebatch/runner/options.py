"""Every option of a job, declared once: its name, type, default, unit, allowed values, help,
the section of a job file it lives in and the commands that take it.

Generated from this table: the Typer options of every command (``posebatch.cli.common``), the
validation of job files and command-line values (:func:`check`), the commented job file that
``posebatch config`` prints (:func:`job_file`) and the option reference of the docs and
``jobs/README.md`` (:func:`option_reference`; ``python -m posebatch.cli.gendocs`` rewrites it).
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Iterable

from ..errors import ConfigError

# The commands that estimate poses (they all take the accuracy options).
POSE_COMMANDS = ("run", "image", "evaluate", "live", "bench")
PRESET = "the quality preset's"       # the default of a setting a preset decides

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts",
                    ".mts", ".m2ts", ".wmv", ".flv", ".3gp", ".ogv")


@dataclass(frozen=True)
class Option:
    """One option. ``kind``: int, float, bool, str, choice, floats (a list of numbers; on the
    command line comma-separated) or strs (a list of strings). ``default`` None with
    ``preset``: the quality preset decides. ``low``/``high``: the allowed range (``open_low``:
    more than ``low``, not equal); ``step``: values must be multiples of it. ``section``: the
    job file's table ("" for the top level, "track" for ``[track]``). ``commands``: those whose
    command line has it (``--NAME``; ``flag`` when the flag differs from the key)."""

    name: str
    kind: str
    default: Any
    help: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    step: int | None = None
    section: str = ""
    commands: tuple[str, ...] = ()
    preset: bool = False
    flag: str = ""
    short: str = ""
    panel: str = ""

    @property
    def key(self) -> str:
        """The key in a job file, with its table: ``chunk``, ``track.max_gap``."""
        return f"{self.section}.{self.name}" if self.section else self.name

    @property
    def cli(self) -> str:
        """The command-line flag: ``--person-score``."""
        return "--" + (self.flag or self.name).replace("_", "-")

    @property
    def param(self) -> str:
        """The Python name of the command-line parameter."""
        return (self.flag or self.name).replace("-", "_")

    def allowed(self) -> str:
        """What values are allowed, in words: ``fast, balanced, accurate or reference``."""
        if self.choices:
            return _either(self.choices)
        if self.kind == "position":
            from ..decode import POSITION_FORMS

            return POSITION_FORMS
        if self.kind == "videos":
            return ("a table per video, [videos.\"NAME\"], with start, end and every "
                    "(e.g. videos.\"clip.mp4\".start = \"2s\")")
        what = {"int": "a whole number", "float": "a number", "bool": "true or false",
                "str": "text", "floats": "a list of numbers", "strs": "a list of strings"
                }[self.kind]
        bounds = []
        if self.low is not None:
            bounds.append(f"more than {self.low:g}" if self.open_low else f"at least {self.low:g}")
        if self.high is not None:
            bounds.append(f"at most {self.high:g}")
        if self.step:
            bounds.insert(0, f"a multiple of {self.step}")
        if self.kind == "floats" and bounds:
            return f"{what}, each {' and '.join(bounds)}"
        return what + (", " + " and ".join(bounds) if bounds else "")

    def shown_default(self) -> str:
        if self.preset and self.default is None:
            return PRESET
        if self.default is None or self.default == "":
            return "none"
        return _show(self.default)


def _either(values: Iterable[str]) -> str:
    v = list(values)
    return v[0] if len(v) == 1 else ", ".join(v[:-1]) + " or " + v[-1]


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        return ", ".join(_show(x) for x in v) if v else "none"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


_ACC = "Accuracy and cost"
_TRACK = "Tracking and smoothing (a job file's [track] table)"
_JOB = "The job"
_RANGE = "What to analyse"
TRIM_KEYS = ("start", "end", "every")     # the keys of a job file's [videos."NAME"] table

OPTIONS: tuple[Option, ...] = (
    # what to analyse and where the tables go
    Option("inputs", "strs", (), "Video files and folders (searched recursively), or "
           "asset:NAME (a fetched asset, e.g. asset:demo_video).", panel=_JOB),
    Option("out", "str", "", "The output folder: tables, manifest, renders.", unit="path",
           panel=_JOB),
    Option("model", "str", "mobilenet_thin", "The pose model (posebatch models list).",
           commands=POSE_COMMANDS, short="-m", panel=_JOB),
    # accuracy and cost
    Option("quality", "choice", "balanced", "A bundle of the settings below, chosen from the "
           "measured speed/accuracy curve; reference is tf-pose-estimation exactly. Any of "
           "them given on its own wins.", choices=("fast", "balanced", "accurate", "reference"),
           commands=POSE_COMMANDS + ("demo",), panel=_ACC),
    Option("preprocess", "choice", None, "reference: stretch to the model's input shape "
           "(tf-pose-estimation); aspect: keep the frame's aspect ratio at height; area: keep "
           "it at the pixel count of the model's shape at height.",
           choices=("reference", "aspect", "area"), preset=True, commands=POSE_COMMANDS,
           panel=_ACC),
    Option("height", "int", None, "Network input height (area: the height of the model's "
           "shape whose pixel count is kept); the model's own when not given.", unit="pixels",
           low=16, step=8, preset=True, commands=POSE_COMMANDS, panel=_ACC),
    Option("upsample", "float", None, "Heatmap upsampling ratio before peaks are found.",
           unit="ratio", low=0.5, high=16, preset=True, commands=POSE_COMMANDS, panel=_ACC),
    Option("coords", "choice", None, "center: the centre of the region a peak's cell saw "
           "(best AP); tfpose: tf-pose-estimation's corner convention.",
           choices=("center", "tfpose"), preset=True, commands=POSE_COMMANDS, panel=_ACC),
    Option("precision", "choice", None, "fp32; bf16 (mixed precision, on CPUs with "
           "AVX512-BF16 or AMX only); auto (TensorFlow: bf16 where the CPU has it; OpenVINO: the "
           "fastest measured here). int8 is not offered: it did not keep the people.",
           choices=("fp32", "bf16", "auto"), preset=True, commands=POSE_COMMANDS, panel=_ACC),
    Option("runtime", "choice", None, "tensorflow (the reference); openvino (the same graph "
           "on OpenVINO's CPU plugin); auto (the fastest whose outputs match TensorFlow's, "
           "measured once per machine and model).", choices=("tensorflow", "openvino", "auto"),
           preset=True, commands=POSE_COMMANDS, panel=_ACC),
    Option("subpixel", "bool", None, "Refine each keypoint inside its heatmap cell.",
           preset=True, commands=POSE_COMMANDS, panel=_ACC),
    Option("flip", "bool", None, "Also run the mirrored frame and average (about 2 x the "
           "network's cost).", preset=True, commands=POSE_COMMANDS, panel=_ACC),
    Option("scales", "floats", None, "Input scales averaged, relative to height, the first "
           "1 (on the command line: 1,0.75); cost grows with their squares' sum.",
           unit="x height", low=0.25, high=4, preset=True, commands=POSE_COMMANDS, panel=_ACC),
    Option("person_score", "choice", None, "openpose: the parser's score; parts: times the "
           "fraction of parts found.", choices=("openpose", "parts"), preset=True,
           commands=POSE_COMMANDS, panel=_ACC),
    Option("refine", "choice", None, "people: a second look at each person, cropped from the "
           "full-resolution frame (about one more network run per person; on in accurate); "
           "off: one pass.", choices=("off", "people"), preset=True,
           commands=("run", "image", "evaluate", "bench"), panel=_ACC),
    Option("threads", "int", 0, "TensorFlow threads of one pose estimator: per actor in a "
           "job (run, bench: also the CPUs each actor reserves), of the one estimator "
           "otherwise. 0: automatic (1 per actor in a job; TensorFlow decides in one "
           "process).", low=0, commands=POSE_COMMANDS, panel=_ACC),
    # how the job runs (never changes a result)
    Option("chunk", "int", 128, "Frames per task (the unit of work and of resuming).",
           unit="frames", low=1, commands=("run",), panel=_JOB),
    Option("actors", "int", 0, "Pose actors (0: as many as the CPUs hold at threads each; "
           "in a run, at most one per 64 frames to analyse).",
           low=0, commands=("run", "bench"), panel=_JOB),
    Option("prefetch", "int", 0, "Frames an actor decodes ahead of its network (0: decode in "
           "turn; helps on slow storage).", unit="frames", low=0, high=64,
           commands=("bench",), panel=_JOB),
    Option("frame_timeout", "float", 10.0, "Seconds per frame (plus 120 s) a chunk may run "
           "before its worker is presumed hung, stopped and replaced.", unit="s", low=0,
           open_low=True, commands=("run",), panel=_JOB),
    Option("address", "str", None, "HOST:PORT of a running Ray cluster; without it a local "
           "runtime is started.", commands=("run", "bench"), panel=_JOB),
    Option("extensions", "strs", VIDEO_EXTENSIONS, "File extensions a folder is searched for "
           "(case-insensitive); a file named on its own is tried whatever its extension.",
           panel=_JOB),
    Option("force", "bool", False, "Recompute every chunk (finished ones are normally kept).",
           commands=("run",), panel=_JOB),
    # which frames to analyse
    Option("start", "position", None, "Analyse each video from this point: seconds on its "
           "clock (the time column) or a frame number; the video's first frame when not "
           "given.", commands=("run",), panel=_RANGE),
    Option("end", "position", None, "Up to, not including, this point; the video's end when "
           "not given.", commands=("run",), panel=_RANGE),
    Option("every", "int", 1, "Analyse every Nth frame of the range (start, start + N, ...); "
           "times stay the container's.", unit="frames", low=1, commands=("run",),
           panel=_RANGE),
    Option("videos", "videos", None, 'Per-video start, end and every: a table [videos."NAME"] '
           "per video (NAME: its name in the tables, or its path); its values win over the "
           "job's.", panel=_RANGE),
    # [track]
    Option("enabled", "bool", True, "Follow people through each video.", section="track",
           flag="track", commands=("run", "live"), panel=_TRACK),
    Option("max_gap", "float", 1.0, "How long a person may go unseen and keep their track.",
           unit="s", low=0, section="track", commands=("run",), panel=_TRACK),
    Option("min_seen", "float", 0.3, "How long a track must be detected to be reported.",
           unit="s", low=0, section="track", commands=("run",), panel=_TRACK),
    Option("min_similarity", "float", 0.2, "Keypoint similarity below which a detection never "
           "continues a track.", low=0, open_low=True, high=1, section="track",
           commands=("run",), panel=_TRACK),
    Option("swap_horizon", "float", 0.2, "Seconds of left/right relabelling one body height "
           "of jumps pays for (longer swaps are left alone).", unit="s", low=0, open_low=True,
           section="track", commands=("run",), panel=_TRACK),
    Option("fill_gap", "float", 0.2, "Longest gap in a keypoint that is interpolated.",
           unit="s", low=0, section="track", commands=("run",), panel=_TRACK),
    Option("cutoff", "float", 6.0, "Cut-off of the zero-lag 4th-order Butterworth low-pass on "
           "each keypoint's trajectory; 0: no smoothing.", unit="Hz", low=0, section="track",
           commands=("run",), panel=_TRACK),
)

SECTIONS = ("", "track")
BY_KEY = {o.key: o for o in OPTIONS}


def options(section: str = "") -> tuple[Option, ...]:
    """The options of one section of a job file, in the table's order."""
    return tuple(o for o in OPTIONS if o.section == section)


def for_command(command: str) -> tuple[Option, ...]:
    """The options ``command`` takes on its command line."""
    return tuple(o for o in OPTIONS if command in o.commands)


def defaults(section: str = "") -> dict[str, Any]:
    """Every option of a section at its default (None: the preset's)."""
    return {o.name: o.default for o in options(section)}


def unknown_key(key: str, section: str = "", where: str = "") -> ConfigError:
    """An unknown key of a job file, naming the closest known one."""
    known = sorted(o.name for o in options(section))
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    table = f"[{section}] " if section else ""
    return ConfigError(f"{where}{table}unknown key {key!r}{hint} (known keys: "
                       f"{', '.join(known)})")


def check(opt: Option, value: Any, cli: bool = False) -> Any:
    """``value`` as ``opt`` holds it (a choice as its lower-case text, a list as a tuple), or
    a ConfigError naming the option (``--flag`` when ``cli``) and what it must be."""
    if value is None:
        if opt.default is None:
            return None
        raise ConfigError(f"{opt.cli if cli else opt.key} must be {opt.allowed()}, got nothing")
    name = opt.cli if cli else opt.key
    unit = f" ({opt.unit})" if opt.unit and opt.unit != "path" else ""

    def bad(v: Any = value) -> ConfigError:
        shown = f"{v!r}" if cli else f"{v!r} ({type(v).__name__})"
        return ConfigError(f"{name} must be {opt.allowed()}{unit}, got {shown}")

    def number(v: Any, whole: bool) -> float:
        if cli and isinstance(v, str):
            try:
                v = int(v) if whole else float(v)
            except ValueError:
                raise bad(v) from None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (whole and not
                                                                    isinstance(v, int)):
            raise bad(v)
        if isinstance(v, float) and math.isnan(v):
            raise bad(v)
        if (opt.low is not None and (v < opt.low or opt.open_low and v == opt.low)
                or opt.high is not None and v > opt.high or opt.step and v % opt.step):
            raise ConfigError(f"{name} must be {opt.allowed()}{unit}, got {v!r}")
        return v

    if opt.kind == "position":
        from ..decode import parse_position

        try:
            return parse_position(value, name)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if opt.kind == "videos":
        return _check_videos(value)
    if opt.kind == "choice":
        text = value.value if hasattr(value, "value") else value
        if not isinstance(text, str) or text.lower() not in opt.choices:
            raise ConfigError(f"{name} must be {opt.allowed()}, got {text!r}")
        return text.lower()
    if opt.kind == "bool":
        if not isinstance(value, bool):
            raise bad()
        return value
    if opt.kind in ("int", "float"):
        return number(value, opt.kind == "int")
    if opt.kind == "str":
        if not isinstance(value, str):
            raise bad()
        return value
    if opt.kind == "strs":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            raise bad()
        return tuple(value)
    # floats: a list (job file) or "1,0.75" (command line)
    if isinstance(value, str):
        try:
            value = [float(x) for x in value.replace(" ", "").split(",") if x]
        except ValueError:
            raise ConfigError(f"{name} takes numbers separated by commas (e.g. 1,0.75), got "
                              f"{value!r}") from None
    if not isinstance(value, (list, tuple)) or not value:
        raise bad()
    nums = tuple(float(number(x, False)) for x in value)
    if opt.name == "scales" and nums[0] != 1.0:
        raise ConfigError(f"{name}: the first scale must be 1 (the grid the others are "
                          f"averaged onto), got {list(nums)}")
    return nums


def _check_videos(value: Any) -> dict[str, dict[str, Any]]:
    """A job file's ``[videos."NAME"]`` tables: {NAME: {start, end, every}} checked."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError('videos must be tables, one per video: [videos."NAME"] with keys '
                          f"{', '.join(TRIM_KEYS)}; got {value!r}")
    out = {}
    for video, entry in sorted(value.items()):
        where = f'[videos."{video}"] '
        checked = {}
        for key, v in entry.items():
            if key not in TRIM_KEYS:
                close = difflib.get_close_matches(key, TRIM_KEYS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"{where}unknown key {key!r}{hint} (known keys: "
                                  f"{', '.join(TRIM_KEYS)})")
            try:
                checked[key] = check(BY_KEY[key], v)
            except ConfigError as exc:
                raise ConfigError(f"{where}{exc}") from None
        if checked.get("start") and checked.get("end"):
            from .spec import check_range

            check_range(checked["start"], checked["end"], where)
        out[str(video)] = checked
    return out


def check_values(values: dict[str, Any], section: str = "", cli: bool = False,
                 where: str = "") -> dict[str, Any]:
    """Every value checked (:func:`check`); an unknown key names the closest known one."""
    known = {o.name: o for o in options(section)}
    out = {}
    for key, value in values.items():
        if key not in known:
            raise unknown_key(key, section, where)
        out[key] = check(known[key], value, cli)
    return out


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):         # an inline table
        return "{ " + ", ".join(f"{_toml(k) if not k.isidentifier() else k} = {_toml(x)}"
                                for k, x in v.items()) + " }"
    return str(v)


def _preset_values(name: str) -> str:
    """What each quality preset sets ``name`` to: ``fast: 4, balanced: 8, ...``."""
    from ..engine.quality import PRESETS, REFINE_PRESETS, Quality

    shown = []
    for q in Quality:
        settings = PRESETS[q]
        if name == "refine":
            v: Any = REFINE_PRESETS.get(q, "off")
        else:
            v = settings.get(name)
        v = getattr(v, "value", v)
        shown.append(f"{q.value}: {'the model' + chr(39) + 's' if v is None else _show(v)}")
    return ", ".join(shown)


def job_file() -> str:
    """A complete job file (TOML) with every option at its default, each with its help, unit
    and allowed values; settings the quality preset decides are commented out. It loads as a
    job file (``posebatch run --job``) whose options are the defaults."""
    lines = ["# A posebatch job file: every option at its default (posebatch config).",
             "# Run it with `posebatch run --job FILE`; options given on the command line win.",
             "# Relative paths are relative to the folder you run from. Exit codes: 0 all ok,",
             "# 1 some inputs failed, 2 usage or configuration error, 3 interrupted (rerun to",
             "# resume).", ""]
    for section in SECTIONS:
        if section:
            lines += ["", f"[{section}]"]
        for o in options(section):
            lines += ["# " + line for line in _wrap(o.help, 86)]
            facts = [f"allowed: {o.allowed()}"]
            if o.unit:
                facts.insert(0, f"unit: {o.unit}")
            if o.preset:
                facts.append(f"default: {PRESET} ({_preset_values(o.name)})")
            lines += ["# " + line for line in _wrap("; ".join(facts), 86)]
            if o.default is None:
                example = _toml(_example(o))
                lines.append(f"# {o.name} = {example}")
            else:
                lines.append(f"{o.name} = {_toml(o.default)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _example(o: Option) -> Any:
    """A value to show for an option whose default is absent."""
    from ..engine.quality import DEFAULT_QUALITY, PRESETS, REFINE_PRESETS

    if o.name == "address":
        return "127.0.0.1:6379"
    if o.name == "start":
        return "12.5s"
    if o.name == "end":
        return "300f"
    if o.name == "videos":
        return {"clip.mp4": {"start": "1:30", "end": "2:45", "every": 2}}
    if o.name == "refine":
        return REFINE_PRESETS.get(DEFAULT_QUALITY, "off")
    v = PRESETS[DEFAULT_QUALITY].get(o.name)
    if o.name == "scales":
        return [1.0, 0.75]
    return 368 if v is None else getattr(v, "value", v)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def option_reference() -> str:
    """The options of a job as a Markdown reference (for the docs and ``jobs/README.md``):
    one table per section of a job file, with the command-line flag, type, default, unit and
    allowed values."""
    out = []
    for section in SECTIONS:
        title = "Top level" if not section else f"`[{section}]`"
        out += [f"#### {title}", "",
                "| key | command line | default | unit | allowed | what it does |",
                "|---|---|---|---|---|---|"]
        for o in options(section):
            flag = (f"`{o.cli}`" if o.kind != "bool" or o.name == "force"
                    else f"`{o.cli}/--no-{o.cli[2:]}`") if o.commands else (
                "arguments" if o.name == "inputs" else "`--out`" if o.name == "out" else "-")
            cmds = f" ({', '.join(o.commands)})" if o.commands else ""
            cell = lambda s: s.replace("|", "\\|")  # noqa: E731
            out.append(f"| `{o.name}` | {flag}{cmds} | {cell(o.shown_default())} | "
                       f"{o.unit or '-'} | {cell(o.allowed())} | {cell(o.help)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
