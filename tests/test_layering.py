"""Imports run one way (DESIGN.md, Layout), lazy imports inside functions included.

Each top-level part of ``roma_nb`` may import only the parts listed for it. The rules say what
the design says: the history depends only on the models; the sandbox is a separate server that
never imports the client side; the CLI and the demo sit on top and nothing imports them (but
``__main__`` entry points, which are command lines themselves).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "roma_nb"

FOUNDATION = {"errors", "ids", "models"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "ids": {"errors"},
    "models": set(),
    "dates": {"errors"},
    "auth": {"errors", "ids", "transport"},
    "endpoints": {"errors"},
    "transport": set(),
    "config": FOUNDATION | {"auth", "endpoints"},
    "client": FOUNDATION | {"dates", "endpoints", "procedure", "transport"},
    "procedure": FOUNDATION | {"dates"},
    "plots": FOUNDATION,
    "history": {"errors", "models"},
    "plans": FOUNDATION | {"dates"},
    "panel": FOUNDATION | {"dates", "client", "history", "plans", "procedure"},
    "widgets": FOUNDATION | {"dates", "client", "history", "panel", "plans", "procedure"},
    "connection": FOUNDATION | {"auth", "config", "client", "sandbox"},
    "sandbox": {"ids", "models"},
    "cli": FOUNDATION
    | {
        "dates",
        "auth",
        "config",
        "client",
        "history",
        "connection",
        "sandbox",
        "demo",
        "procedure",
        "plans",
    },
    "demo": set(),
    "_check_notebooks": set(),
}


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported_parts(path: Path) -> set[str]:
    """The top-level parts of roma_nb that ``path`` imports, at any depth in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package_parts[: len(package_parts) - node.level + 1])
                module = [*base, *(node.module.split(".") if node.module else [])]
                if len(module) == 1:  # "from .. import x": x is the part
                    names = [f"roma_nb.{alias.name}" for alias in node.names]
                else:
                    names = [".".join(module)]
            elif node.module:
                names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "roma_nb" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    part = part_of(path)
    assert part in ALLOWED, f"{part} is a new part of roma_nb: give it a rule here"
    allowed = ALLOWED[part] | {part}
    if path.name == "__main__.py":
        allowed |= {"cli"}  # ``python -m roma_nb.x`` is an entry point, like the CLI itself
    forbidden = imported_parts(path) - allowed
    assert not forbidden, f"{path.relative_to(PACKAGE)} imports {sorted(forbidden)}"


def test_the_rules_see_lazy_and_relative_imports() -> None:
    # config imports the auth classes only inside functions, with relative imports
    assert "auth" in imported_parts(PACKAGE / "config.py")
    # "from ..dates import x" two levels up, from inside a sub-package
    assert "dates" in imported_parts(PACKAGE / "client" / "_base.py")
