"""``python -m roma_nb._check_notebooks``: committed notebooks carry no outputs and no secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from roma_nb._check_notebooks import check_notebook, find_secrets, main, strip_notebook

REPO_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def notebook(*cells: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata or {}, "cells": list(cells)}


def code(source: str, **extra: Any) -> dict[str, Any]:
    cell: dict[str, Any] = {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "outputs": [],
        "execution_count": None,
    }
    cell.update(extra)
    return cell


def markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def write(tmp_path: Path, nb: dict[str, Any], name: str = "nb.ipynb") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def reasons(path: Path) -> list[str]:
    return [p.reason for p in check_notebook(path)]


def test_clean_notebook_passes(tmp_path: Path) -> None:
    path = write(tmp_path, notebook(markdown("# Title"), code("x = 1\nprint(x)")))
    assert check_notebook(path) == []
    assert main([str(tmp_path)]) == 0


def test_outputs_counts_and_widget_state_are_refused_and_fixable(tmp_path: Path) -> None:
    output = {"output_type": "stream", "name": "stdout", "text": "hi\n"}
    nb = notebook(
        code("print('hi')", outputs=[output], execution_count=3),
        metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}},
    )
    path = write(tmp_path, nb)
    found = check_notebook(path)
    assert {(p.cell, p.reason.split(" (")[0]) for p in found} == {
        (1, "has outputs"),
        (1, "has an execution count"),
        (None, "has saved widget state in its metadata"),
    }
    assert main([str(path)]) == 1
    assert main(["--fix", str(path)]) == 0
    assert check_notebook(path) == []
    assert strip_notebook(path) is False  # already clean: the file is left alone


@pytest.mark.parametrize(
    "source",
    [
        "t = 'MIIEvQYJKoZIhvcNAQcCoIIErjCCBKoCAQExDTALBglghkgBZQMEAgEwggMoBgkqhkiG9w0BBwGgggMZ'",
        'os.environ["ROMA_NB_TOKEN"] = "s3cr3t-value"',
        'auth = AkSkAuth("HPUAEXAMPLEAK0000000", sk)',
        'client = connect(sk="abc", password="hunter22")',
        'headers = {"X-Auth-Token": "abcdefgh12345678"}',
        "sk = 'exampleSecretKey0000000000000000000000000'",
        "key = '''\n-----BEGIN RSA PRIVATE KEY-----\nMIIB...'''",
        "SK: exampleSecretKey00000000000000000000000X",
    ],
)
def test_secret_looking_text_is_refused(tmp_path: Path, source: str) -> None:
    path = write(tmp_path, notebook(code(source)))
    assert any(r.startswith("contains ") for r in reasons(path)), source
    assert "hunter22" not in " ".join(reasons(path))  # the value itself is never repeated


@pytest.mark.parametrize(
    "source",
    [
        "client = roma_nb.connect()  # ROMA_NB_TOKEN comes from the environment",
        'task_name = "orders_mysql_to_dws"',
        'token = os.environ["ROMA_NB_TOKEN"]',
        'ROMA_NB_ENDPOINT = "sandbox"  # no secret',
        'instance_id = "9a1d2f0d-0f8f-860e-311a-0d1e25e8e09d"',
        'task_ids = ["9e4767a869f0ae603c701a96c9ee31cd"]',
        'password = ""',
        "Set `ROMA_NB_TOKEN=...` or HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK.",
    ],
)
def test_ordinary_code_is_not_mistaken_for_a_secret(source: str) -> None:
    assert find_secrets(source) == []


def test_credential_parameters_are_refused(tmp_path: Path) -> None:
    params = code(
        'instance_id = ""\nroma_token = None\ndry_run = True', metadata={"tags": ["parameters"]}
    )
    path = write(tmp_path, notebook(params))
    (problem,) = check_notebook(path)
    assert problem.cell == 1
    assert "roma_token" in problem.reason


def test_unreadable_files_are_problems_not_crashes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    assert reasons(bad)[0].startswith("cannot be read")
    assert main([str(tmp_path / "missing.ipynb")]) == 2


def test_checkpoints_are_ignored(tmp_path: Path) -> None:
    checkpoints = tmp_path / ".ipynb_checkpoints"
    checkpoints.mkdir()
    write(checkpoints, notebook(code("x", execution_count=1)), "nb-checkpoint.ipynb")
    write(tmp_path, notebook(code("x")))
    assert main([str(tmp_path)]) == 0


def test_the_repository_notebooks_are_clean() -> None:
    paths = sorted(REPO_NOTEBOOKS.glob("*.ipynb"))
    assert {p.name for p in paths} >= {
        "reset_combined_task.ipynb",
        "explore_tasks.ipynb",
        "troubleshoot_task.ipynb",
    }
    assert [str(p) for path in paths for p in check_notebook(path)] == []
