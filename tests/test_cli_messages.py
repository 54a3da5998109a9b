"""What ``roma-nb`` says, in a shell's words: flags and variables, never Python arguments; the
cause of a failed connection; the command's own usage; and its version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import trustme
from cli_shell import PYTHON_ISMS, roma_nb, shell_env

from roma_nb.cli import build_parser

Sandbox = Any
README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def env(roma_sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    history = tmp_path / "history.sqlite"
    return shell_env(tmp_path, {**roma_sandbox.env, "ROMA_NB_HISTORY": str(history)})


def speaks_shell(stderr: str) -> None:
    for phrase in PYTHON_ISMS:
        assert phrase not in stderr, f"{phrase!r} in: {stderr}"


# -- 4: configuration in flags and variables ------------------------------------------------------


def test_missing_configuration_names_flags_and_variables(tmp_path: Path) -> None:
    done = roma_nb("instances", env=shell_env(tmp_path))
    assert done.returncode == 2
    speaks_shell(done.stderr)
    for wanted in (
        "--endpoint URL",
        "--region REGION",
        "ROMA_NB_ENDPOINT",
        "--project-id",
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "ROMA_NB_TOKEN",
        "use --endpoint sandbox",
    ):
        assert wanted in done.stderr


def test_wrong_flags_are_named_as_flags(tmp_path: Path) -> None:
    done = roma_nb(
        *("instances", "--endpoint", "roma.example", "--ca-bundle", str(tmp_path / "none.pem")),
        env=shell_env(tmp_path),
    )
    assert done.returncode == 2
    speaks_shell(done.stderr)
    assert "(from --endpoint)" in done.stderr and "(from --ca-bundle)" in done.stderr


@pytest.mark.parametrize(
    ("date_from", "tz", "wanted"),
    [
        ("", "UTC", "--no-date-from"),
        ("2024-03-31T02:30", "Europe/Paris", "does not exist in Europe/Paris"),
        ("2024-10-27T02:30", "Europe/Paris", "occurs twice in Europe/Paris"),
        ("2021", "UTC", "Write a date as '2021-08-27'."),
    ],
)
def test_times_are_corrected_in_the_shells_words(
    roma_sandbox: Sandbox, env: dict[str, str], date_from: str, tz: str, wanted: str
) -> None:
    done = roma_nb("reset", "INSTANCE", "TASK", "--date-from", date_from, "--tz", tz, env=env)
    assert done.returncode == 2
    assert wanted in done.stderr
    speaks_shell(done.stderr)
    assert roma_sandbox.calls == []


@pytest.mark.parametrize(("command", "flag"), [("history", "--path"), ("reset", "--history")])
def test_a_foreign_history_file_names_the_flag(
    roma_sandbox: Sandbox, env: dict[str, str], tmp_path: Path, command: str, flag: str
) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("notes")
    instance = roma_sandbox.state.instances[0]
    task = roma_sandbox.state.combined_tasks(instance.id)[0]
    argv = {
        "history": ("history", "--path", str(foreign)),
        "reset": (
            *("reset", instance.id, task.task_id, "--date-from", "2024-05-01T02:00Z"),
            *("--yes", "--history", str(foreign)),
        ),
    }[command]
    done = roma_nb(*argv, env=env)
    assert done.returncode == 2
    assert f"Give {flag} another file" in done.stderr
    speaks_shell(done.stderr)


# -- 8: seconds, TLS, DNS -------------------------------------------------------------------------


def test_monitors_want_milliseconds_in_their_own_words(
    roma_sandbox: Sandbox, env: dict[str, str]
) -> None:
    instance = roma_sandbox.state.instances[0]
    task = roma_sandbox.state.combined_tasks(instance.id)[0]
    done = roma_nb("monitors", instance.id, task.task_id, "--since", "1714528800", env=env)
    assert done.returncode == 2
    assert done.stderr == (
        "roma-nb monitors: --since 1714528800 looks like seconds (2024-05-01T02:00:00Z); "
        "--since takes epoch milliseconds: use 1714528800000.\n"
    )
    assert roma_sandbox.calls == []


def test_https_against_plain_http_says_tls(roma_sandbox: Sandbox, env: dict[str, str]) -> None:
    https = roma_sandbox.url.replace("http://", "https://")
    done = roma_nb("instances", "--endpoint", https, env=env)
    assert done.returncode == 1
    assert "ConnectError" not in done.stderr
    assert "the TLS handshake failed" in done.stderr
    assert "plain HTTP, give an http:// URL" in done.stderr
    assert roma_sandbox.calls == []  # the sandbox never saw an HTTP request


def test_an_untrusted_certificate_names_ca_bundle(
    roma_sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    bundle, cert, key = (tmp_path / name for name in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(bundle))
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    sandbox = roma_sandbox_factory(
        ssl_certfile=str(cert), ssl_keyfile=str(key), instances=1, refuse_running=False
    )
    env = shell_env(tmp_path, sandbox.env)

    refused = roma_nb("instances", env=env)
    assert refused.returncode == 1
    assert "give --ca-bundle /path/to/ca.pem or set ROMA_NB_CA_BUNDLE" in refused.stderr
    speaks_shell(refused.stderr)
    assert sandbox.calls == []

    trusted = roma_nb("instances", "--ca-bundle", str(bundle), "--format", "csv", env=env)
    assert trusted.returncode == 0, trusted.stderr
    assert len(trusted.stdout.splitlines()) == 2


def test_a_host_that_does_not_resolve_says_dns(env: dict[str, str]) -> None:
    done = roma_nb("instances", "--endpoint", "https://roma.no-such-host.invalid", env=env)
    assert done.returncode == 1
    assert "ConnectError" not in done.stderr
    assert "the host name does not resolve (DNS" in done.stderr


# -- 7 and 8: usage and version ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["history", "tasks", "reset"])
def test_an_unknown_option_shows_the_subcommands_usage(env: dict[str, str], command: str) -> None:
    done = roma_nb(command, "--no-such-option", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith(f"usage: roma-nb {command} ")
    assert f"roma-nb {command}: error: " in done.stderr


def test_version(tmp_path: Path) -> None:
    done = roma_nb("--version", env=shell_env(tmp_path))
    assert (done.returncode, done.stdout) == (0, f"roma-nb {version('roma-nb')}\n")


# -- 9: the README says which commands take --format -------------------------------------------


def test_the_readme_names_the_commands_that_take_format() -> None:
    parser = build_parser()
    [commands] = [a for a in parser._actions if a.dest == "command"]
    assert commands.choices is not None
    takes_format = {
        name
        for name, sub in dict(commands.choices).items()
        if any("--format" in a.option_strings for a in sub._actions)
    }
    section = README.read_text(encoding="utf-8").split("## Command line", 1)[1].split("\n## ")[0]
    match = re.search(r"`--format table\|csv\|json` is taken by ([^.(]+)", section)
    assert match, "the Command line section says which commands take --format"
    assert set(re.findall(r"`(\w+)`", match.group(1))) == takes_format
