"""MkDocs hook: the notebooks (notebooks/*.ipynb) as pages, with their figures.

The notebooks are stored without outputs (they run real jobs). Their figures come from
executed copies: set POSEBATCH_DOCS_NOTEBOOKS to a folder of executed notebooks of the same
names (the test suite executes each notebook once, checks it, and builds the site from those
copies: tests/test_docs.py). Without it the pages show the code and say how to get the
figures. Each notebook becomes notebooks/NAME.md: markdown cells as they are, code cells as
Python blocks, text output as text blocks, tables (pandas' HTML) as HTML, figures as PNG
files beside the page.
"""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ENV = "POSEBATCH_DOCS_NOTEBOOKS"


def _text(v) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def _fence(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n\n"


def convert(nb: dict, stem: str) -> tuple[str, dict[str, bytes], int]:
    """Markdown of a notebook, its figures {file name: PNG bytes}, and its output count."""
    md, figures, outputs = [], {}, 0
    for cell in nb["cells"]:
        src = _text(cell.get("source", ""))
        if cell["cell_type"] == "markdown":
            md.append(src.rstrip() + "\n\n")
            continue
        if cell["cell_type"] != "code":
            continue
        md.append(_fence(src, "python"))
        for out in cell.get("outputs", []):
            outputs += 1
            kind = out.get("output_type")
            if kind == "stream" and out.get("name") == "stderr":
                continue              # library logs (TensorFlow's start-up), not the results
            if kind == "stream":
                md.append(_fence(_text(out.get("text", ""))))
            elif kind == "error":
                md.append(_fence("\n".join(out.get("traceback", [])) or out.get("ename", "")))
            elif kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                if "image/png" in data:
                    name = f"{stem}_{len(figures) + 1}.png"
                    figures[name] = base64.b64decode(_text(data["image/png"]))
                    md.append(f"![figure {len(figures)}]({name})\n\n")
                elif "text/html" in data:
                    html = _text(data["text/html"]).strip()
                    md.append(f'<div class="nb-output">\n{html}\n</div>\n\n')
                elif "text/plain" in data:
                    md.append(_fence(_text(data["text/plain"])))
    return "".join(md), figures, outputs


def on_files(files, config):
    executed = os.environ.get(ENV)
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        source = Path(executed) / path.name if executed else path
        if not source.exists():
            source = path
        nb = json.loads(source.read_text())
        body, figures, outputs = convert(nb, path.stem)
        note = ""
        if not outputs:
            note = ("!!! note \"Figures\"\n    This page was built from the stored notebook, "
                    "which holds no outputs. Run it in Jupyter (after `./dev demo`) to see them, "
                    f"or build the site from executed copies (`{ENV}=FOLDER`, as the test "
                    "suite does).\n\n")
        page = (f"<!-- generated from notebooks/{path.name} by docs/hooks/notebooks.py -->\n"
                + note + body + f"\n*Source: `notebooks/{path.name}`.*\n")
        files.append(File.generated(config, f"notebooks/{path.stem}.md", content=page))
        for name, png in figures.items():
            files.append(File.generated(config, f"notebooks/{name}", content=png))
    return files
