"""The posebatch command line (Typer): one module per command group, each only parsing
options and calling the library. Importing a module registers its commands; the order below
is the order of ``posebatch --help`` (run first).

Conventions (docs/cli.md says the same for users):

- A command that reads a job takes its folder as the first argument: ``status OUT``,
  ``gait OUT``, ``render OUT``, ``report OUT``, ``export OUT``.
- ``--out`` (``-o``) is always where the command writes: the job's folder for ``run``,
  ``image``, ``live`` and ``demo``; the folder (or file) of the renders or exports for
  ``render`` and ``export`` (default: inside the job's folder).
- The options of a job (accuracy, threads, tracking, ...) are declared once, in
  ``posebatch.runner.options``: one name, meaning and default in every command and in job
  files (``posebatch config`` prints them all). Choices are listed in the help and matched
  in any case (``--quality Fast``); flags show no value; ``-h`` is ``--help``;
  ``--version`` prints the version.
- Every failure is one line (``error: ...``) saying what to do, and one of these exit codes:
  0 all ok; 1 some inputs failed (the job is done: the tables say which); 2 usage or
  configuration error, on the command line and in a job file alike (checked before anything
  is written); 3 interrupted or a resumable failure (Ctrl-C, disk full, the cluster lost):
  rerun the same command to resume.
"""
from . import jobs  # noqa: F401  run, status, demo, config
from . import gait  # noqa: F401  gait
from . import render  # noqa: F401  render, report
from . import export  # noqa: F401  export
from . import images  # noqa: F401  image, evaluate
from . import live  # noqa: F401  live
from . import bench  # noqa: F401  bench
from . import models  # noqa: F401  models list | pull | add
from .common import app

__all__ = ["app"]

if __name__ == "__main__":
    app()
