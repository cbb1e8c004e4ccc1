"""The posebatch command line (Typer): what every command shares.

- The options of a job are declared once, in ``posebatch.runner.options``; :func:`command`
  adds those a command takes to its Typer signature and hands their checked values over as
  :class:`Given`.
- Every failure is one line on stderr (``error: ...``, Rich markup escaped) and an exit code
  (:data:`EXIT_CODES`); ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import contextlib
import enum
import errno
import functools
import inspect
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Optional, get_type_hints

import typer
from typer import _click as click     # Typer's own Click: its exceptions are these
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup, TyperOption

from ..errors import PosebatchError
from ..runner import options as table

# The exit codes of every command (README, docs/cli.md, posebatch --help).
OK, INPUTS_FAILED, USAGE, INTERRUPTED = 0, 1, 2, 3
EXIT_CODES = {OK: "all ok", INPUTS_FAILED: "some inputs failed (the job is done; see its tables)",
              USAGE: "usage or configuration error (command line and job file alike): "
                     "nothing was written",
              INTERRUPTED: "interrupted or a resumable failure (Ctrl-C, disk full, cluster "
                           "lost): rerun the same command to resume"}

CONVENTION = """\
Conventions: commands that read a job take its folder first (posebatch gait JOB); --out is
always where a command writes; an option has one name, meaning and default everywhere
(posebatch config lists them); choices are case-insensitive. Exit codes: 0 all ok, 1 some
inputs failed, 2 usage or configuration error, 3 interrupted or resumable (rerun)."""
CONVENTION = " ".join(CONVENTION.split())      # one paragraph, wrapped to the terminal


class _Group(TyperGroup):
    """The top-level group: commands in the order they are registered (run first), usage
    errors as one line with exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:       # a command that does not say more itself
            raise fail("interrupted", INTERRUPTED) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            if not standalone_mode:
                raise
            if exc.ctx is not None:
                exc.ctx.get_help()      # Rich prints it
            sys.exit(USAGE)
        except click.ClickException as exc:
            if not standalone_mode:
                raise
            ctx = getattr(exc, "ctx", None)
            hint = (f" (see {ctx.command_path} --help)" if ctx is not None else "")
            message = " ".join(exc.format_message().replace("Value error, ", "").split())
            err.print(f"[red]error:[/red] {escape(message)}{escape(hint)}", highlight=False)
            sys.exit(USAGE)
        except typer.Abort:
            if not standalone_mode:
                raise
            err.print("[yellow]interrupted[/yellow]")
            sys.exit(INTERRUPTED)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else OK)


# Flags take no value: no "<bool>" after them in the help.
_display_type = TyperOption.display_type_rich
TyperOption.display_type_rich = (  # type: ignore[method-assign]
    lambda self, ctx: None if self.is_flag else _display_type(self, ctx))


app = typer.Typer(cls=_Group, help="Batch human-pose analytics over images and videos.",
                  epilog=CONVENTION, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})

console = Console()
err = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        console.print(f"posebatch {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
          verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
          version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False):
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO if verbose else
                        logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def fail(message: str, code: int = USAGE) -> typer.Exit:
    """Print ``message`` as the one error line; the Exit to raise."""
    err.print(f"[red]error:[/red] {escape(' '.join(str(message).split()))}", highlight=False)
    return typer.Exit(code)


def exit_code(exc: BaseException) -> int:
    """The exit code of a library error (posebatch.errors say theirs)."""
    if isinstance(exc, PosebatchError):
        return getattr(exc, "exit_code", USAGE)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return INTERRUPTED
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return USAGE        # a path given on the command line that is not there
    return INPUTS_FAILED


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PosebatchError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or exc}: no such file or folder"
    if isinstance(exc, OSError):
        what = f"{exc.filename}: " if exc.filename else ""
        resume = ("; free some space and rerun the same command to resume"
                  if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "")
        return f"{what}{exc.strerror or exc}{resume}"
    return str(exc)


@contextlib.contextmanager
def guard():
    """Library errors (and OS errors) -> one line and their exit code."""
    try:
        yield
    except (PosebatchError, OSError) as exc:
        if _state["debug"]:
            raise
        raise fail(_describe(exc), exit_code(exc)) from None


# ---- the options of the table as Typer parameters -------------------------------------------

_ENUMS: dict[str, type[enum.Enum]] = {}


def choice_enum(name: str, choices: tuple[str, ...]) -> type[enum.Enum]:
    """A str Enum of ``choices`` (Typer lists them in the help and matches any case)."""
    key = f"{name}:{','.join(choices)}"
    if key not in _ENUMS:
        _ENUMS[key] = enum.Enum(name.title().replace("_", ""),  # type: ignore[misc]
                                {c: c for c in choices}, type=str)
    return _ENUMS[key]


def _help(o: table.Option) -> str:
    text = o.help
    if o.kind in ("int", "float", "floats") and (o.low is not None or o.high is not None
                                                 or o.step):
        text += f" Allowed: {o.allowed()}."
    if o.unit and o.unit != "path":
        text += f" Unit: {o.unit}."
    if o.kind == "bool" and o.default is False:
        return escape(text)
    return escape(text) + f" \\[default: {escape(o.shown_default())}]"


def _parameter(o: table.Option) -> inspect.Parameter:
    panel = o.panel
    if o.kind == "bool" and o.default is False:
        kind, default, decl = bool, False, (o.cli,)
    elif o.kind == "bool":
        kind, default, decl = Optional[bool], None, (f"{o.cli}/--no-{o.cli[2:]}",)
    else:
        base = {"int": int, "float": float, "str": str, "floats": str, "strs": str,
                "position": str,
                "choice": choice_enum(o.name, o.choices) if o.choices else str}[o.kind]
        kind, default, decl = Optional[base], None, (o.cli,)
    if o.short:
        decl = (*decl, o.short)
    info = typer.Option(*decl, help=_help(o), show_default=False, rich_help_panel=escape(panel),
                        case_sensitive=False)
    return inspect.Parameter(o.param, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[kind, info])  # type: ignore[valid-type]


class Given(dict):
    """The table's options given on a command line, checked (key: ``name`` or
    ``track.name``), with the table's defaults for the rest."""

    def value(self, key: str) -> Any:
        return self[key] if key in self else table.BY_KEY[key].default

    def section(self, section: str = "") -> dict[str, Any]:
        """The given options of one section of a job file (key: the name in it)."""
        return {table.BY_KEY[k].name: v for k, v in self.items()
                if table.BY_KEY[k].section == section}

    def pose(self) -> dict[str, Any]:
        """The accuracy settings given (for posebatch.engine.quality.resolve)."""
        from ..engine.quality import SETTINGS

        return {k: v for k, v in self.items() if k in SETTINGS}


def command(name: str | None = None, **kw: Any):
    """``app.command``, with the options of the table this command takes added to its
    signature; they arrive checked as ``opts`` (a :class:`Given`)."""
    def deco(fn):
        cmd = name or fn.__name__
        hints = get_type_hints(fn, include_extras=True)
        sig = inspect.signature(fn)
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in sig.parameters.values() if p.name != "opts"]
        declared = table.for_command(cmd)
        added = [_parameter(o) for o in declared]

        @functools.wraps(fn)
        def wrapper(*args, **values):
            given = Given()
            for o in declared:
                v = values.pop(o.param)
                if v is None or (o.kind == "bool" and o.default is False and v is False):
                    continue
                try:
                    given[o.key] = table.check(o, v, cli=True)
                except PosebatchError as exc:
                    raise fail(str(exc)) from None
            return fn(*args, **values, opts=given)

        params = own + added
        wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        del wrapper.__wrapped__
        return app.command(cmd, **kw)(wrapper)
    return deco


def estimator(opts: Given, resolved=None):
    """An Estimator for the given model, quality and settings (the presets' for the rest);
    ``resolved``: their :func:`model_config` when already made."""
    from ..engine.config import RuntimeConfig
    from ..engine.estimator import Estimator

    return Estimator(*(resolved or model_config(opts)),
                     RuntimeConfig(intra_threads=opts.value("threads")))


def model_config(opts: Given):
    """The model's spec and the PoseConfig of the given quality and settings."""
    from ..engine.quality import resolve
    from ..models.manifest import get_model

    spec = get_model(opts.value("model"))
    return spec, resolve(opts.value("quality"), spec.name, spec.input_size, **opts.pose())


def resolve_asset(name: str) -> Path:
    from ..models.fetch import ensure_asset
    from ..models.manifest import get_asset

    return ensure_asset(get_asset(name))
