"""No token, password, AK or SK anywhere a person or a file could see it.

A sandbox is given recognisable credentials of its own (an IAM user with a made-up password, an
AK/SK pair, and it accepts a made-up token), and everything roma_nb offers is used with each of
them, failures included: the client (sync and async, every read, single and batch resets under
faults, wrong passwords and keys, a rejected token), ``connect()`` and its settings, the history
file and its frames and exports, the reset panel's widgets, the ``roma-nb`` command, and the
runbook notebook executed in a real kernel. Then every text that came out — reprs, strs,
exceptions with their chains, DEBUG logs of httpx, httpcore and roma_nb, the history file's raw
bytes (WAL included), DataFrames, CSV/JSON/HTML/Parquet exports, widget states, the command's
output, the executed notebook as saved, the sandbox's own ``/_sandbox/calls`` — is searched.

A leak is the whole secret or any 12 characters of it in a row (a truncated secret is still a
leak; masks like ``abc…xyz`` show 3). The secrets are drawn from letters that are not hex
digits, so no request id or signature can match by chance, and each search is first shown to
find a planted fragment, so an empty result means something. The tokens IAM issued during the
test are searched for too, read from the sandbox's records of what was sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from debug_capture import DebugCapture

from roma_nb.auth import AkSkAuth, PasswordAuth, TokenAuth
from roma_nb.client import AsyncRomaClient, RetryPolicy, RomaClient
from roma_nb.config import resolve_settings
from roma_nb.connection import connect
from roma_nb.errors import RomaError
from roma_nb.history import ResultLog
from roma_nb.sandbox import Sandbox, serve

NOT_HEX_UPPER = "GHJKLMNPQRSTUVWXYZ"
NOT_HEX = NOT_HEX_UPPER + "ghijklmnopqrstuvwxyz"
WINDOW = 12
NOWHERE = "/nonexistent/roma-nb-credentials"
DATE_FROM = 1630052714000
FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.02)
AUTH_KINDS = ("token", "password", "aksk")


def made_up(seed: str, alphabet: str, length: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


USER, DOMAIN = "secrets-user", "secrets-domain"
TOKEN = "MIItok" + made_up("token", NOT_HEX, 58)
PASSWORD = "Pw-" + made_up("password", NOT_HEX, 21)
AK = made_up("ak", NOT_HEX_UPPER, 20)
SK = made_up("sk", NOT_HEX, 40)
WRONG_PASSWORD = "Pw-" + made_up("wrong password", NOT_HEX, 21)
WRONG_SK = made_up("wrong sk", NOT_HEX, 40)
SECRETS = {
    "token": TOKEN,
    "password": PASSWORD,
    "AK": AK,
    "SK": SK,
    "wrong password": WRONG_PASSWORD,
    "wrong SK": WRONG_SK,
}


def fragments(secret: str) -> set[str]:
    return {secret} | {secret[i : i + WINDOW] for i in range(len(secret) - WINDOW + 1)}


@dataclass
class Seen:
    """Every text that came out, by where it came from."""

    texts: dict[str, list[str]] = field(default_factory=dict)

    def add(self, where: str, *items: object) -> None:
        self.texts.setdefault(where, []).extend(as_text(item) for item in items)

    def leaks(self, secrets: dict[str, str]) -> list[str]:
        found = []
        for where, texts in self.texts.items():
            joined = "\n".join(texts)
            for name, secret in secrets.items():
                if any(part in joined for part in fragments(secret)):
                    found.append(f"{name} in {where}")
        return found


def as_text(item: object) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, bytes):
        return item.decode("latin-1")  # every byte stays one character: nothing is lost
    if isinstance(item, BaseException):
        return "".join(traceback.format_exception(item)) + repr(item) + str(item)
    return repr(item) + "\n" + str(item)


@pytest.fixture(scope="module")
def _server() -> Iterator[Sandbox]:
    with serve(  # raw resets of whatever tasks: a server that lets running ones be reset
        tasks_per_instance=30,
        users={USER: (PASSWORD, DOMAIN)},
        access_keys={AK: SK},
        refuse_running=False,
    ) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(_server: Sandbox) -> Sandbox:
    _server.reset_state()
    return _server


def issued_tokens(sandbox: Sandbox) -> dict[str, str]:
    """Tokens IAM issued and the client then sent (the sandbox recorded the headers)."""
    sent = {c.header("x-auth-token") for c in sandbox.calls} - {None, TOKEN}
    return {f"issued token {i}": t for i, t in enumerate(sorted(t for t in sent if t))}


def all_secrets(sandbox: Sandbox) -> dict[str, str]:
    return {**SECRETS, **issued_tokens(sandbox)}


def check(seen: Seen, sandbox: Sandbox) -> None:
    """No leak, and a planted fragment of each secret would have been found."""
    secrets = all_secrets(sandbox)
    for name, secret in secrets.items():
        probe = Seen()
        probe.add("probe", f"…{secret[3 : 3 + WINDOW]}…")
        assert probe.leaks({name: secret}) == [f"{name} in probe"]
    assert seen.leaks(secrets) == []


def env_for(sandbox: Sandbox, kind: str) -> dict[str, str]:
    """What a user would export for each kind of credential."""
    base = {"ROMA_NB_ENDPOINT": sandbox.url, "HUAWEICLOUD_SDK_PROJECT_ID": sandbox.project_id}
    if kind == "token":
        return {**base, "ROMA_NB_TOKEN": TOKEN}
    if kind == "aksk":
        return {**base, "HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK}
    return {
        **base,
        "ROMA_NB_USERNAME": USER,
        "ROMA_NB_PASSWORD": PASSWORD,
        "ROMA_NB_DOMAIN": DOMAIN,
        "HUAWEICLOUD_SDK_IAM_ENDPOINT": sandbox.iam_url,
    }


def make_auth(sandbox: Sandbox, kind: str, *, wrong: bool = False) -> httpx.Auth:
    if kind == "token":
        return TokenAuth(TOKEN)
    if kind == "aksk":
        return AkSkAuth(AK, WRONG_SK if wrong else SK, project_id=sandbox.project_id)
    return PasswordAuth(
        USER,
        WRONG_PASSWORD if wrong else PASSWORD,
        DOMAIN,
        project_id=sandbox.project_id,
        iam_endpoint=sandbox.iam_url,
    )


@dataclass(frozen=True)
class Targets:
    instance: str
    tasks: list[str]

    def pairs(self, count: int) -> list[tuple[str, str]]:
        return [(self.instance, t) for t in self.tasks[:count]]


def targets_of(sandbox: Sandbox) -> Targets:
    instance = sandbox.state.instances[0].id
    return Targets(instance, [t.task_id for t in sandbox.state.combined_tasks(instance)])


FAULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("task_running", {}),
    ("server_error", {}),
    ("drop", {}),
    ("throttle", {"retry_after": 0}),
    ("bad_gateway_html", {}),
    ("expired_token", {}),
    ("slow", {"delay_s": 3.0}),
)


def queue_faults(sandbox: Sandbox, targets: Targets) -> None:
    """One fault for each of the first tasks: errors, an unknown, a retry, an expired token."""
    for (kind, params), task in zip(FAULTS, targets.tasks, strict=False):
        sandbox.inject(kind, match=task, method="POST", **params)


def history_texts(seen: Seen, log: ResultLog, directory: Path) -> None:
    """The history as every reader shows it, and its files' raw bytes."""
    frame = log.to_frame()
    assert len(frame), "the history must hold rows for this scan to mean anything"
    seen.add("history records", log.records(), log)
    seen.add(
        "history frame",
        frame.to_string(),
        frame.to_csv(),
        frame.to_json(date_format="iso", default_handler=str),
    )
    seen.add("history styled", log.display_frame().to_html())
    log.to_csv(directory / "export.csv")
    log.to_parquet(directory / "export.parquet")
    seen.add("history exports", *(p.read_bytes() for p in directory.glob("export.*")))


def file_bytes(seen: Seen, where: str, directory: Path) -> None:
    """Raw bytes of every file under ``directory`` (the SQLite file, its WAL and shared memory)."""
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    seen.add(where, *(p.read_bytes() for p in files))


# -- the client, the history, the logs ---------------------------------------------------------


@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_client_history_and_logs_show_no_secret(
    sandbox: Sandbox, debug_log: DebugCapture, tmp_path: Path, kind: str
) -> None:
    seen = Seen()
    targets = targets_of(sandbox)
    env = env_for(sandbox, kind)
    settings = resolve_settings(env=env, credentials_file=NOWHERE)
    seen.add("settings", settings)
    store = tmp_path / "history"
    store.mkdir()
    timeout = httpx.Timeout(10, read=1.0)  # the slow fault's reset becomes unknown
    with (
        connect(env=env, credentials_file=NOWHERE, retry=FAST, timeout=timeout) as client,
        ResultLog(store / "history.sqlite") as log,
    ):
        seen.add("client", client, client.auth)
        instances = client.list_instances()
        tasks = client.list_tasks(targets.instance)
        seen.add("records", instances, tasks, client.get_task(targets.instance, tasks[0].task_id))
        seen.add("records", client.task_monitors(targets.instance))
        seen.add("records", client.monitor_logs(targets.instance, tasks[0].task_id))
        queue_faults(sandbox, targets)
        results = client.reset_many(targets.pairs(len(FAULTS) + 2), DATE_FROM, log=log)
        seen.add("results", results, [r.to_dict() for r in results])
        sandbox.inject("task_running", match=targets.tasks[0], method="POST")
        with pytest.raises(RomaError) as refused:
            client.reset_combined_task(targets.instance, targets.tasks[0], DATE_FROM)
        seen.add("exceptions", refused.value)
        history_texts(seen, log, tmp_path)
    outcomes = {r.outcome for r in results}
    assert {"success", "failed", "unknown"} <= outcomes, outcomes

    async def async_reset() -> object:
        async with AsyncRomaClient(
            sandbox.url, project_id=sandbox.project_id, auth=make_auth(sandbox, kind)
        ) as aclient:
            seen.add("client", aclient)
            return await aclient.reset_combined_task(targets.instance, targets.tasks[-1], None)

    seen.add("results", asyncio.run(async_reset()))
    file_bytes(seen, "history file", store)

    seen.add("logs", *debug_log.lines)
    assert any(line.startswith("roma_nb.client DEBUG") for line in debug_log.lines)
    assert any("receive_response_headers.complete" in line for line in debug_log.lines)
    check(seen, sandbox)


def test_refused_credentials_show_no_secret(sandbox: Sandbox, debug_log: DebugCapture) -> None:
    seen = Seen()
    for kind in ("password", "aksk"):
        auth = make_auth(sandbox, kind, wrong=True)
        with RomaClient(sandbox.url, project_id=sandbox.project_id, auth=auth) as client:
            seen.add("reprs", client, auth)
            with pytest.raises(RomaError) as refused:
                client.list_instances()
            seen.add("exceptions", refused.value)
            [result] = client.reset_many([("inst", "task")], DATE_FROM)
            assert result.outcome == "failed"
            seen.add("results", result)
    sandbox.reject_token(TOKEN)
    with RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth(TOKEN)) as client:
        with pytest.raises(RomaError) as rejected:
            client.list_instances()
        seen.add("exceptions", rejected.value)
    broken = {**env_for(sandbox, "aksk"), "HUAWEICLOUD_SDK_SK": SK[:20] + "\x01" + SK[20:]}
    with pytest.raises(RomaError) as unusable:
        connect(env=broken, credentials_file=NOWHERE)
    seen.add("exceptions", unusable.value)
    seen.add("logs", *debug_log.lines)
    check(seen, sandbox)


def test_the_sandbox_control_plane_serves_no_secret(sandbox: Sandbox) -> None:
    for kind in AUTH_KINDS:
        with RomaClient(
            sandbox.url, project_id=sandbox.project_id, auth=make_auth(sandbox, kind)
        ) as client:
            client.list_instances()
    seen = Seen()
    for path in ("calls", "logins", "info"):
        seen.add(f"/_sandbox/{path}", httpx.get(f"{sandbox.url}/_sandbox/{path}").text)
    check(seen, sandbox)


# -- the panel ---------------------------------------------------------------------------------


def widget_states(root: Any) -> list[str]:
    """The state of a widget and all its descendants, as the front end would receive it."""
    found: list[str] = []
    pending = [root]
    while pending:
        widget = pending.pop()
        found.append(json.dumps(widget.get_state(), default=repr))
        pending.extend(getattr(widget, "children", ()))
    return found


@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_the_panel_shows_no_secret(
    sandbox: Sandbox, debug_log: DebugCapture, tmp_path: Path, kind: str
) -> None:
    from roma_nb.widgets import ResetPanel

    seen = Seen()
    targets = targets_of(sandbox)
    queue_faults(sandbox, targets)
    timeout = httpx.Timeout(10, read=1.0)
    auth = make_auth(sandbox, kind)
    with (
        RomaClient(
            sandbox.url, project_id=sandbox.project_id, auth=auth, retry=FAST, timeout=timeout
        ) as client,
        ResultLog(tmp_path / "history.sqlite") as log,
    ):
        panel = ResetPanel(client, log=log, background=False, dry_run=False)
        panel.select(
            instance_id=targets.instance,
            task_ids=targets.tasks[: len(FAULTS) + 1],
            date_from=DATE_FROM,
            dry_run=False,
        )
        panel.preview()
        seen.add("panel confirmation", panel.confirmation_text())
        results = panel.run(confirm=True)
        assert {"success", "failed", "unknown"} <= {r.outcome for r in results}
        seen.add("panel", panel, panel.model, results, panel.results.to_string(), *panel.errors)
        seen.add("panel widgets", *widget_states(panel))
        history_texts(seen, log, tmp_path)
    with RomaClient(
        sandbox.url, project_id=sandbox.project_id, auth=make_auth(sandbox, kind, wrong=True)
    ) as refused_client:
        if kind == "token":
            sandbox.reject_token(TOKEN)
        refused = ResetPanel(refused_client, background=False, dry_run=False)
        assert refused.errors, "the failed listing is shown in the panel's output"
        seen.add("refused panel", *refused.errors, *widget_states(refused))
    seen.add("logs", *debug_log.lines)
    check(seen, sandbox)


# -- the command -------------------------------------------------------------------------------

DRIVER = """
import logging, sys
from roma_nb.cli import main
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
for argv in __import__("json").loads(sys.argv[1]):
    print("exit", main(argv), flush=True)
"""
"""Runs several ``roma-nb`` commands in one process with DEBUG logging on, as a user chasing a
problem would (``roma-nb`` has no flag for it; ``logging`` is how a Python user turns it on)."""


def command_env(sandbox: Sandbox, tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    from browser.kernels import CONFIG_VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        **env,
        "HOME": str(home),
        "ROMA_NB_HISTORY": str(tmp_path / "h" / "history.sqlite"),
        **extra,
    }


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_the_command_shows_no_secret(sandbox: Sandbox, tmp_path: Path, kind: str) -> None:
    seen = Seen()
    targets = targets_of(sandbox)
    queue_faults(sandbox, targets)
    (tmp_path / "h").mkdir()
    env = command_env(sandbox, tmp_path, env_for(sandbox, kind))
    reset = ["reset", targets.instance, *targets.tasks[:4], "--date-from", str(DATE_FROM)]
    commands = [
        ["instances"],
        ["tasks", targets.instance],
        ["monitors", targets.instance],
        [*reset, "--dry-run"],
        [*reset, "--yes"],
        ["history"],
        ["history", "--format", "csv"],
        ["history", "--format", "json"],
    ]
    done = run([sys.executable, "-c", DRIVER, json.dumps(commands)], env)
    assert done.stdout.count("exit ") == len(commands), done.stderr[-2000:]
    assert "exit 1" in done.stdout  # the faulted resets failed, and said so
    assert "DEBUG" in done.stderr
    seen.add("command output", done.stdout, done.stderr)

    wrong = {**env_for(sandbox, kind), "ROMA_NB_PASSWORD": WRONG_PASSWORD}
    if kind == "aksk":
        wrong["HUAWEICLOUD_SDK_SK"] = WRONG_SK
    if kind == "token":
        sandbox.reject_token(TOKEN)
    refused = run(
        [str(Path(sys.executable).parent / "roma-nb"), "instances"],
        command_env(sandbox, tmp_path, wrong),
    )
    assert refused.returncode != 0
    seen.add("refused command output", refused.stdout, refused.stderr)
    file_bytes(seen, "history file", tmp_path / "h")
    check(seen, sandbox)


# -- the notebook ------------------------------------------------------------------------------


@pytest.mark.notebook
@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_the_executed_runbook_holds_no_secret(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, kind: str
) -> None:
    from browser.kernels import isolated_env, run_notebook

    runbook = Path(__file__).resolve().parent.parent / "notebooks" / "reset_combined_task.ipynb"
    targets = targets_of(sandbox)
    history = tmp_path / "h" / "history.sqlite"
    history.parent.mkdir()
    env = isolated_env(
        tmp_path_factory.mktemp("jupyter"),
        {**env_for(sandbox, kind), "ROMA_NB_HISTORY": str(history)},
    )
    notebook = run_notebook(
        runbook,
        env=env,
        parameters={
            "instance_id": targets.instance,
            "task_ids": targets.tasks[:2],
            "date_from": datetime.fromtimestamp(DATE_FROM / 1000, timezone.utc).isoformat(),
            "dry_run": False,
            "confirm": True,
            "verify": False,  # DATE_FROM is older than the change-log retention: not verifiable
        },
    )
    assert sorted(r.task_id for r in sandbox.resets) == sorted(targets.tasks[:2])
    seen = Seen()
    saved = tmp_path / "executed.ipynb"
    saved.write_text(json.dumps(notebook, indent=1), encoding="utf-8")  # as nbformat saves it
    assert "application/vnd.jupyter.widget-state+json" in saved.read_text(encoding="utf-8")
    seen.add("executed notebook", saved.read_bytes())
    file_bytes(seen, "history file", history.parent)
    check(seen, sandbox)
