"""Resolved settings, as frozen (hence picklable) dataclasses passed explicitly to every stage."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from ..errors import ConfigError


class Preprocess(str, Enum):
    """How a frame becomes the network input.

    ``reference``: stretch to 432x368 with cubic interpolation, as tf-pose-estimation (and the
    goldens) did. ``aspect``: keep the frame's aspect ratio at the network height, width rounded
    to a multiple of 8. ``area``: keep the frame's aspect ratio at the reference size's number
    of pixels (net_width x net_height), so the cost per frame does not depend on the video's
    shape and nobody is stretched (portrait phone video in reference mode is squeezed 3x).
    """

    REFERENCE = "reference"
    ASPECT = "aspect"
    AREA = "area"


class Precision(str, Enum):
    """The network's arithmetic. ``fp32``: as trained. ``bf16``: mixed precision in bfloat16
    (TensorFlow: oneDNN's graph rewrite; OpenVINO: its bf16 inference hint; needs a CPU with
    AVX512-BF16 or AMX, and is refused elsewhere: ``require_bf16``). ``int8``: refused with
    the measured reason (posebatch.engine.int8 and benchmarks/int8.py hold the study). ``auto``:
    with TensorFlow, bf16 where the CPU has it, else fp32; with OpenVINO or ``runtime =
    auto``, the fastest of fp32 and (where the CPU has it) bf16 measured on this machine
    (posebatch.engine.runtimes). Resolved once, on the machine that plans the job."""

    FP32 = "fp32"
    BF16 = "bf16"
    INT8 = "int8"      # refused: no INT8 configuration measured kept the people
    AUTO = "auto"


INT8_REFUSAL = ("precision int8 is not offered: no INT8 configuration measured so far keeps the "
                "people (with only the backbone quantised COCO AP drops 0.079 on the val images "
                "and 15% of keypoints move; with more, AP is 0): see README \"INT8\" for the "
                "measurements and benchmarks/int8.py to try again; use fp32, bf16 or auto")


class Runtime(str, Enum):
    """What runs the network. ``tensorflow``: the reference. ``openvino``: the same frozen
    graph converted by OpenVINO (its outputs compared with TensorFlow's, posebatch.engine.runtimes).
    ``auto``: the fastest of the two whose outputs match TensorFlow's, measured once per
    machine and model and cached; TensorFlow where OpenVINO is missing or unsupported."""

    TENSORFLOW = "tensorflow"
    OPENVINO = "openvino"
    AUTO = "auto"


def cpu_has_bf16() -> bool:
    """True when this CPU does bfloat16 natively (avx512_bf16 or amx_bf16 in /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:            # not Linux: no way to tell, so no
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


BF16_REFUSAL = ("precision bf16: this CPU does not do bfloat16 (no avx512_bf16 or amx_bf16 in "
                "/proc/cpuinfo): TensorFlow and OpenVINO would emulate it, slower than fp32, or "
                "(on AVX2 CPUs, measured) silently run fp32 and the tables would say bf16; use "
                "--precision fp32, or auto (bf16 where the CPU has it)")


def require_bf16() -> None:
    """Refuse bf16 where the CPU lacks it: asked for explicitly, it must not be fp32 in
    disguise (on an AVX2 CPU both runtimes' "bf16" outputs are fp32's, bit for bit)."""
    if not cpu_has_bf16():
        from ..errors import RuntimeUnavailableError

        raise RuntimeUnavailableError(BF16_REFUSAL)


def resolve_precision(p: "Precision | str") -> "Precision":
    p = Precision(p)
    if p is Precision.AUTO:
        return Precision.BF16 if cpu_has_bf16() else Precision.FP32
    if p is Precision.BF16:
        require_bf16()
    return p


class Coords(str, Enum):
    """Where in a peak's map cell the keypoint is reported (see README "Coordinates").

    ``center``: the centre of the image region the network output cell sampled (measured best).
    ``tfpose``: tf-pose-estimation's convention, column * image_w / map_w (the cell's corner).
    """

    CENTER = "center"
    TFPOSE = "tfpose"


class PersonScore(str, Enum):
    """How a person's score (the order COCO AP ranks detections in) is computed.

    ``openpose``: the parser's, the mean over found parts of part plus limb scores, as
    tf-pose-estimation. ``parts``: that times the fraction of the layout's parts found, so a
    whole person outranks a confident fragment (see README "Accuracy").
    """

    OPENPOSE = "openpose"
    PARTS = "parts"


@dataclass(frozen=True)
class ParserConfig:
    """Thresholds of the PAF parser (tf-pose-estimation's defaults).

    A limb candidate needs more than ``paf_count_thresh`` of its ``paf_steps`` samples with a
    PAF score above ``paf_score_thresh`` and a positive mean score; a person needs at least
    ``min_parts`` parts and a mean score of at least ``min_person_score``.
    """

    heat_thresh: float = 0.05
    paf_score_thresh: float = 0.05
    paf_count_thresh: int = 6
    paf_steps: int = 10
    min_parts: int = 4
    min_person_score: float = 0.3

    def __post_init__(self) -> None:
        if not 1 <= self.paf_steps <= 100:
            raise ConfigError(f"paf_steps must be in [1, 100], got {self.paf_steps}")
        if not 0 <= self.paf_count_thresh < self.paf_steps:
            raise ConfigError(
                f"paf_count_thresh must be in [0, paf_steps={self.paf_steps}), "
                f"got {self.paf_count_thresh}"
            )
        if self.min_parts < 2:
            raise ConfigError(f"min_parts must be at least 2, got {self.min_parts}")


@dataclass(frozen=True)
class PoseConfig:
    """Everything that decides which keypoints come out of a frame."""

    model: str = "mobilenet_thin"
    preprocess: Preprocess = Preprocess.REFERENCE
    net_width: int = 432       # reference mode only
    net_height: int = 368
    upsample: float = 4.0
    smooth_size: int = 25
    smooth_sigma: float = 3.0
    coords: Coords = Coords.CENTER
    parser: ParserConfig = field(default_factory=ParserConfig)
    precision: Precision = Precision.FP32      # resolved: fp32 or bf16, never auto
    runtime: Runtime = Runtime.TENSORFLOW      # resolved: tensorflow or openvino, never auto
    subpixel: bool = False          # refine peaks by a quadratic fit to the smoothed heatmap
    flip: bool = False              # also run the mirrored frame and average (test time)
    scales: tuple[float, ...] = (1.0,)   # network input heights, as multiples of net_height
    person_score: PersonScore = PersonScore.OPENPOSE

    def _resolve_runtime(self) -> None:
        """``auto`` runtime or precision -> what this machine runs (measured where it must
        be: posebatch.engine.runtimes); ``openvino`` where it cannot run, ``bf16`` where the
        CPU does not do it and ``int8`` are refused."""
        try:
            runtime, precision = Runtime(self.runtime), Precision(self.precision)
        except ValueError as exc:
            raise ConfigError(f"{exc}: runtime is tensorflow, openvino or auto; precision "
                              "fp32, bf16, int8 or auto") from None
        if precision is Precision.INT8:
            raise ConfigError(INT8_REFUSAL)
        if runtime is Runtime.TENSORFLOW:
            precision = resolve_precision(precision)
        else:   # checks OpenVINO is there; measures once per machine and model where it must
            from .runtimes import choose

            runtime, precision = choose(self.model, runtime, precision,
                                        (self.net_width, self.net_height))
        object.__setattr__(self, "runtime", runtime)
        object.__setattr__(self, "precision", precision)

    def __post_init__(self) -> None:
        object.__setattr__(self, "preprocess", Preprocess(self.preprocess))
        object.__setattr__(self, "coords", Coords(self.coords))
        object.__setattr__(self, "person_score", PersonScore(self.person_score))
        try:
            scales = tuple(float(s) for s in self.scales)
        except (TypeError, ValueError):
            raise ConfigError(f"scales must be a list of numbers, got {self.scales!r}") from None
        if not scales or scales[0] != 1.0 or not all(0.25 <= s <= 4 for s in scales):
            raise ConfigError(f"scales are network input heights relative to net_height: the "
                              f"first must be 1 (the grid the others are averaged onto), each "
                              f"in [0.25, 4]; got {list(scales)}")
        object.__setattr__(self, "scales", scales)
        if not 0.5 <= self.upsample <= 16:
            raise ConfigError(f"upsample must be in [0.5, 16], got {self.upsample}")
        for name in ("net_width", "net_height"):
            v = getattr(self, name)
            if v < 16 or v % 8:
                raise ConfigError(f"{name} must be a multiple of 8 and at least 16, got {v}")
        if self.smooth_size < 1 or self.smooth_size % 2 == 0:
            raise ConfigError(f"smooth_size must be odd and positive, got {self.smooth_size}")
        self._resolve_runtime()


@dataclass(frozen=True)
class RuntimeConfig:
    """How TensorFlow runs: thread pools per runner (0 lets TensorFlow decide). ``prefetch``:
    frames a chunk's decoding thread may run ahead of the network (0: decode in turn)."""

    intra_threads: int = 0
    inter_threads: int = 0
    prefetch: int = 0


@dataclass(frozen=True)
class TrackConfig:
    """How people are followed through a video, left/right swaps corrected and trajectories
    smoothed (``posebatch.track``). Durations are in seconds and frequencies in Hz, never in
    frames: frame rates vary between videos and within one (phone video).

    ``max_gap``: a person unseen for longer ends their track; one who comes back sooner keeps
    the id. ``min_seen``: a track is reported (gets an id) only when it was detected for at
    least this long, in two frames or more (the summed durations of the frames it was found
    in, each lasting until the next frame the network looked at); shorter ones are spurious
    detections and keep ``track`` null. ``min_similarity``: the keypoint similarity
    (OKS-like, 0..1) below which a detection never continues a track. ``swap_horizon``: a
    left/right relabelling is applied only where it removes at least one body height of jumps
    per ``swap_horizon`` seconds it lasts (brief swaps are corrected, long disagreements are
    left as the network saw them). ``fill_gap``: a keypoint missing for at most this long
    inside a track is interpolated (``filled``). ``cutoff``: the zero-lag 4th-order
    Butterworth low-pass applied to each keypoint's trajectory (0 turns smoothing off).
    """

    enabled: bool = True
    max_gap: float = 1.0
    min_seen: float = 0.3
    min_similarity: float = 0.2
    swap_horizon: float = 0.2
    fill_gap: float = 0.2
    cutoff: float = 6.0

    def __post_init__(self) -> None:
        for name in ("max_gap", "min_seen", "swap_horizon", "fill_gap", "cutoff"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise ConfigError(f"track.{name} must be a number of seconds (Hz for cutoff) "
                                  f">= 0, got {v!r}")
        if self.swap_horizon <= 0:
            raise ConfigError(f"track.swap_horizon must be > 0 s, got {self.swap_horizon}")
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"track.enabled must be true or false, got {self.enabled!r}")
        if (not isinstance(self.min_similarity, (int, float))
                or isinstance(self.min_similarity, bool) or not 0 < self.min_similarity <= 1):
            raise ConfigError(f"track.min_similarity must be in (0, 1], got "
                              f"{self.min_similarity!r}")


TOE_OFFS = ("picture", "ankle")


@dataclass(frozen=True)
class GaitConfig:
    """How walking is found and cut into events (``posebatch.gait``). Speeds and lengths are
    in body heights (the track's median standing height in pixels), so they hold at any
    distance from the camera; durations in seconds.

    ``contact_lag`` and ``toe_off_lag``: how late (in steps) the ankle's furthest point
    comes after the foot's real contact and toe-off, subtracted from the events' times
    (measured on the labelled clips of ``benchmarks/gait_set``; see the README). Contacts
    came 16 ms late on average over the 19 clips and 8 ms over their 12 mirrored passes,
    about 0.02 of a step between them; toe-offs 2 ms and 4 ms, left as they are. A step-to
    bout's contacts are not moved (``posebatch.gait.events.reported``).

    ``min_speed``: the mid-hip must move at least this fast horizontally (body heights/s) to
    count as walking. ``min_bout``: shortest walking stretch analysed (s). ``max_pause``:
    shorter interruptions (a missed hip, a slower step) do not split a bout (s).
    ``min_prominence``: an ankle's forward or backward extreme must stand out by this much
    (body heights) to be an event. ``min_spacing``: two events of one kind on one foot are at
    least this fraction of the walker's own stride time apart (their rhythm is measured per
    bout). ``height_m``: the walker's height, for lengths and speed in metres.

    ``toe_offs``: ``picture`` times each toe-off from the rear foot's toe tip in the video
    (``posebatch.gait.toe_tip``; where the foot is not found, or the video is gone, the
    ankle's time stays) and lets the soles in the video decide the sides of a bout the ankle
    labels leave uncertain (``posebatch.gait.near.picture_sides``), ``ankle`` from the ankle
    keypoint alone (no video read).
    """

    min_speed: float = 0.15
    min_bout: float = 1.0
    max_pause: float = 0.6
    min_prominence: float = 0.08
    min_spacing: float = 0.6
    contact_lag: float = 0.02
    toe_off_lag: float = 0.0
    height_m: float | None = None
    toe_offs: str = "picture"

    def __post_init__(self) -> None:
        if self.toe_offs not in TOE_OFFS:
            raise ConfigError(f"gait.toe_offs is one of {', '.join(TOE_OFFS)}, got "
                              f"{self.toe_offs!r}")
        for name in ("min_speed", "min_bout", "max_pause", "min_prominence", "min_spacing"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or v < 0:
                raise ConfigError(f"gait.{name} must be a number >= 0, got {v!r}")
        for name in ("contact_lag", "toe_off_lag"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not -0.5 <= v <= 0.5:
                raise ConfigError(f"gait.{name} is a fraction of a step between -0.5 and "
                                  f"0.5, got {v!r}")
        if self.height_m is not None and not 0.5 <= self.height_m <= 2.6:
            raise ConfigError(f"height_m is a person's height in metres (0.5-2.6), got "
                              f"{self.height_m!r}")
