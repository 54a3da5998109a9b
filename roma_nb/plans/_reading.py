"""Reading a plan back: every way a file can fail to be the plan that was reviewed, in words.

Checked in this order, each refusal a ``PlanFileError`` naming the file:

1. the bytes: at most ``MAX_PLAN_BYTES``, UTF-8 (a byte-order mark is allowed), JSON, with no
   key given twice in one object (a reviewer could read one value and roma_nb apply the other)
   and no ``NaN`` / ``Infinity``;
2. ``"format": "roma-nb plan"`` and a ``format_version`` this roma_nb reads;
3. ``plan_id`` equal to the SHA-256 of the canonical content: any edit of a value shows here;
4. no field missing, unknown, or of the wrong type;
5. values roma_nb can use (ids, zone, options, instants);
6. written fields agree with what they derive from (``date_from.utc`` / ``local``, each task's
   ``move``): so a value changed together with a recomputed id is still caught.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..dates import to_epoch_ms
from ..errors import ValidationError
from ._canonical import content_id
from ._document import FORMAT, FORMAT_VERSION, Plan, PlanFileError, PlannedTask
from ._environment import Environment
from ._position import Position
from ._procedure import Procedure
from ._target import DateFrom

__all__ = ["MAX_PLAN_BYTES", "load_plan", "read_document"]

MAX_PLAN_BYTES = 16 * 1024 * 1024
"""Larger files are refused unread (a plan for 10,000 tasks is about 4 MB)."""

_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
_OPT_BOOL = (bool, type(None))
_SHAPE: dict[str, Any] = {
    "format": str,
    "plan_id": str,
    "format_version": int,
    "created_at": str,
    "expires_at": str,
    "planner": str,
    "environment": {"label": str, "endpoint": str, "project_id": str},
    "instance": {"id": str, "name": str},
    "date_from": {
        "ms": _OPT_INT,
        "utc": _OPT_STR,
        "zone": str,
        "local": _OPT_STR,
        "typed": _OPT_STR,
    },
    "procedure": {"kind": str, "restart": _OPT_STR, "verify": _OPT_BOOL, "allow_forward": bool},
    "retention_ms": int,
    "tasks": [
        {
            "id": str,
            "name": str,
            "status": str,
            "execute_status": _OPT_STR,
            "position": {"evidence": str, "at": _OPT_STR},
            "move": {"direction": str, "amount_ms": _OPT_INT, "text": str},
        }
    ],
    "warnings": [str],
}


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """The plan in the file at ``path``; ``PlanFileError`` if it is not exactly one."""
    source = Path(path).expanduser()
    try:
        with source.open("rb") as stream:
            data = stream.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise PlanFileError(f"Cannot read the plan file {source}: {exc.strerror or exc}.") from None
    if len(data) > MAX_PLAN_BYTES:
        raise PlanFileError(
            f"{source} is larger than {MAX_PLAN_BYTES // (1024 * 1024)} MB: not a plan file."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanFileError(
            f"{source} is not a plan file: it is not UTF-8 text (byte {exc.start})."
        ) from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{source} is not a plan file: it is not JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})."
        ) from None
    except ValueError as exc:  # from the two hooks
        raise PlanFileError(f"{source} is not a plan file: {exc}") from None
    return read_document(document, str(source))


def _no_duplicates(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(
                f"the field {key!r} appears twice in one object, so a reader could see one "
                "value and roma_nb apply the other."
            )
        result[key] = value
    return result


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value.")


def read_document(document: object, source: str = "The plan") -> Plan:
    """The plan a parsed document describes (checks 2 to 6 of the module docstring)."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PlanFileError(f'{source} is not a roma_nb plan: it has no "format": "{FORMAT}".')
    version = document.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise PlanFileError(
            f"{source} is in plan format version {json.dumps(version)}; this roma_nb reads "
            f"version {FORMAT_VERSION} only. Apply it with the roma_nb that wrote it, or make the "
            "plan again."
        )
    claimed = document.get("plan_id")
    if not isinstance(claimed, str):
        raise PlanFileError(f"{source} has no plan_id: it was not written by roma_nb.")
    try:
        actual = content_id(document)
    except (TypeError, ValueError, UnicodeEncodeError):  # values canonical JSON cannot hold
        actual = "(no hash: it holds values that are not JSON text)"
    if actual != claimed:
        raise PlanFileError(
            f"{source} was changed after it was planned: its content hashes to {actual[:16]}…, "
            f"not the plan_id {claimed[:16]}… it carries. Nothing was sent. Make the plan again "
            "and have it reviewed again."
        )
    problems: dict[str, list[str]] = {"missing": [], "unknown": [], "wrong type": []}
    _check_shape(document, _SHAPE, "", problems)
    _raise_shape_problems(source, problems)
    try:
        plan = _plan_of(document)
    except ValidationError as exc:
        raise PlanFileError(f"{source} holds a value roma_nb cannot use: {exc}") from None
    expected = plan.to_document()
    del expected["plan_id"]  # checked above; it differs whenever anything below does
    found = _differences(document, expected, "")
    if found:
        raise PlanFileError(
            f"{source} contradicts itself: {found[0]}. It was edited; make the plan again."
        )
    return plan


def _fits(value: object, kinds: type | tuple[type, ...]) -> bool:
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool):
        return bool in allowed
    return isinstance(value, allowed)


def _check_shape(value: object, shape: object, where: str, problems: dict[str, list[str]]) -> None:
    """Collect the missing, unknown and wrongly typed fields of ``value`` against ``shape``."""
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            problems["wrong type"].append(f"{where} (an object is expected)")
            return
        prefix = f"{where}." if where else ""
        problems["missing"].extend(prefix + key for key in shape if key not in value)
        problems["unknown"].extend(prefix + key for key in value if key not in shape)
        for key, inner in shape.items():
            if key in value:
                _check_shape(value[key], inner, prefix + key, problems)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            problems["wrong type"].append(f"{where} (a list is expected)")
            return
        for index, item in enumerate(value):
            _check_shape(item, shape[0], f"{where}[{index}]", problems)
    elif isinstance(shape, type | tuple) and not _fits(value, shape):
        problems["wrong type"].append(f"{where} ({type(value).__name__})")


def _raise_shape_problems(source: str, problems: dict[str, list[str]]) -> None:
    parts = []
    for kind, fields in problems.items():
        if fields:
            more = f" and {len(fields) - 8} more" if len(fields) > 8 else ""
            parts.append(f"{kind}: {', '.join(fields[:8])}{more}")
    if parts:
        raise PlanFileError(
            f"{source} has fields roma_nb does not expect ({'; '.join(parts)}). It was not "
            "written by this version of roma_nb, or it was edited; make the plan again."
        )


def _ms(text: str | None) -> int | None:
    return None if text is None else to_epoch_ms(text)


def _plan_of(document: Mapping[str, Any]) -> Plan:
    environment, date_from = document["environment"], document["date_from"]
    procedure = document["procedure"]
    tasks = tuple(
        PlannedTask(
            id=task["id"],
            name=task["name"],
            status=task["status"],
            execute_status=task["execute_status"],
            position=Position(task["position"]["evidence"], _ms(task["position"]["at"])),
        )
        for task in document["tasks"]
    )
    return Plan(
        environment=Environment(
            environment["label"], environment["endpoint"], environment["project_id"]
        ),
        instance_id=document["instance"]["id"],
        instance_name=document["instance"]["name"],
        tasks=tasks,
        date_from=DateFrom(date_from["ms"], date_from["zone"], date_from["typed"]),
        procedure=Procedure(
            procedure["kind"], procedure["restart"], procedure["verify"], procedure["allow_forward"]
        ),
        planner=document["planner"],
        created_ms=to_epoch_ms(document["created_at"]),
        expires_ms=to_epoch_ms(document["expires_at"]),
        retention_ms=document["retention_ms"],
        warnings=tuple(document["warnings"]),
    )


def _differences(have: object, want: object, where: str) -> list[str]:
    """Where ``have`` (the file) differs from ``want`` (what its own data gives)."""
    if isinstance(want, dict) and isinstance(have, dict):
        return [
            found
            for key, value in want.items()
            for found in _differences(have.get(key), value, f"{where}.{key}".lstrip("."))
        ]
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        return [
            found
            for index, (item, value) in enumerate(zip(have, want, strict=True))
            for found in _differences(item, value, f"{where}[{index}]")
        ]
    if have == want and type(have) is type(want):
        return []
    return [
        f"{where} is {json.dumps(have, ensure_ascii=False)} but its own data gives "
        f"{json.dumps(want, ensure_ascii=False)}"
    ]
