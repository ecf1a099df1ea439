"""``python -m bench NAME [ARGS...]``: run the benchmark module ``bench.NAME``.

A benchmark module exposes ``main(argv: list[str]) -> int`` and a docstring whose first line
describes it; ``python -m bench`` alone lists them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> dict[str, str]:
    found = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if hasattr(module, "main"):
            found[info.name] = (module.__doc__ or "").strip().splitlines()[0]
    return found


def main(argv: list[str]) -> int:
    benches = available()
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: python -m bench NAME [ARGS...]\n\nbenchmarks:")
        for name, doc in sorted(benches.items()):
            print(f"  {name:12} {doc}")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in benches:
        print(f"python -m bench: no benchmark {name!r} (have: {', '.join(sorted(benches))})",
              file=sys.stderr)
        return 2
    return int(importlib.import_module(f"bench.{name}").main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
