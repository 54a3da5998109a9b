"""Refuse committed notebooks that carry outputs, execution counts, widget state or secrets.

A notebook saved after a run keeps what the run printed: tables of production tasks, a token
pasted into a cell "just for a minute", the widget state of a panel that named an environment.
The repository's notebooks are templates and must be committed clean, so ``make lint`` runs::

    python -m roma_nb._check_notebooks notebooks

and fails, naming file, cell and reason, for:

* a code cell with outputs or an execution count, or notebook metadata holding saved widget
  state (``metadata.widgets``);
* text that looks secret in any cell or in the metadata: private-key blocks, IAM tokens
  (they start ``MII`` and run to kilobytes), auth headers with a value, string literals assigned
  to names such as ``token``, ``password``, ``sk`` or ``ak``, and strings shaped like a Huawei
  Cloud access key (20 upper-case letters and digits) or secret key (40 mixed letters and
  digits);
* a papermill ``parameters`` cell that names a credential: papermill saves parameters into every
  output notebook, so credentials must come from the environment, never from parameters.

``--fix`` clears outputs, execution counts and widget state in place (never secrets: those must be
removed by a person, who must also rotate them). The check reads JSON directly rather than
through ``nbformat``, whose import costs seconds, so linting stays instant.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Problem", "check_notebook", "check_paths", "find_secrets", "main", "strip_notebook"]

_SECRET_NAMES = (
    r"token|password|passwd|pwd|secret|secret_key|access_key|ak|sk|security_token|"
    r"auth_token|api_key|apikey|x_auth_token|credentials?"
)
_SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key block", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an IAM token (MII...)", re.compile(r"MII[A-Za-z0-9+/=_-]{60,}")),
    (
        "an auth header with a value",
        re.compile(
            r"(?i)(?:x-auth-token|x-subject-token|x-security-token|authorization)[\"']?\s*[:=]\s*"
            r"[\"'][A-Za-z0-9+/=_. -]{8,}[\"']"
        ),
    ),
    (
        "a string literal assigned to a credential name",
        re.compile(
            rf"(?i)(?<![A-Za-z0-9])(?:[A-Za-z0-9]+_)*(?:{_SECRET_NAMES})[\"']?\]?\s*[:=]\s*"
            r"[rbuRBU]{0,2}([\"'])[^\"'\n]{4,}\1"
        ),
    ),
    (
        "something shaped like an access key (AK)",
        re.compile(
            r"(?<![A-Za-z0-9_])(?=[A-Z0-9]*[0-9])(?=[A-Z0-9]*[A-Z])[A-Z0-9]{20}(?![A-Za-z0-9_])"
        ),
    ),
    (
        "something shaped like a secret key (SK)",
        re.compile(
            r"(?<![A-Za-z0-9_/+])(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])"
            r"[A-Za-z0-9]{40}(?![A-Za-z0-9_/+])"
        ),
    ),
)
_PARAMETER_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=", re.MULTILINE)
_CREDENTIAL_PARAMETER = re.compile(
    rf"(?i)^(?:[a-z0-9]+_)*(?:{_SECRET_NAMES}|username|user)(?:_[a-z0-9]+)*$"
)


@dataclass(frozen=True)
class Problem:
    """One reason a notebook cannot be committed. ``cell`` is 1-based, None for the notebook."""

    path: Path
    cell: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}" if self.cell is None else f"{self.path}: cell {self.cell}"
        return f"{where}: {self.reason}"


def find_secrets(text: str) -> list[str]:
    """What in ``text`` looks secret, one description per kind found (never the value itself)."""
    return [what for what, pattern in _SECRET_PATTERNS if pattern.search(text)]


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _cell_problems(path: Path, number: int, cell: dict[str, Any]) -> Iterator[Problem]:
    if cell.get("cell_type") == "code":
        if cell.get("outputs"):
            yield Problem(path, number, "has outputs (clear them before committing)")
        if cell.get("execution_count") is not None:
            yield Problem(path, number, "has an execution count (clear outputs before committing)")
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            for name in _PARAMETER_NAME.findall(_source(cell)):
                if _CREDENTIAL_PARAMETER.match(name):
                    yield Problem(
                        path,
                        number,
                        f"the parameters cell names a credential ({name}); papermill saves "
                        "parameters into output notebooks: read credentials from the environment",
                    )
    for what in find_secrets(_source(cell)):
        yield Problem(path, number, f"contains {what}")
    if cell.get("attachments"):
        yield Problem(path, number, "has attachments (commit images as files instead)")


def check_notebook(path: Path) -> list[Problem]:
    """Every problem of one notebook file; an unreadable file is one problem, not a crash."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [Problem(path, None, f"cannot be read as a notebook: {exc}")]
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return [Problem(path, None, "is not a notebook (no list of cells)")]
    problems: list[Problem] = []
    metadata = notebook.get("metadata", {})
    if isinstance(metadata, dict) and metadata.get("widgets"):
        problems.append(Problem(path, None, "has saved widget state in its metadata"))
    for what in find_secrets(json.dumps(metadata)):
        problems.append(Problem(path, None, f"metadata contains {what}"))
    for number, cell in enumerate(notebook["cells"], start=1):
        if isinstance(cell, dict):
            problems.extend(_cell_problems(path, number, cell))
        else:
            problems.append(Problem(path, number, "is not a cell object"))
    return problems


def strip_notebook(path: Path) -> bool:
    """Clear outputs, execution counts and widget state in place; True if the file changed."""
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    notebook.get("metadata", {}).pop("widgets", None)
    new = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def _notebooks(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
            )
        else:
            yield path


def check_paths(paths: Sequence[Path]) -> list[Problem]:
    """Problems of every notebook in ``paths`` (directories are searched recursively)."""
    problems: list[Problem] = []
    for path in _notebooks(paths):
        problems.extend(check_notebook(path))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m roma_nb._check_notebooks",
        description="Refuse notebooks committed with outputs, execution counts, widget state "
        "or anything that looks secret.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or directories")
    parser.add_argument(
        "--fix",
        action="store_true",
        help="clear outputs, execution counts and widget state in place first (not secrets)",
    )
    args = parser.parse_args(argv)
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        for path in missing:
            print(f"{path}: no such file or directory", file=sys.stderr)
        return 2
    if args.fix:
        for path in _notebooks(args.paths):
            if strip_notebook(path):
                print(f"{path}: cleared outputs", file=sys.stderr)
    problems = check_paths(args.paths)
    for problem in problems:
        print(problem, file=sys.stderr)
    count = len(list(_notebooks(args.paths)))
    if problems:
        print(f"{len(problems)} problem(s) in {count} notebook(s).", file=sys.stderr)
        return 1
    print(f"{count} notebook(s) clean.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
