"""MkDocs hook: the reference pages, generated from the code at build time.

docs/reference/tables.md   the Arrow schemas of every table (type, unit, meaning, axes)
docs/reference/options.md  every job option (job file key, default, unit, allowed values)
docs/reference/cli.md      every command and option, walked from the Typer app's click tree

Nothing here is written to disk: the pages exist only in the built site. When a module moves,
change the import path in SOURCES and nothing else.
"""
from __future__ import annotations

import importlib
import logging
from typing import Any

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.reference")

# Where each page's source lives: "module:attribute".
SOURCES = {
    "tables": "posebatch.storage.schemas:table_reference",
    "axes": "posebatch.storage.schemas:AXES",
    "gait_tables": "posebatch.gait.schema:table_reference",
    "gait_mean_of": "posebatch.gait.schema:MEAN_OF",
    "options": "posebatch.runner.options:option_reference",
    "cli": "posebatch.cli:app",
}


def source(name: str) -> Any:
    module, attr = SOURCES[name].split(":")
    return getattr(importlib.import_module(module), attr)


def _cell(v: Any) -> str:
    if v is None or v == "":
        return ""
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _schema_section(t: dict) -> str:
    rows = [[f"`{c['name']}`", c["type"] + ("" if c["nullable"] else ", never null"),
             c["unit"], c["meaning"]] for c in t["columns"]]
    return (f"### `{t['name']}`\n\n`{t['where']}`: {t['row']}. Schema version "
            f"`{t['version']}` (in each file's metadata, `posebatch.schema`).\n\n"
            + _table(["column", "type", "unit", "meaning"], rows) + "\n")


def tables_page() -> str:
    tables, gait = source("tables")(), source("gait_tables")()
    mean_of = source("gait_mean_of")
    parts = [
        "# Table schemas\n\n",
        "Generated from the Arrow schemas in the package when the site is built. Every file is "
        "written with exactly its schema whatever the data (zero rows, or nulls where there is "
        "no number), so the files of many videos and jobs read as one dataset. Names "
        "(`video`, `part`, `status`, ...) are dictionary-encoded: categoricals in pandas. "
        "Each field's unit and meaning are also in the files "
        "(`pyarrow.parquet.read_schema(path).field(\"x\").metadata`) where the schema "
        "declares them. Each file's metadata also holds `posebatch.schema` (`TABLE/VERSION`; "
        "`tables.load` refuses an older version until the job is rerun, which rewrites the "
        "tables from the stored chunks without inference) and `posebatch.params` (in the "
        "videos index: every option, the resolved pose settings, the model's name and sha256, "
        "the library versions; in a video's files: what their content depends on).\n\n",
        "!!! note \"Axes\"\n    " + source("axes") + " Segment angles in the gait tables are "
        "the exception: anticlockwise from the image's horizontal with y up, as in "
        "biomechanics.\n\n",
        "## The job's tables (`posebatch run`, `posebatch live`)\n\n",
        *[_schema_section(t) for t in tables if not t["name"].startswith("image")],
        "## Gait tables (`posebatch gait`)\n\n",
        "Every gait table starts with `video` and `track`. Names: a per-stride value in "
        "`strides` has the plain name (`stride_time`, its unit in the unit column); the "
        "`bouts` and `summary` figures that average it carry the unit in their name:\n\n",
        _table(["bouts / summary column", "mean of strides column"],
               [[f"`{k}`", f"`{v}`"] for k, v in mean_of.items()]) + "\n",
        *[_schema_section(t) for t in gait],
        "## Image tables (`posebatch image`)\n\n",
        *[_schema_section(t) for t in tables if t["name"].startswith("image")],
    ]
    return "".join(parts)


def options_page() -> str:
    """The option table's own Markdown (posebatch.runner.options: the one declaration that
    also makes the command-line options, checks job files and prints ``posebatch config``)."""
    return ("# Job options\n\n"
            "Generated from the option table when the site is built. These are the keys of a "
            "TOML job file (`posebatch run --job FILE`); `[track]` keys go in its `[track]` "
            "table. The same options exist on the command line as the flag shown; a "
            "command-line option wins over the job file. An unknown key is an error naming the "
            "closest one. `posebatch config` prints a complete, commented job file with every "
            "option at its default.\n\n"
            + source("options")()
            + "\nAn example job file:\n\n```toml\ninputs = [\"videos/session1\"]\n"
              "out = \"results/session1\"\nquality = \"accurate\"\nchunk = 64\n\n[track]\n"
              "max_gap = 1.0\ncutoff = 6\n```\n")


def cli_page() -> str:
    """Typer's own Markdown for the app (what `typer posebatch.cli utils docs` prints)."""
    import typer
    import typer.main
    from typer.cli import get_docs_for_click

    command = typer.main.get_command(source("cli"))
    md = get_docs_for_click(obj=command, ctx=typer.Context(command), name="posebatch",
                            title="Command reference")
    head, _, rest = md.partition("\n")
    return (head + "\n\nGenerated from the command line's own definitions (Typer) when the "
            "site is built; `posebatch COMMAND --help` prints the same. `--debug` and "
            "`--verbose` go before the command (`posebatch --debug run ...`).\n" + rest)


PAGES = {"reference/tables.md": tables_page, "reference/options.md": options_page,
         "reference/cli.md": cli_page}


def on_files(files, config):
    for uri, make in PAGES.items():
        files.append(File.generated(config, uri, content=make()))
    return files
