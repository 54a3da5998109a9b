"""Run a notebook in a real Jupyter kernel, isolated from the machine's configuration.

The kernel is a separate process: it reaches the sandbox over its socket, and it reads its
configuration from the environment given here, never from the developer's shell. Jupyter,
IPython, matplotlib and temporary files all live under one throw-away directory, so a test run
leaves nothing in ``$HOME`` and is not influenced by what is there.

``papermill`` (with ``nbformat``) costs seconds to import; it is imported on first use and then
cached by Python, once per test session.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roma_nb.config import ENVIRONMENT_VARIABLES

__all__ = [
    "CONFIG_VARIABLES",
    "error_outputs",
    "isolated_env",
    "output_text",
    "run_notebook",
    "widget_state",
]

CONFIG_VARIABLES = (*ENVIRONMENT_VARIABLES, "ROMA_NB_HISTORY")
"""Removed from the inherited environment: only what a test sets reaches the kernel."""

_ISOLATED_DIRS = {
    "JUPYTER_CONFIG_DIR": "jupyter/config",
    "JUPYTER_DATA_DIR": "jupyter/data",
    "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
    "IPYTHONDIR": "ipython",
    "XDG_CONFIG_HOME": "xdg/config",
    "XDG_CACHE_HOME": "xdg/cache",
    "XDG_DATA_HOME": "xdg/data",
    "MPLCONFIGDIR": "matplotlib",
    "TMPDIR": "tmp",
    "HOME": "home",
}


def isolated_env(base: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without roma_nb configuration, with Jupyter & co. under ``base``."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env = {k: v for k, v in env.items() if not k.startswith(("JUPYTER_", "PYDEVD", "MPLBACKEND"))}
    for name, relative in _ISOLATED_DIRS.items():
        path = base / relative
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["PYTHONWARNINGS"] = "ignore"  # the kernel is not the code under test's warning policy
    env.update(extra or {})
    return env


def run_notebook(
    path: Path,
    *,
    env: Mapping[str, str],
    parameters: Mapping[str, Any] | None = None,
    timeout: int = 120,
) -> Any:
    """Execute ``path`` (papermill-parameterized) in a new python3 kernel; the executed notebook.

    A cell that raises makes this raise ``nbclient.exceptions.CellExecutionError`` naming the
    cell and the exception. Widget state is stored in the notebook's metadata, as JupyterLab
    would save it, so tests can assert on what the widgets showed.
    """
    from nbclient import NotebookClient
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook
    from traitlets.config import Config

    # papermill's own reading (it gives every cell a tags list) and injection: the
    # "injected-parameters" cell after the "parameters" cell, as the papermill CLI does.
    notebook = load_notebook_node(str(path))
    if parameters:
        notebook = parameterize_notebook(notebook, dict(parameters))
    # The client owns (and so cleans up) its kernel manager; the configuration only moves the
    # connection file from this process's runtime directory to the isolated one.
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    connection_file = runtime / f"kernel-{os.getpid()}-{id(notebook)}.json"
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
        config=Config({"KernelManager": {"connection_file": str(connection_file)}}),
    )
    client.execute(env=dict(env), cwd=str(path.parent))
    return notebook


def _texts(output: Mapping[str, Any]) -> list[str]:
    if output.get("output_type") == "stream":
        return [str(output.get("text", ""))]
    data = output.get("data", {})
    return [str(data[kind]) for kind in ("text/plain", "text/html") if kind in data]


def output_text(notebook: Any, cell_index: int | None = None) -> str:
    """Everything the notebook (or one cell) printed or displayed as text or HTML."""
    cells = notebook.cells if cell_index is None else [notebook.cells[cell_index]]
    return "\n".join(
        text
        for cell in cells
        if cell.cell_type == "code"
        for output in cell.outputs
        for text in _texts(output)
    )


def error_outputs(notebook: Any) -> list[str]:
    """``ename: evalue`` of every error output (nbclient raises on them; kept for allow_errors)."""
    return [
        f"{output.get('ename')}: {output.get('evalue')}"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "error"
    ]


def widget_state(notebook: Any) -> dict[str, Any]:
    """The saved widget models: ``{model_id: {"model_name": ..., "state": {...}}}``."""
    widgets = notebook.metadata.get("widgets", {})
    state: dict[str, Any] = widgets.get("application/vnd.jupyter.widget-state+json", {}).get(
        "state", {}
    )
    return state
