"""Regenerate the documents made from the option table (``posebatch.runner.options``):
the option list of ``jobs/README.md`` (between its ``options`` markers).

    python -m posebatch.cli.gendocs           # rewrite them
    python -m posebatch.cli.gendocs --check   # exit 1 when one is out of date (tests do this)
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..runner.options import option_reference

ROOT = Path(__file__).resolve().parents[2]
BEGIN = ("<!-- options: generated from posebatch/runner/options.py by "
         "`python -m posebatch.cli.gendocs`; do not edit by hand -->")
END = "<!-- end of options -->"


def with_reference(text: str) -> str:
    """``text`` with the part between the markers replaced by the current reference."""
    head, found, rest = text.partition(BEGIN)
    if not found:
        raise SystemExit(f"the marker {BEGIN!r} is missing")
    _, found, tail = rest.partition(END)
    if not found:
        raise SystemExit(f"the marker {END!r} is missing")
    return f"{head}{BEGIN}\n\n{option_reference()}\n{END}{tail}"


def targets(root: Path = ROOT) -> list[Path]:
    return [root / "jobs" / "README.md"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stale = []
    for path in targets():
        old = path.read_text()
        new = with_reference(old)
        if new != old:
            stale.append(path)
            if "--check" not in argv:
                path.write_text(new)
    verb = "out of date" if "--check" in argv else "rewritten"
    for path in stale:
        print(f"{path}: {verb}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main())
