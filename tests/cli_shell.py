"""Running the installed ``roma-nb`` as a shell user does: its own process, its own environment.

The tests that use this check what a person at a terminal sees (exit codes, stderr, stdout through
real pipes) and, from the sandbox's records, what reached the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roma_nb.config import ENVIRONMENT_VARIABLES

ROMA_NB = str(Path(sys.executable).with_name("roma-nb"))
"""The console script pip installed next to this interpreter."""

PYTHON_ISMS = (
    "endpoint=",
    "project_id=",
    "region=",
    "verify=",
    "auth=",
    "path=",
    "iam_endpoint=",
    "nonexistent=",
    "ambiguous=",
    "allow_forward=",
    "overwrite=",
    "connect(",
    "pass None",
    "pass an int",
    "Traceback",
)
"""Python-API wording that must never reach a shell user."""


def shell_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This machine's environment without any roma_nb configuration, HOME moved to ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
    env["HOME"] = str(home)
    env.update(extra or {})
    return env


def roma_nb(*argv: str, env: Mapping[str, str], **options: Any) -> subprocess.CompletedProcess[str]:
    """``roma-nb ARGV...`` to completion; output captured as text unless ``stdout`` or
    ``stderr`` say otherwise."""
    if "stdout" not in options and "stderr" not in options:
        options["capture_output"] = True
    return subprocess.run(
        [ROMA_NB, *argv], env=dict(env), text=True, timeout=120, check=False, **options
    )
