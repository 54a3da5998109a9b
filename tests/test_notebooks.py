"""The three notebooks, executed by a real Jupyter kernel against the sandbox over its socket.

The kernel is another process: what it sent is read from the sandbox's records, what it recorded
from the history file it was pointed at (``ROMA_NB_HISTORY``), and what it showed from the
executed notebook's outputs and saved widget state.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser.chromium import keep_screenshot
from browser.kernels import isolated_env, output_text, run_notebook, widget_state

from roma_nb.auth import TokenAuth
from roma_nb.client import RomaClient
from roma_nb.history import ResultLog
from roma_nb.models import ResetResult
from roma_nb.plans import Plan, where_tasks_are

pytestmark = pytest.mark.notebook

Sandbox = Any
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
RUNBOOK = NOTEBOOKS / "reset_combined_task.ipynb"
TYPED = "2024-01-02T03:04"
SHANGHAI_MS = int(datetime(2024, 1, 2, 3, 4, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()) * 1000


@pytest.fixture(scope="session")
def jupyter_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One isolated Jupyter/IPython/matplotlib home per session (its caches are reused)."""
    return tmp_path_factory.mktemp("jupyter")


@pytest.fixture
def history_path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite"


@pytest.fixture
def kernel_env(roma_sandbox: Sandbox, jupyter_dirs: Path, history_path: Path) -> dict[str, str]:
    return isolated_env(jupyter_dirs, {**roma_sandbox.env, "ROMA_NB_HISTORY": str(history_path)})


def two_tasks(sandbox: Sandbox) -> tuple[Any, list[str]]:
    instance = sandbox.state.instances[1]
    return instance, [t.task_id for t in sandbox.state.combined_tasks(instance.id)[:2]]


def history_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with ResultLog(path) as log:
        return log.records()


def widget_texts(notebook: Any) -> str:
    """Every string value of every saved widget model (labels, HTML, options)."""
    return json.dumps([model.get("state", {}) for model in widget_state(notebook).values()])


def widget_value(notebook: Any, css_class: str) -> str:
    """The ``value`` of the one saved widget with ``css_class`` (the panel's stable hooks)."""
    (value,) = [
        str(model["state"].get("value"))
        for model in widget_state(notebook).values()
        if css_class in model["state"].get("_dom_classes", [])
    ]
    return value


# -- the runbook -----------------------------------------------------------------------------------


def test_runbook_headless_with_defaults_records_a_dry_run_and_sends_nothing(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path
) -> None:
    instance, task_ids = two_tasks(roma_sandbox)
    notebook = run_notebook(
        RUNBOOK,
        env=kernel_env,
        parameters={
            "instance_id": instance.name,
            "task_ids": task_ids,
            "date_from": TYPED,
            "tz": "Asia/Shanghai",
        },
    )
    assert roma_sandbox.resets == []
    assert [c for c in roma_sandbox.calls if c.method != "GET"] == []
    rows = history_rows(history_path)
    # the rewind's looks are real reads; every other step is a dry run
    assert {r["dry_run"] for r in rows if r["step"] != "look"} == {True}
    resets = [r for r in rows if r["step"] == "reset"]
    assert sorted(r["task_id"] for r in resets) == sorted(task_ids)
    assert {(r["outcome"], r["date_from_ms"]) for r in resets} == {("dry-run", SHANGHAI_MS)}
    text = output_text(notebook)
    assert roma_sandbox.url.split("//")[1] in text  # step 1 names the environment
    assert "2024-01-01T19:04:00Z" in text  # step 3: the typed time read in Asia/Shanghai
    assert "2 dry-run" in text  # the conclusion: this run's rows
    # The panel is prefilled: the instant, and both tasks in its selection summary.
    assert str(SHANGHAI_MS) in widget_value(notebook, "roma-date-live")
    selected = widget_value(notebook, "roma-task-selected")
    assert all(t in selected for t in task_ids)


def test_runbook_sends_only_with_dry_run_false_and_confirm_true_via_papermill(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path, tmp_path: Path
) -> None:
    """The documented headless command, run as a user would: the papermill CLI. It rewinds:
    running tasks are stopped, reset, started again and verified (so ``date_from`` is within
    the sandbox's change-log retention: an older one fails verification, as it would for real)."""
    instance, task_ids = two_tasks(roma_sandbox)
    recent = roma_sandbox.state.now() - 3_600_000
    was_running = {t: roma_sandbox.state.task(instance.id, t).status for t in task_ids}
    output = tmp_path / "out.ipynb"
    command = [
        *(sys.executable, "-m", "papermill", str(RUNBOOK), str(output)),
        *("-k", "python3", "--no-progress-bar", "--log-level", "WARNING"),
        *("-p", "instance_id", instance.id),
        *("-y", "task_ids: [" + ", ".join(f'"{t}"' for t in task_ids) + "]"),
        *("-p", "date_from", str(recent), "-p", "tz", "Asia/Shanghai"),
        *("-p", "dry_run", "False", "-p", "confirm", "True"),
    ]
    done = subprocess.run(
        command, env=kernel_env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted((r.task_id, r.date_from) for r in roma_sandbox.resets) == sorted(
        (t, recent) for t in task_ids
    )
    rows = history_rows(history_path)
    assert {(r["task_id"], r["outcome"], r["dry_run"]) for r in rows} == {
        (t, "success", False) for t in task_ids
    }
    assert {r["step"] for r in rows} >= {"look", "reset"}
    assert {t: roma_sandbox.state.task(instance.id, t).status for t in task_ids} == was_running
    saved = output.read_text(encoding="utf-8")
    assert "2 success" in saved
    assert "running, verified" in saved or "stopped, as before" in saved  # the verification table
    assert roma_sandbox.token not in saved  # the saved notebook carries no credential


def papermill(notebook: Path, output: Path, env: dict[str, str], *args: str) -> Any:
    """The papermill command line, as a user runs it (its exit code is what a scheduler sees)."""
    command = [
        *(sys.executable, "-m", "papermill", str(notebook), str(output)),
        *("-k", "python3", "--no-progress-bar", "--log-level", "WARNING", *args),
    ]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_runbook_headless_fails_and_says_which_task_is_not_reset(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 14, defect 2: one task's reset is refused (a 500 from the sandbox), the other's
    succeeds. The conclusion has one row per task — reset to the instant, or NOT reset: failed —
    and papermill fails naming the task that was not reset."""
    instance, (broken, fine) = two_tasks(roma_sandbox)
    recent = roma_sandbox.state.now() - 3_600_000
    roma_sandbox.inject("server_error", match=f"{broken}/reset", times=None)
    output = tmp_path / "out.ipynb"
    done = papermill(
        RUNBOOK,
        output,
        kernel_env,
        *("-p", "instance_id", instance.id, "-y", f'task_ids: ["{broken}", "{fine}"]'),
        *("-p", "date_from", str(recent), "-p", "dry_run", "False", "-p", "confirm", "True"),
    )
    assert done.returncode != 0
    assert [r.task_id for r in roma_sandbox.resets] == [fine]
    saved = json.loads(output.read_text(encoding="utf-8"))
    conclusion = saved["cells"][-1]
    (error,) = [o for o in conclusion["outputs"] if o["output_type"] == "error"]
    assert error["evalue"].startswith("1 of 2 tasks were not reset or not fully rewound: ")
    assert f"({broken}): NOT reset: failed" in error["evalue"]
    assert fine not in error["evalue"]
    outputs = [o.get("data", {}) for o in conclusion["outputs"]]
    steps, table = ["".join(data["text/html"]) for data in outputs if "text/html" in data]
    assert "verify" in steps  # the step table first, then the conclusion
    when = datetime.fromtimestamp(recent / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    rows = table.split("<tr")[2:]  # the header row first
    assert len(rows) == 2  # one row per task of this run
    assert any(broken in r and "NOT reset: failed" in r for r in rows)
    assert any(fine in r and f"reset to {when}" in r for r in rows)


def with_cell_after_panel(notebook: Path, code: str, folder: Path) -> Path:
    """A copy of ``notebook`` with ``code`` in a cell right after the panel's: what a person
    does with the panel, done by the kernel the way the buttons do it."""
    source = json.loads(notebook.read_text(encoding="utf-8"))
    panel_at = next(i for i, c in enumerate(source["cells"]) if "ResetPanel(" in c["source"])
    used: dict[str, Any] = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "id": "used-the-panel",
        "source": code,
    }
    source["cells"].insert(panel_at + 1, used)
    copy = folder / notebook.name
    copy.write_text(json.dumps(source), encoding="utf-8")
    return copy


def test_runbook_conclusion_of_the_panel_shows_a_retried_unknown_by_its_retry(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path, tmp_path: Path
) -> None:
    """Issue 14, defect 2: the panel's run leaves one task ``unknown`` (the connection drops
    after its reset request), *Retry unknown* resets it. The conclusion is the panel's run,
    one row per task, both reset — the old ``unknown`` gone — and the notebook does not fail."""
    instance, task_ids = two_tasks(roma_sandbox)
    recent = roma_sandbox.state.now() - 3_600_000
    roma_sandbox.inject("drop", match=f"{task_ids[0]}/reset", times=1)
    copy = with_cell_after_panel(
        RUNBOOK,
        "panel.preview()\n"
        "first = panel.run(confirm=True)\n"
        "print('FIRST', sorted(r.outcome for r in first))\n"
        "panel.retry_unknown()",
        tmp_path,
    )
    parameters = {
        "instance_id": instance.id,
        "task_ids": task_ids,
        "date_from": recent,
        "dry_run": False,
    }
    notebook = run_notebook(copy, env=kernel_env, parameters=parameters)
    text = output_text(notebook)
    assert "FIRST ['success', 'unknown']" in text
    assert sorted(r.task_id for r in roma_sandbox.resets) == sorted(task_ids)
    conclusion = output_text(notebook, len(notebook.cells) - 1)
    assert "2 success" in conclusion and "unknown" not in conclusion
    assert conclusion.count("reset to ") >= 2 and "NOT reset" not in conclusion


def test_runbook_dry_run_false_without_confirm_sends_and_records_nothing(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path
) -> None:
    instance, task_ids = two_tasks(roma_sandbox)
    notebook = run_notebook(
        RUNBOOK,
        env=kernel_env,
        parameters={
            "instance_id": instance.id,
            "task_ids": task_ids,
            "date_from": SHANGHAI_MS,
            "dry_run": False,
        },
    )
    assert roma_sandbox.resets == []
    assert history_rows(history_path) == []
    assert "needs confirm=True" in output_text(notebook)


def test_runbook_refuses_tasks_that_are_not_combined_tasks_of_the_instance(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path
) -> None:
    from nbclient.exceptions import CellExecutionError

    instance, task_ids = two_tasks(roma_sandbox)
    normal = next(t for t in roma_sandbox.state.tasks(instance.id) if t.ext_type != "CDC")
    with pytest.raises(CellExecutionError, match=normal.task_id):
        run_notebook(
            RUNBOOK,
            env=kernel_env,
            parameters={
                "instance_id": instance.id,
                "task_ids": [*task_ids, normal.task_id],
                "date_from": TYPED,
                "dry_run": False,
                "confirm": True,
            },
        )
    assert roma_sandbox.resets == []
    assert history_rows(history_path) == []


def export_plan(sandbox: Sandbox, env: dict[str, str], path: Path) -> tuple[Plan, list[str]]:
    """A plan file for two stopped tasks, made with ``roma-nb reset --export`` as a user would."""
    from cli_shell import roma_nb

    instance = next(i for i in sandbox.state.instances if i.status == "RUNNING")
    rows = [t.task_id for t in sandbox.state.combined_tasks(instance.id) if not t.status]
    with RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth(sandbox.token)) as c:
        where = where_tasks_are(c, instance.id, rows)
    now = time.time_ns() // 1_000_000
    recent = [t for t in rows if (at := where[t].at_ms) and now - at < 40 * 3_600_000][:2]
    done = roma_nb(
        *("reset", instance.id, *recent, "--date-from", "now-47h", "--export", str(path)),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return Plan.load(path), recent


def test_runbook_applies_a_plan_file_and_its_rows_carry_the_plan_id(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path, tmp_path: Path
) -> None:
    plan, task_ids = export_plan(roma_sandbox, kernel_env, tmp_path / "plan.json")
    notebook = run_notebook(
        RUNBOOK,
        env=kernel_env,
        parameters={"plan_file": str(tmp_path / "plan.json"), "dry_run": False, "confirm": True},
    )
    assert sorted((r.task_id, r.date_from) for r in roma_sandbox.resets) == sorted(
        (t, plan.date_from.ms) for t in task_ids
    )
    with ResultLog(history_path) as log:
        rows = log.records(plan_id=plan.plan_id)
    assert sorted(r["task_id"] for r in rows) == sorted(task_ids)
    assert {r["outcome"] for r in rows} == {"success"}
    assert f"plan_id: {plan.plan_id}" in output_text(notebook)


def test_runbook_applies_a_rewind_plan_file_with_its_restart_and_verify(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path, tmp_path: Path
) -> None:
    """A rewind plan (``roma-nb rewind --export``) runs the procedure: the running task is
    stopped, both are reset, the running one is started again, each row carries the plan_id."""
    from cli_shell import roma_nb

    instance = next(i for i in roma_sandbox.state.instances if i.status == "RUNNING")
    rows = [
        t for t in roma_sandbox.state.combined_tasks(instance.id) if t.execute_status != "ERROR"
    ]
    auth = TokenAuth(roma_sandbox.token)
    with RomaClient(roma_sandbox.url, project_id=roma_sandbox.project_id, auth=auth) as c:
        where = where_tasks_are(c, instance.id, [t.task_id for t in rows])
    now = time.time_ns() // 1_000_000
    fresh = [t for t in rows if (at := where[t.task_id].at_ms) and now - at < 40 * 3_600_000]
    running = next(t.task_id for t in fresh if t.status == 1)
    stopped = next(t.task_id for t in fresh if t.status == 0)
    path = tmp_path / "rewind.json"
    done = roma_nb(
        *("rewind", instance.id, running, stopped, "--date-from", "now-47h"),
        *("--export", str(path)),
        env=kernel_env,
    )
    assert done.returncode == 0, done.stderr
    plan = Plan.load(path)
    roma_sandbox.clear_records()
    run_notebook(
        RUNBOOK,
        env=kernel_env,
        parameters={"plan_file": str(path), "dry_run": False, "confirm": True},
    )
    actions = [
        (json.loads(c.body)["action_id"], json.loads(c.body)["list"][0]["task_id"])
        for c in roma_sandbox.calls
        if c.method == "POST" and c.path.endswith("/batch-operation/tasks")
    ]
    assert actions == [("stop", running), ("start", running)]
    assert sorted((r.task_id, r.date_from) for r in roma_sandbox.resets) == sorted(
        [(running, plan.date_from.ms), (stopped, plan.date_from.ms)]
    )
    with ResultLog(history_path) as log:
        written = log.records()
    assert written and {r["plan_id"] for r in written} == {plan.plan_id}
    assert {"stop", "reset", "start"} <= {r.get("step") for r in written}


def test_runbook_refuses_an_edited_plan_file(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path, tmp_path: Path
) -> None:
    from nbclient.exceptions import CellExecutionError

    path = tmp_path / "plan.json"
    export_plan(roma_sandbox, kernel_env, path)
    path.write_text(path.read_text().replace('"now-47h"', '"now-46h"'))
    roma_sandbox.clear_records()
    with pytest.raises(CellExecutionError, match="was changed after it was planned"):
        run_notebook(
            RUNBOOK,
            env=kernel_env,
            parameters={"plan_file": str(path), "dry_run": False, "confirm": True},
        )
    assert roma_sandbox.resets == []
    assert history_rows(history_path) == []


def test_runbook_without_parameters_shows_the_panel_and_sends_nothing(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path
) -> None:
    notebook = run_notebook(RUNBOOK, env=kernel_env)
    assert roma_sandbox.resets == []
    assert history_rows(history_path) == []
    text = output_text(notebook)
    assert "choose the instance and tasks in the panel" in text
    classes = {
        c for m in widget_state(notebook).values() for c in m["state"].get("_dom_classes", [])
    }
    assert {"roma-reset-panel", "roma-instance-select", "roma-task-select", "roma-run"} <= classes
    widgets = widget_texts(notebook)
    for instance in roma_sandbox.state.instances:
        assert instance.name in widgets


# -- exploring and troubleshooting ----------------------------------------------------------------


def pngs(notebook: Any) -> list[bytes]:
    return [
        base64.b64decode(output["data"]["image/png"])
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]


def images(notebook: Any) -> int:
    return len(pngs(notebook))


def keep_picture(png: bytes, folder: Path, name: str) -> None:
    """Write a plot the notebook drew; ``ROMA_NB_SCREENSHOTS=docs`` keeps it for the README."""
    path = folder / name
    path.write_bytes(png)
    keep_screenshot(path, name)


def test_explore_notebook_tables_and_plots(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], tmp_path: Path
) -> None:
    notebook = run_notebook(NOTEBOOKS / "explore_tasks.ipynb", env=kernel_env)
    assert images(notebook) == 3
    keep_picture(pngs(notebook)[2], tmp_path, "explore-plot.png")
    text = output_text(notebook)
    combined = sum(
        len(roma_sandbox.state.combined_tasks(i.id)) for i in roma_sandbox.state.instances
    )
    assert f"{combined} combined tasks in {len(roma_sandbox.state.instances)} instances" in text
    for instance in roma_sandbox.state.instances:
        assert instance.name in text
    assert roma_sandbox.resets == []


def test_troubleshoot_notebook_decodes_logs_and_shows_the_task_history(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path
) -> None:
    """Defaults pick the most recently failed combined task; its reset history is shown."""
    instance = next(i for i in roma_sandbox.state.instances if i.status == "RUNNING")
    failing = [
        t for t in roma_sandbox.state.combined_tasks(instance.id) if t.execute_status == "ERROR"
    ]
    assert failing
    with ResultLog(history_path) as log:
        for index, task in enumerate(failing):
            log.append(
                ResetResult(
                    instance.id,
                    task.task_id,
                    "success",
                    date_from=1_700_000_000_000,
                    task_name=task.task_name,
                    status_code=200,
                    request_id=f"earlier-reset-{index:03d}",
                )
            )
    notebook = run_notebook(
        NOTEBOOKS / "troubleshoot_task.ipynb", env=kernel_env, parameters={"tz": "Asia/Shanghai"}
    )
    text = output_text(notebook)
    picked = next(t for t in failing if f"using the most recently failed task, {t.task_id}" in text)
    mine = failing.index(picked)
    assert f"earlier-reset-{mine:03d}" in text
    others = [f"earlier-reset-{i:03d}" for i in range(len(failing)) if i != mine]
    assert not any(other in text for other in others)  # only this task's history
    assert "reader (source side)" in text or "writer (target side)" in text
    assert "start (Asia/Shanghai)" in text
    assert images(notebook) == 1
    assert picked.task_id in widget_value(notebook, "roma-task-selected")
    assert roma_sandbox.resets == []


def test_troubleshoot_timeline_shows_each_reset_outcome(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path, tmp_path: Path
) -> None:
    """Every failing task of the instance has a successful, a failed, a skipped reset and a dry
    run in the history, within the logs' window: the timeline's legend names each outcome and
    the failure codes in words (the figure: ``docs/troubleshoot-timeline.png``)."""
    instance = next(i for i in roma_sandbox.state.instances if i.status == "RUNNING")
    now = roma_sandbox.state.now()
    with ResultLog(history_path) as log:
        for task in roma_sandbox.state.combined_tasks(instance.id):
            if task.execute_status != "ERROR":
                continue
            outcomes = (("success", 40), ("failed", 22), ("skipped", 12), ("dry-run", 6))
            for outcome, hours in outcomes:
                sent = datetime.fromtimestamp(now / 1000, timezone.utc) - timedelta(hours=hours)
                result = ResetResult(
                    instance.id,
                    task.task_id,
                    outcome,  # type: ignore[arg-type]
                    date_from=now - (hours + 8) * 3_600_000,
                    task_name=task.task_name,
                    at=sent,
                )
                log.append(result)
    notebook = run_notebook(
        NOTEBOOKS / "troubleshoot_task.ipynb", env=kernel_env, parameters={"tz": "Asia/Shanghai"}
    )
    (png,) = pngs(notebook)
    keep_picture(png, tmp_path, "troubleshoot-timeline.png")
    assert png.startswith(b"\x89PNG")
    assert roma_sandbox.resets == []


def cell_index(notebook: Any, cell_id: str) -> int:
    return next(i for i, cell in enumerate(notebook.cells) if cell.get("id") == cell_id)


def test_troubleshoot_panel_defaults_like_the_runbook_and_its_reset_shows_in_its_history(
    roma_sandbox: Sandbox, kernel_env: dict[str, str], history_path: Path, tmp_path: Path
) -> None:
    """Issue 14, defect 3: dry run ticked, the notebook's own history, the suggestion prefilled.

    A cell added right after the panel's does what a person does with it (preview, confirm,
    run); the history and timeline cells that follow must then show that reset.
    """
    copy = with_cell_after_panel(
        NOTEBOOKS / "troubleshoot_task.ipynb",
        "panel.preview()\n"
        "used = panel.run(confirm=True)\n"
        "print('PANEL RAN', [(r.task_id, r.outcome, r.date_from) for r in used])",
        tmp_path,
    )
    notebook = run_notebook(copy, env=kernel_env)

    assert roma_sandbox.resets == []  # the panel started in dry-run mode
    # The panel rewinds by default: a dry run's looks are real reads (step "look"); the one
    # reset it did not send is the row that matters here.
    rows = [r for r in history_rows(history_path) if r.get("step") in (None, "reset")]
    assert [r["outcome"] for r in rows] == ["dry-run"]
    (row,) = rows
    text = output_text(notebook)
    suggested = next(line for line in text.splitlines() if line.startswith("First error after"))
    stamp = suggested.split(": ", 1)[1][:16]  # "YYYY-MM-DD HH:MM", UTC
    when = datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("UTC"))
    assert row["date_from_ms"] == int(when.timestamp()) * 1000  # the suggestion, prefilled
    history_cell = output_text(notebook, cell_index(notebook, "troubleshoot-09"))
    assert "dry-run" in history_cell and row["task_id"] in output_text(notebook)
