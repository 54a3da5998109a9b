"""papermill reads every parameter of every notebook: its name, its type and its help.

papermill infers parameters with a regular expression over the ``parameters`` cell, one line per
assignment; a line it cannot read (a second ``=`` in the comment, help on the next line) drops
the parameter, and every headless run that passes it then warns "Passed unknown parameter".
These tests compare papermill's own inference with what the cell really assigns.
"""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from papermill import execute_notebook, inspect_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# What each notebook's parameters are, as a reader of `papermill --help-notebook` should see them.
EXPECTED: dict[str, dict[str, str]] = {
    "explore_tasks.ipynb": {
        "instance_ids": "list[str]",
        "since_hours": "int",
        "log_tasks": "int",
    },
    "reset_combined_task.ipynb": {
        "instance_id": "str",
        "task_ids": "list[str]",
        "date_from": "Union[str, int, None]",
        "tz": "str",
        "dry_run": "bool",
        "confirm": "bool",
        "restart": "str",
        "verify": "bool",
        "plan_file": "str",
    },
    "troubleshoot_task.ipynb": {
        "instance_id": "str",
        "task_id": "str",
        "since_hours": "int",
        "tz": "str",
        "dry_run": "bool",
    },
}
# A value of each type, to run every notebook's parameters through papermill's injection.
IS_A: dict[str, Callable[[Any], bool]] = {
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "Union[str, int, None]": lambda v: v is None or isinstance(v, (str, int)),
}
SAMPLES: dict[str, Any] = {
    "list[str]": ["x"],
    "int": 1,
    "str": "x",
    "bool": True,
    "Union[str, int, None]": 1_700_000_000_000,
}


def parameters_cell(name: str) -> str:
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    [cell] = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def assigned_names(source: str) -> list[str]:
    """Every name the cell assigns at top level, whatever papermill makes of it."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def test_every_notebook_is_covered() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_papermill_infers_every_name_type_and_help(name: str) -> None:
    inferred = inspect_notebook(NOTEBOOKS / name)
    assert list(inferred) == assigned_names(parameters_cell(name))
    assert {p: inferred[p]["inferred_type_name"] for p in inferred} == EXPECTED[name]
    for parameter in inferred.values():
        assert parameter["help"], f"{parameter['name']} has no help"
        assert "=" not in parameter["help"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_default_has_its_declared_type(name: str) -> None:
    """Running the cell gives each name a value of the type papermill shows for it."""
    namespace: dict[str, Any] = {}
    exec(compile(parameters_cell(name), name, "exec"), namespace)
    for parameter, type_name in EXPECTED[name].items():
        assert IS_A[type_name](namespace[parameter]), parameter


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_help_notebook_lists_every_parameter(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """What a user types, ``papermill --help-notebook NOTEBOOK``, through papermill's own command
    (in this process: a fresh ``papermill`` process spends seconds importing its IO handlers)."""
    from click.testing import CliRunner
    from papermill.cli import papermill

    with caplog.at_level(logging.WARNING, logger="papermill"):
        shown = CliRunner().invoke(papermill, ["--help-notebook", str(NOTEBOOKS / name)])
    assert shown.exit_code == 0, shown.output
    assert [r.getMessage() for r in caplog.records] == []  # no "Unable to parse line ..."
    for parameter, type_name in EXPECTED[name].items():
        assert f"  {parameter}: {type_name} (default " in shown.output


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_passing_every_parameter_warns_of_nothing(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    parameters = {p: SAMPLES[t] for p, t in EXPECTED[name].items()}
    with caplog.at_level(logging.WARNING, logger="papermill"):
        execute_notebook(
            str(NOTEBOOKS / name),
            str(tmp_path / name),
            parameters=parameters,
            prepare_only=True,
            progress_bar=False,
        )
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
