"""The posebatch command line (Typer): one module per command group, each only parsing
options and calling the library. Importing a module registers its commands; the order below
is the order of ``posebatch --help``."""
from . import images  # noqa: F401  image, evaluate
from . import jobs  # noqa: F401  run, status, demo
from . import live  # noqa: F401  live
from . import gait  # noqa: F401  gait
from . import render  # noqa: F401  render
from . import export  # noqa: F401  export
from . import bench  # noqa: F401  bench
from . import models  # noqa: F401  models list | pull | add
from .common import app

__all__ = ["app"]

if __name__ == "__main__":
    app()
