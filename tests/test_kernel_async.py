"""AsyncRomaClient in a real Jupyter kernel: a cell can ``await`` a batch on the kernel's own
running event loop, and the loop stays free for other work meanwhile (issue 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from browser.kernels import isolated_env, output_text, run_notebook

from roma_nb.sandbox import Sandbox

pytestmark = pytest.mark.notebook


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """These tests send raw resets to tasks whether they run or not: a sandbox that allows it
    (``refuse_running=False``; the default refuses them, and a rewind stops them first)."""
    return lenient_sandbox


CELL = """
import asyncio, json, os
from roma_nb import AsyncRomaClient, TokenAuth

ticks = 0
async def heartbeat():
    global ticks
    while True:
        ticks += 1
        await asyncio.sleep(0.01)

async with AsyncRomaClient(os.environ["ROMA_NB_ENDPOINT"],
                           project_id=os.environ["HUAWEICLOUD_SDK_PROJECT_ID"],
                           auth=TokenAuth(os.environ["ROMA_NB_TOKEN"])) as client:
    instance = (await client.list_instances())[0].id
    tasks = (await client.list_tasks(instance))[:8]
    beat = asyncio.ensure_future(heartbeat())
    ticks = 0
    results = await client.reset_many(tasks, 1630052714000, concurrency=2)
    beat.cancel()
print(json.dumps({"outcomes": [r.outcome for r in results], "ticks": ticks,
                  "tasks": [t.task_id for t in tasks]}))
"""


def test_a_cell_awaits_a_batch_on_the_kernels_loop(roma_sandbox: Sandbox, tmp_path: Path) -> None:
    roma_sandbox.set_latency(60)  # 4 rounds of 60 ms: time for the heartbeat to tick
    path = tmp_path / "async.ipynb"
    cell: dict[str, Any] = {
        "cell_type": "code",
        "id": "await-batch",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": CELL,
    }
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": kernelspec},
        "cells": [cell],
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")
    env = isolated_env(tmp_path / "jupyter", dict(roma_sandbox.env))

    executed = run_notebook(path, env=env)

    printed = json.loads(output_text(executed).strip().splitlines()[-1])
    assert printed["outcomes"] == ["success"] * 8
    assert printed["ticks"] >= 5
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(printed["tasks"])
