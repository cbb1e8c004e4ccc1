"""The posebatch command line (Typer): what every command group shares. Library errors become
one clear line and exit code 1; ``--debug`` shows the traceback instead."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config import Coords, PoseConfig, Precision, Preprocess, RuntimeConfig
from ..errors import PosebatchError

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
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (posebatch models list).")]
PreOpt = Annotated[Preprocess, typer.Option("--preprocess", help="reference: stretch to the "
                   "model's input size (tf-pose-estimation); aspect: keep the aspect ratio.")]
UpOpt = Annotated[float, typer.Option("--upsample", help="Heatmap upsampling ratio.")]
CoordsOpt = Annotated[Coords, typer.Option("--coords", help="center: the centre of the "
                      "region a peak's cell saw (best AP); tfpose: tf-pose-estimation's corner "
                      "convention.")]
PrecisionOpt = Annotated[Precision, typer.Option(
    "--precision", help="fp32 | bf16 (oneDNN mixed precision: fast on CPUs with AVX512-BF16 "
    "or AMX) | auto (bf16 where the CPU has it).")]
ThreadsOpt = Annotated[int, typer.Option("--threads", help="TensorFlow intra-op threads "
                       "(0: TensorFlow decides).")]


def estimator(model: str, preprocess: Preprocess, upsample: float, threads: int = 0,
               coords: Coords = Coords.CENTER, precision: Precision = Precision.FP32):
    from ..estimator import Estimator
    from ..models import get_model

    spec = get_model(model)
    cfg = PoseConfig(model=spec.name, preprocess=preprocess, net_width=spec.input_size[0],
                     net_height=spec.input_size[1], upsample=upsample, coords=coords,
                     precision=precision)
    return Estimator(spec, cfg, RuntimeConfig(intra_threads=threads))


def resolve_asset(name: str) -> Path:
    from ..fetch import ensure_asset
    from ..models import get_asset

    return ensure_asset(get_asset(name))
