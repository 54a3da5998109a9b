"""The package's lazy exports and ``__all__`` stay in step, and each name resolves."""

from __future__ import annotations

import importlib
import subprocess
import sys

import roma_nb


def test_all_matches_the_lazy_exports() -> None:
    exports = roma_nb._EXPORTS
    assert roma_nb.__all__ == sorted(exports)
    for name, module in exports.items():
        value = getattr(roma_nb, name)
        assert getattr(importlib.import_module(module), name) is value


def test_importing_the_client_does_not_load_pandas_or_ipywidgets() -> None:
    code = (
        "import sys; from roma_nb import RomaClient, to_epoch_ms, ResetResult; "
        "print(sorted(m for m in ('pandas', 'ipywidgets', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
