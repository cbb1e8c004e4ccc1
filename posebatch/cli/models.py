"""posebatch models list | pull | add."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import app, console, guard

models_app = typer.Typer(help="List, fetch and add pose models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list():
    """Known models: cached? verified?"""
    from ..errors import IntegrityError
    from ..models.fetch import model_path, verify
    from ..models.manifest import known_models

    with guard():
        t = Table("name", "layout", "input", "cached", "verified", "source")
        for name, spec in known_models().items():
            path = model_path(spec)
            cached = path.exists()
            status = ""
            if cached:
                try:
                    verify(path, spec.sha256, name, "")
                    status = "[green]sha256 ok[/green]" if spec.sha256 else "[yellow]no sha256 on record[/yellow]"
                except IntegrityError:
                    status = "[red]MISMATCH: run models pull[/red]"
            src = "added locally" if spec.added else (spec.sources[0].describe() if spec.sources else "")
            t.add_row(name, spec.layout, "x".join(map(str, spec.input_size)),
                      "yes" if cached else "no", status, src)
        console.print(t)


@models_app.command("pull")
def models_pull(name: Annotated[str, typer.Argument(help="Model name.")],
                force: Annotated[bool, typer.Option("--force", help="Fetch even when cached.")] = False):
    """Download a model into the cache and verify its sha256."""
    from ..models.fetch import pull_model

    with guard():
        path = pull_model(name, force=force)
    console.print(f"{name}: {path}")


@models_app.command("add")
def models_add(
    name: Annotated[str, typer.Argument(help="Name to use with --model.")],
    path: Annotated[Path, typer.Argument(help="A frozen graph (graph_opt.pb).")],
    input: Annotated[str, typer.Option(help="Input tensor.")] = "image:0",
    output: Annotated[str, typer.Option(help="Output tensor.")] = "Openpose/concat_stage7:0",
    width: Annotated[int, typer.Option(help="Default input width.")] = 432,
    height: Annotated[int, typer.Option(help="Default input height.")] = 368,
    layout: Annotated[str, typer.Option(help="Keypoint layout.")] = "coco18",
):
    """Add a local frozen graph with the same inputs and outputs; its sha256 is recorded."""
    from ..engine.infer import probe_graph
    from ..models.fetch import add_model

    with guard():
        spec = add_model(name, path, input, output, (width, height), layout, probe_graph)
    console.print(f"added {spec.name} (sha256 {spec.sha256})")
