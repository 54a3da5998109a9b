"""The package's lazy exports and ``__all__`` stay in step, and each name resolves."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import roma_nb


def test_all_matches_the_lazy_exports() -> None:
    exports = roma_nb._EXPORTS
    assert roma_nb.__all__ == sorted(exports)
    for name, module in exports.items():
        value = getattr(roma_nb, name)
        assert getattr(importlib.import_module(module), name) is value


def test_the_type_checking_block_imports_every_export_from_its_module() -> None:
    """What type checkers and IDEs see is what ``__getattr__`` loads, name for name."""
    tree = ast.parse(Path(roma_nb.__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
        if node.test.id == "TYPE_CHECKING"
    )
    seen: dict[str, str] = {}
    for statement in block.body:
        assert isinstance(statement, ast.ImportFrom) and statement.level == 1
        for alias in statement.names:
            assert alias.asname == alias.name, "a re-export needs the `X as X` form"
            seen[alias.name] = f"roma_nb.{statement.module}"
    assert seen == roma_nb._EXPORTS


def test_importing_the_client_does_not_load_pandas_or_ipywidgets() -> None:
    code = (
        "import sys; from roma_nb import RomaClient, to_epoch_ms, ResetResult; "
        "print(sorted(m for m in ('pandas', 'ipywidgets', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_the_client_leaves_what_only_a_rewind_or_a_batch_needs() -> None:
    """The rewind's procedure, configuration's resolution and the modules that only a batch, a
    zone or a duration need load when they are used, not with the client: ``from roma_nb import
    RomaClient`` is meant to cost little more than ``import httpx`` (``bench/``). Modules that
    ``httpx`` itself loads are not counted (the floor versions may load more); the async client
    needs ``asyncio``, which loads ``concurrent.futures``, but not the procedure either. The
    bounded transports load httpcore: they load when a client opens, not before."""
    lazy = (
        "roma_nb.procedure",
        "roma_nb.config",
        "concurrent.futures",
        "zoneinfo",
        "fractions",
        "httpcore",
        "roma_nb.transport.sockets",
    )
    code = (
        "import sys, httpx; before = set(sys.modules); from roma_nb import RomaClient; "
        f"print(sorted(set({lazy!r}) & (set(sys.modules) - before))); "
        "from roma_nb import AsyncRomaClient; print('roma_nb.procedure' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "False"]
