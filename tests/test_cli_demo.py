"""The pieces of ``roma-nb demo`` that need no server (the whole demo: test_browser_demo)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from roma_nb.cli import main
from roma_nb.demo import (
    RUNBOOK,
    DemoError,
    demo_environment,
    find_notebooks,
    free_port,
    lab_command,
    prepare_workdir,
)

REPO_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_finds_the_repository_notebooks() -> None:
    assert find_notebooks() == REPO_NOTEBOOKS
    assert (find_notebooks(REPO_NOTEBOOKS) / RUNBOOK).is_file()


def test_missing_notebooks_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="--notebooks"):
        find_notebooks(tmp_path)


def test_workdir_gets_copies_and_keeps_edited_ones(tmp_path: Path) -> None:
    work = tmp_path / "work"
    copied = prepare_workdir(REPO_NOTEBOOKS, work)
    assert {p.name for p in copied} == {p.name for p in REPO_NOTEBOOKS.glob("*.ipynb")}
    edited = work / RUNBOOK
    edited.write_text("{}", encoding="utf-8")
    prepare_workdir(REPO_NOTEBOOKS, work)
    assert edited.read_text(encoding="utf-8") == "{}"
    page_config = work / ".jupyter" / "config" / "labconfig" / "page_config.json"
    disabled = json.loads(page_config.read_text(encoding="utf-8"))["disabledExtensions"]
    assert disabled == {"@jupyterlab/apputils-extension:announcements": True}


def test_lab_listens_locally_with_a_token_and_no_browser(tmp_path: Path) -> None:
    command = lab_command(tmp_path, 8899, "t0k3n")
    assert "--ServerApp.ip=127.0.0.1" in command
    assert "--port=8899" in command
    assert "--IdentityProvider.token=t0k3n" in command
    assert "--no-browser" in command
    assert f"--ServerApp.root_dir={tmp_path}" in command


def test_kernels_use_the_embedded_sandbox_and_a_local_history(tmp_path: Path) -> None:
    assert demo_environment(tmp_path) == {
        "ROMA_NB_ENDPOINT": "sandbox",
        "ROMA_NB_HISTORY": str(tmp_path / "history.sqlite"),
        "ROMA_NB_SANDBOX_OPTIONS": '{"start_delay_ms": 1500, "stop_delay_ms": 1500}',
    }


def test_the_demo_sandboxs_tasks_take_a_visible_moment_to_start_and_stop(tmp_path: Path) -> None:
    from roma_nb.sandbox import SandboxState, options_from_environment

    options = SandboxState(**options_from_environment(demo_environment(tmp_path))).options
    assert 1000 <= options.start_delay_ms <= 2000
    assert 1000 <= options.stop_delay_ms <= 2000


def test_free_port_prefers_the_asked_one_and_falls_back() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        other = free_port(taken)
        assert other != taken
    assert free_port(other) == other  # free again once probed: the asked port is kept


def test_demo_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["demo", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "sandbox" in out
    assert "--port" in out
