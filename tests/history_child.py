"""A child process for the history tests: run as ``python tests/history_child.py MODE ...``.

Modes:

* ``append PATH ACTOR COUNT``: print ``ready``, wait for a line on stdin (a start barrier so
  every writer opens and appends at the same time), then append COUNT results to the history.
* ``batch URL PROJECT_ID PATH DATE_FROM CONCURRENCY TARGETS_JSON``: run
  ``RomaClient.reset_many`` over the ``[[instance_id, task_id], ...]`` in the file TARGETS_JSON
  with the history at PATH; the parent kills this process with SIGKILL in the middle.
* ``rewind URL PROJECT_ID PATH DATE_FROM TARGETS_JSON``: run ``RomaClient.rewind`` (no
  verification) over the targets with the history at PATH; the parent kills it with SIGKILL
  after the stops, before the starts.

Not a test module (pytest does not collect it); it is a script so that the children are real,
separate processes that share nothing but the file.
"""

from __future__ import annotations

import json
import sys

from roma_nb.history import RecordContext, ResultLog
from roma_nb.models import ResetResult


def append(path: str, actor: str, count: int) -> None:
    print("ready", flush=True)
    sys.stdin.readline()
    with ResultLog(path, context=RecordContext(project_id="p", actor=actor)) as log:
        for sequence in range(count):
            log.append(
                ResetResult(
                    instance_id="instance",
                    task_id=f"{actor}-{sequence}",
                    outcome="success",
                    date_from=1_630_052_714_000 + sequence,
                    attempts=1,
                )
            )


def batch(
    url: str, project_id: str, path: str, date_from: int, concurrency: int, targets_json: str
) -> None:
    from roma_nb.auth import TokenAuth
    from roma_nb.client import RomaClient

    with open(targets_json, encoding="utf-8") as handle:
        targets = [(instance, task) for instance, task in json.load(handle)]
    context = RecordContext(project_id=project_id, endpoint_label=url, actor="batch-child")
    with (
        ResultLog(path, context=context) as log,
        RomaClient(url, project_id=project_id, auth=TokenAuth("t")) as client,
    ):
        client.reset_many(targets, date_from=date_from, concurrency=concurrency, log=log)


def rewind(url: str, project_id: str, path: str, date_from: int, targets_json: str) -> None:
    from roma_nb.auth import TokenAuth
    from roma_nb.client import RomaClient

    with open(targets_json, encoding="utf-8") as handle:
        targets = [(instance, task) for instance, task in json.load(handle)]
    context = RecordContext(project_id=project_id, endpoint_label=url, actor="rewind-child")
    with (
        ResultLog(path, context=context) as log,
        RomaClient(url, project_id=project_id, auth=TokenAuth("t")) as client,
    ):
        client.rewind(targets, date_from, verify=False, log=log)


def main(argv: list[str]) -> int:
    mode, *args = argv
    if mode == "append":
        append(args[0], args[1], int(args[2]))
    elif mode == "batch":
        batch(args[0], args[1], args[2], int(args[3]), int(args[4]), args[5])
    elif mode == "rewind":
        rewind(args[0], args[1], args[2], int(args[3]), args[4])
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
