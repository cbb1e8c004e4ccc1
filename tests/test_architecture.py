"""The package's shape: its import graph reads as layers, every import pointing down, no
cycle; no module name means two things; the Cython stubs match the compiled kernels and the
type checker passes over the package (at the strictness configured in pyproject.toml)."""
from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import types
from collections import defaultdict
from pathlib import Path

import pytest

from .helpers import REPO

PKG = REPO / "posebatch"
# Bottom to top. A module may import its own layer and the layers below it, never above.
LAYERS = [
    ("posebatch", "errors", "decode"),  # the foundation: version, the error family, decoding
    ("storage",),                       # schemas, atomic files, the output folder, its tables
    ("models",),                        # the manifest, fetching into the cache
    ("engine",),                        # frame in, people out
    ("track",),
    ("gait",),
    ("render",),
    ("runner",),                        # the jobs: video batch on Ray, images, renders, COCO
    ("export",),
    ("live",),
    ("bench",),
    ("cli", "__main__"),
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(mod: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported posebatch module, line, at import time) for every import in ``mod``."""
    is_pkg = path.name == "__init__.py"
    pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
    tree = ast.parse(path.read_text())
    top_level = {id(n) for n in tree.body} | {
        id(s) for n in tree.body if isinstance(n, (ast.If, ast.Try))
        for s in ast.walk(n) if isinstance(s, (ast.Import, ast.ImportFrom))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(pkg[: len(pkg) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = sub if sub in known else base
                if target.startswith("posebatch"):
                    found.append((target, node.lineno, id(node) in top_level))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("posebatch"):
                    found.append((alias.name, node.lineno, id(node) in top_level))
    return found


def _layer(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "posebatch"


def test_every_import_points_down_the_layers():
    mods = _modules()
    assert {_layer(m) for m in mods} <= set(RANK), "a new top-level module needs a layer here"
    wrong = []
    for mod, path in mods.items():
        for target, line, _ in _imports(mod, path, set(mods)):
            if RANK[_layer(target)] > RANK[_layer(mod)]:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert not wrong, "imports that point up the layers:\n" + "\n".join(wrong)


def test_no_import_cycle_between_modules():
    """Import-time imports (module level) form no cycle; neither do the packages when the
    imports inside functions are counted too."""
    mods = _modules()
    graph = defaultdict(set)
    for mod, path in mods.items():
        for target, _, at_import in _imports(mod, path, set(mods)):
            if at_import and target != mod and not mod.startswith(target + "."):
                graph[mod].add(target)

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return trail + [nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
        return None

    cycles = [c for m in mods if (c := cycle_from(m))]
    assert not cycles, "import cycle: " + " -> ".join(cycles[0])


def test_no_module_name_means_two_things():
    """Outside cli/ (whose modules are named after the command groups they parse), a module
    name is used once."""
    names = defaultdict(list)
    for path in PKG.rglob("*.py"):
        if path.name != "__init__.py" and "cli" not in path.relative_to(PKG).parts[:1]:
            names[path.stem].append(str(path.relative_to(REPO)))
    twice = {k: v for k, v in names.items() if len(v) > 1}
    assert not twice, f"module names used twice: {twice}"


@pytest.mark.parametrize("name", ["_paf", "_upsample"])
def test_cython_stubs_match_the_compiled_kernels(name):
    compiled = importlib.import_module(f"posebatch.engine.{name}")
    stub = ast.parse((PKG / "engine" / f"{name}.pyi").read_text())
    stubbed = {n.name: n for n in stub.body if isinstance(n, ast.FunctionDef)}
    public = {k for k, v in vars(compiled).items() if callable(v) and not k.startswith("_")
              and not isinstance(v, types.ModuleType)}
    assert set(stubbed) == public
    for fname, node in stubbed.items():
        params = list(inspect.signature(getattr(compiled, fname)).parameters)
        assert [a.arg for a in node.args.args] == params, fname


def test_type_checker_passes_over_the_package():
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
