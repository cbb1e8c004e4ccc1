"""The posebatch command line (Typer): what every command group shares. Library errors become
one clear line and exit code 1 (3: the cluster lost the job's nodes, resumable); ``--debug``
shows the traceback instead."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from ..engine.config import Coords, PersonScore, Precision, Preprocess, Runtime, RuntimeConfig
from ..errors import ConfigError, PosebatchError
from ..engine.quality import Quality
from ..engine.refine import Refine

app = typer.Typer(help="Batch human-pose analytics over images and videos.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

console = Console()
err = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
          verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False):
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO if verbose else
                        logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@contextlib.contextmanager
def guard():
    try:
        yield
    except (PosebatchError, FileNotFoundError) as exc:
        if _state["debug"]:
            raise
        from rich.markup import escape     # a job file's [table] names are not markup

        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(getattr(exc, "exit_code", 1)) from None


ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (posebatch models list).")]
QUALITY_PANEL = "Accuracy and cost"     # the help panel of the settings below
QualityOpt = Annotated[Quality, typer.Option(
    "--quality", help="fast | balanced | accurate | reference (tf-pose-estimation exactly): a "
    "bundle of the settings below, chosen from the measured speed/accuracy curve (README); "
    "any of them given on its own wins.", rich_help_panel=QUALITY_PANEL)]
PreOpt = Annotated[Optional[Preprocess], typer.Option(
    "--preprocess", help="reference: stretch to the model's input shape (tf-pose-estimation); "
    "aspect: keep the frame's aspect ratio at --height; area: keep it at the pixel count of "
    "the model's shape at --height.", show_default=False, rich_help_panel=QUALITY_PANEL)]
HeightOpt = Annotated[Optional[int], typer.Option(
    "--height", help="Network input height in pixels (a multiple of 8; area mode: the height "
    "of the model's shape whose pixel count is kept).", show_default=False,
    rich_help_panel=QUALITY_PANEL)]
UpOpt = Annotated[Optional[float], typer.Option(
    "--upsample", help="Heatmap upsampling ratio.", show_default=False, rich_help_panel=QUALITY_PANEL)]
CoordsOpt = Annotated[Optional[Coords], typer.Option(
    "--coords", help="center: the centre of the region a peak's cell saw (best AP); tfpose: "
    "tf-pose-estimation's corner convention.", show_default=False, rich_help_panel=QUALITY_PANEL)]
PrecisionOpt = Annotated[Optional[Precision], typer.Option(
    "--precision", help="fp32 | bf16 (mixed precision: fast on CPUs with AVX512-BF16 or AMX) | "
    "int8 (refused: it did not keep the people, README \"INT8\") | auto (TensorFlow: bf16 "
    "where the CPU has it; OpenVINO or --runtime auto: the fastest measured here).",
    show_default=False, rich_help_panel=QUALITY_PANEL)]
RuntimeOpt = Annotated[Optional[Runtime], typer.Option(
    "--runtime", help="tensorflow (the reference) | openvino (the same graph, OpenVINO's CPU "
    "plugin) | auto (the fastest whose outputs match TensorFlow's, measured once per machine "
    "and model).", show_default=False, rich_help_panel=QUALITY_PANEL)]
SubpixelOpt = Annotated[Optional[bool], typer.Option(
    "--subpixel/--no-subpixel", help="Refine each keypoint inside its heatmap cell.",
    show_default=False, rich_help_panel=QUALITY_PANEL)]
FlipOpt = Annotated[Optional[bool], typer.Option(
    "--flip/--no-flip", help="Also run the mirrored frame and average (about 2 x the "
    "network's cost).", show_default=False, rich_help_panel=QUALITY_PANEL)]
ScalesOpt = Annotated[Optional[str], typer.Option(
    "--scales", help="Input scales to average, relative to --height, the first 1: e.g. "
    "1,0.75 (cost grows with their squares' sum).", show_default=False, rich_help_panel=QUALITY_PANEL)]
PersonScoreOpt = Annotated[Optional[PersonScore], typer.Option(
    "--person-score", help="openpose: the parser's score; parts: times the fraction of parts "
    "found.", show_default=False, rich_help_panel=QUALITY_PANEL)]
RefineOpt = Annotated[Optional[Refine], typer.Option(
    "--refine", help="people: a second look at each person, cropped from the full-resolution "
    "frame (about one more network run per person; on in accurate); off: one pass.",
    show_default=False, rich_help_panel=QUALITY_PANEL)]
ThreadsOpt = Annotated[int, typer.Option("--threads", help="TensorFlow intra-op threads "
                       "(0: TensorFlow decides).")]


def parse_scales(text: str | None) -> tuple[float, ...] | None:
    """``--scales 1,0.75`` -> (1.0, 0.75)."""
    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise ConfigError(f"--scales takes numbers separated by commas (e.g. 1,0.75), got "
                          f"{text!r}") from None


def pose_overrides(preprocess=None, height=None, upsample=None, coords=None, precision=None,
                   subpixel=None, flip=None, scales=None, person_score=None,
                   runtime=None) -> dict[str, Any]:
    """The accuracy settings given on the command line (None: the preset's)."""
    return dict(preprocess=preprocess, height=height, upsample=upsample, coords=coords,
                precision=precision, subpixel=subpixel, flip=flip,
                scales=parse_scales(scales), person_score=person_score, runtime=runtime)


def estimator(model: str, quality: Quality | None = None, threads: int = 0,
              **overrides: Any):
    """An Estimator for ``model`` at ``quality`` with the given settings on top."""
    from ..engine.estimator import Estimator
    from ..models.manifest import get_model
    from ..engine.quality import resolve

    spec = get_model(model)
    cfg = resolve(quality, spec.name, spec.input_size, **overrides)
    return Estimator(spec, cfg, RuntimeConfig(intra_threads=threads))


def resolve_asset(name: str) -> Path:
    from ..models.fetch import ensure_asset
    from ..models.manifest import get_asset

    return ensure_asset(get_asset(name))
