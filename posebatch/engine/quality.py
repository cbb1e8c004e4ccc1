"""Quality presets: named bundles of the settings that trade speed for accuracy, each chosen
from the measured speed/accuracy curve (benchmarks/accuracy.py; README "Accuracy you can
choose"). An option given on its own always wins over the preset's value; the resolved
settings are what a job records in its manifest and tables."""
from __future__ import annotations

from enum import Enum
from typing import Any

from .config import Coords, PersonScore, PoseConfig, Precision, Preprocess, Runtime
from ..errors import ConfigError


class Quality(str, Enum):
    """``fast``: the quickest setting within 0.01 AP of the previous default (its runtime and
    precision measured per machine). ``balanced``
    (default): more accurate than the previous default at no more than 1.3 x its cost per
    frame. ``accurate``: the best AP measured at no more than 4 x that cost. ``reference``:
    tf-pose-estimation's pipeline exactly (432x368 stretched, upsample 4, its corner
    coordinates), the one the golden tests compare against."""

    FAST = "fast"
    BALANCED = "balanced"
    ACCURATE = "accurate"
    REFERENCE = "reference"


DEFAULT_QUALITY = Quality.BALANCED

# The settings a preset fixes. ``height`` is the network input height (None: the model's);
# in reference mode the width follows at the model's aspect ratio.
PRESETS: dict[Quality, dict[str, Any]] = {
    Quality.REFERENCE: dict(preprocess=Preprocess.REFERENCE, height=None, upsample=4.0,
                            coords=Coords.TFPOSE, precision=Precision.FP32, subpixel=False,
                            flip=False, scales=(1.0,), person_score=PersonScore.OPENPOSE,
                            runtime=Runtime.TENSORFLOW),
    # the previous default's network in the fastest runtime and precision measured on this
    # machine among those within 0.01 AP of fp32 (TensorFlow or OpenVINO, fp32 or bf16 where
    # the CPU does it natively; int8 did not keep the people: README "INT8"); no smaller
    # input kept its AP on the val images; sub-pixel peaks for free
    Quality.FAST: dict(preprocess=Preprocess.REFERENCE, height=None, upsample=4.0,
                       coords=Coords.CENTER, precision=Precision.AUTO, subpixel=True,
                       flip=False, scales=(1.0,), person_score=PersonScore.OPENPOSE,
                       runtime=Runtime.AUTO),
    # the previous default's network, peaks on a twice finer grid, refined inside their cell
    Quality.BALANCED: dict(preprocess=Preprocess.REFERENCE, height=None, upsample=8.0,
                           coords=Coords.CENTER, precision=Precision.FP32, subpixel=True,
                           flip=False, scales=(1.0,), person_score=PersonScore.OPENPOSE,
                           runtime=Runtime.AUTO),
    # and the mirrored frame averaged in
    Quality.ACCURATE: dict(preprocess=Preprocess.REFERENCE, height=None, upsample=8.0,
                           coords=Coords.CENTER, precision=Precision.FP32, subpixel=True,
                           flip=True, scales=(1.0,), person_score=PersonScore.OPENPOSE,
                           runtime=Runtime.AUTO),
}

SETTINGS = tuple(PRESETS[Quality.REFERENCE])


def resolve(quality: Quality | str | None, model: str, input_size: tuple[int, int],
            **overrides: Any) -> PoseConfig:
    """The PoseConfig of ``quality`` (default: balanced) for a model whose input is
    ``input_size`` (width, height), with every override that is not None on top."""
    q = Quality(quality) if quality is not None else DEFAULT_QUALITY
    unknown = set(overrides) - set(SETTINGS)
    if unknown:
        raise ConfigError(f"unknown pose setting(s) {', '.join(sorted(unknown))}; known: "
                          f"{', '.join(SETTINGS)}")
    s = {**PRESETS[q], **{k: v for k, v in overrides.items() if v is not None}}
    model_w, model_h = input_size
    height = s.pop("height") or model_h
    if not isinstance(height, int) or isinstance(height, bool) or height < 16 or height % 8:
        raise ConfigError(f"height (network input) must be a multiple of 8 of at least 16 "
                          f"pixels, got {height!r}")
    width = max(16, int(round(model_w * height / model_h / 8.0)) * 8)
    return PoseConfig(model=model, net_width=width, net_height=height, **s)


def describe(config: PoseConfig) -> str:
    """One line naming the settings that decide accuracy and cost."""
    size = {Preprocess.REFERENCE: f"{config.net_width}x{config.net_height}",
            Preprocess.ASPECT: f"height {config.net_height}, aspect kept",
            Preprocess.AREA: f"{config.net_width}x{config.net_height}'s pixels, aspect kept",
            }[config.preprocess]
    parts = [config.preprocess.value, size, f"upsample {config.upsample:g}",
             f"{config.runtime.value} {config.precision.value}",
             f"{config.coords.value} coordinates"]
    if config.subpixel:
        parts.append("sub-pixel peaks")
    if config.flip:
        parts.append("flip")
    if len(config.scales) > 1:
        parts.append("scales " + "/".join(f"{s:g}" for s in config.scales))
    if config.person_score is not PersonScore.OPENPOSE:
        parts.append(f"person score {config.person_score.value}")
    return ", ".join(parts)


# The second look at each person (posebatch.engine.refine) per preset: worth its cost (about one
# network run per person and frame) where accuracy comes first.
REFINE_PRESETS = {Quality.ACCURATE: "people"}


def resolve_refine(quality: Quality | str | None, refine: str | None = None,
                   **settings: Any):
    """The RefineConfig of ``quality`` (``people`` for accurate, else ``off``), ``refine``
    (off | people) winning when given; ``settings`` (margin, ...) on top. ``reference``
    never refines unless asked: it is tf-pose-estimation's pipeline exactly."""
    from .refine import Refine, RefineConfig

    q = Quality(quality) if quality is not None else DEFAULT_QUALITY
    mode = refine if refine is not None else REFINE_PRESETS.get(q, "off")
    return RefineConfig(mode=Refine(mode),
                        **{k: v for k, v in settings.items() if v is not None})
