"""Plan documents: the canonical form and ``plan_id``, save / load, and every refusal on load."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plans_data import NOW, SANDBOX, plans, sample_plan

from roma_nb.errors import ValidationError
from roma_nb.plans import (
    FORMAT_VERSION,
    Environment,
    Plan,
    PlanFileError,
    PlannedTask,
    Procedure,
    canonical_json,
    content_id,
)

TMP = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def rehash(document: dict[str, Any]) -> dict[str, Any]:
    """The document with a correct plan_id again, computed from the spec, not the code."""
    content = {key: value for key, value in document.items() if key != "plan_id"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**document, "plan_id": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def load_refusal(path: Path) -> str:
    with pytest.raises(PlanFileError) as caught:
        Plan.load(path)
    return str(caught.value)


# --- canonical JSON and plan_id --------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8_by_its_definition() -> None:
    document = {"b": [1, True, None], "a": 'é\n"', "plan_id": "ignored", "c": {"z": 0, "y": ""}}
    assert canonical_json(document) == (
        b'{"a":"\xc3\xa9\\n\\"","b":[1,true,null],"c":{"y":"","z":0},"plan_id":"ignored"}'
    )
    without = b'{"a":"\xc3\xa9\\n\\"","b":[1,true,null],"c":{"y":"","z":0}}'
    assert content_id(document) == hashlib.sha256(without).hexdigest()


def test_the_plan_id_is_the_hash_of_the_written_content_without_it() -> None:
    plan = sample_plan()
    document = plan.to_document()
    assert document["plan_id"] == plan.plan_id == rehash(document)["plan_id"]
    assert list(document)[:3] == ["format", "plan_id", "format_version"]
    assert len(plan.plan_id) == 64 and int(plan.plan_id, 16) >= 0


def test_a_plan_shows_what_a_reviewer_needs() -> None:
    document = sample_plan().to_document()
    assert document["format"] == "roma-nb plan" and document["format_version"] == FORMAT_VERSION
    assert document["environment"] == {
        "label": "SANDBOX",
        "endpoint": "SANDBOX",
        "project_id": "p1",
    }
    assert document["instance"] == {"id": "inst-1", "name": "roma-prod"}
    assert document["date_from"] == {
        "ms": NOW - 7_200_000,
        "utc": "2024-03-10T10:00:00Z",
        "zone": "Europe/Paris",
        "local": "2024-03-10 11:00:00 CET (+01:00)",
        "typed": "2h ago",
    }
    assert document["procedure"] == {
        "kind": "rewind",
        "restart": "as_before",
        "verify": True,
        "allow_forward": False,
    }
    assert document["planner"] == "alice"
    assert (document["created_at"], document["expires_at"]) == (
        "2024-03-10T12:00:00Z",
        "2024-03-11T12:00:00Z",
    )
    first, second = document["tasks"]
    assert first == {
        "id": "t1",
        "name": "orders",
        "status": "running",
        "execute_status": "RUNNING",
        "position": {"evidence": "monitor-log", "at": "2024-03-10T16:12:00Z"},
        "move": {"direction": "replay", "amount_ms": 22_320_000, "text": "replays 6 h 12 min"},
    }
    assert second["status"] == "stopped" and second["move"]["direction"] == "same"
    assert document["retention_ms"] == 2 * 86_400_000


# --- save and load ---------------------------------------------------------------------------


@TMP
@given(plan=plans())
def test_any_plan_survives_save_and_load(plan: Plan, tmp_path: Path) -> None:
    path = plan.save(tmp_path / "plan.json", overwrite=True)
    loaded = Plan.load(path)
    assert loaded == plan
    assert loaded.plan_id == plan.plan_id
    assert Plan.from_document(json.loads(plan.to_json())) == plan


@TMP
@given(plan=plans().filter(lambda plan: plan.procedure.kind == "rewind"))
def test_any_rewind_plan_survives_save_and_load_with_its_options(
    plan: Plan, tmp_path: Path
) -> None:
    """The rewind's restart and verify are what ``apply`` hands to ``client.rewind``."""
    loaded = Plan.load(plan.save(tmp_path / "rewind.json", overwrite=True))
    assert loaded.plan_id == plan.plan_id
    assert loaded.procedure == plan.procedure and loaded.work() == plan.work()


@given(plan=plans(), data=st.data())
def test_changing_any_single_value_is_caught(plan: Plan, data: st.DataObject) -> None:
    document = plan.to_document()
    leaves = list(_leaves(document))
    path, value = data.draw(st.sampled_from(leaves))
    changed = _changed(value)
    edited = _set(json.loads(json.dumps(document)), path, changed)
    with pytest.raises(PlanFileError) as caught:
        Plan.from_document(edited)
    message = str(caught.value)
    if path == ("format",):
        assert "is not a roma_nb plan" in message
    elif path == ("format_version",):
        assert "plan format version" in message
    else:
        assert "was changed after it was planned" in message


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Any:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _leaves(inner, (*path, index))
    else:
        yield path, value


def _changed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return "x"  # None


def _set(document: Any, path: tuple[Any, ...], value: object) -> Any:
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


def test_layout_is_not_content_a_reindented_file_loads(tmp_path: Path) -> None:
    plan = sample_plan()
    document = plan.to_document()
    shuffled = dict(reversed(list(document.items())))
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(shuffled, separators=(",", ":"), ensure_ascii=True), "utf-8")
    assert Plan.load(path) == plan
    path.write_bytes(b"\xef\xbb\xbf" + plan.to_json().encode())  # a BOM from a Windows editor
    assert Plan.load(path) == plan


def test_save_is_atomic_and_keeps_an_existing_plan(tmp_path: Path) -> None:
    plan = sample_plan()
    path = plan.save(tmp_path / "plan.json")
    assert os.listdir(tmp_path) == ["plan.json"]
    assert path.read_text("utf-8") == plan.to_json()
    other = sample_plan(planner="bob")
    with pytest.raises(PlanFileError, match="already exists; choose another name"):
        other.save(path)
    assert Plan.load(path) == plan
    other.save(path, overwrite=True)
    assert Plan.load(path) == other
    assert os.listdir(tmp_path) == ["plan.json"]


def test_a_failed_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "plan.json").mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(PlanFileError, match=r"Cannot write the plan file .*: Is a directory"):
        sample_plan().save(tmp_path / "plan.json", overwrite=True)
    assert os.listdir(tmp_path) == ["plan.json"]
    with pytest.raises(PlanFileError, match=r"Cannot write the plan file .*: No such file"):
        sample_plan().save(tmp_path / "missing" / "plan.json")


def test_the_file_is_readable_json_with_names_as_written(tmp_path: Path) -> None:
    plan = sample_plan(instance_name="生产实例")
    text = plan.save(tmp_path / "plan.json").read_text("utf-8")
    assert '"name": "生产实例"' in text
    assert text.startswith('{\n  "format": "roma-nb plan",\n  "plan_id": ')
    assert text.endswith("}\n")


# --- refusals on load ------------------------------------------------------------------------


def test_an_edited_byte_is_refused_and_says_nothing_was_sent(tmp_path: Path) -> None:
    path = sample_plan().save(tmp_path / "plan.json")
    text = path.read_text("utf-8")
    path.write_text(text.replace('"ms": 1710064800000', '"ms": 1710064800001'), "utf-8")
    message = load_refusal(path)
    assert message.startswith(f"{path} was changed after it was planned")
    assert "Nothing was sent" in message


def test_another_format_version_is_refused_before_the_hash(tmp_path: Path) -> None:
    document = sample_plan().to_document()
    document["format_version"] = 2
    message = load_refusal(write(tmp_path / "v2.json", document))
    assert "plan format version 2; this roma_nb reads version 1 only" in message
    document["format_version"] = "1"
    assert 'version "1"' in load_refusal(write(tmp_path / "v1s.json", document))


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d.pop("planner"), "missing: planner"),
        (lambda d: d["tasks"][0].pop("position"), "missing: tasks[0].position"),
        (lambda d: d.update(extra=1), "unknown: extra"),
        (lambda d: d["procedure"].update(dry_run=True), "unknown: procedure.dry_run"),
        (lambda d: d.update(retention_ms="2 days"), "wrong type: retention_ms (str)"),
        (lambda d: d["procedure"].update(verify=1), "wrong type: procedure.verify (int)"),
        (lambda d: d["date_from"].update(ms=True), "wrong type: date_from.ms (bool)"),
        (lambda d: d.update(tasks={}), "wrong type: tasks (a list is expected)"),
    ],
)
def test_fields_missing_unknown_or_of_the_wrong_type_are_named(
    tmp_path: Path, edit: Any, words: str
) -> None:
    document = sample_plan().to_document()
    edit(document)
    message = load_refusal(write(tmp_path / "plan.json", rehash(document)))
    assert words in message
    assert "make the plan again" in message


CONTRADICTS = "contradicts itself"
CANNOT_USE = "holds a value roma_nb cannot use"


@pytest.mark.parametrize(
    ("edit", "kind", "words"),
    [
        (lambda d: d["date_from"].update(utc="2024-03-10T09:00:00Z"), CONTRADICTS,
         "date_from.utc is"),
        (lambda d: d["date_from"].update(local="whenever"), CONTRADICTS, "date_from.local is"),
        (lambda d: d["tasks"][0]["move"].update(text="replays 1 min"), CONTRADICTS,
         "tasks[0].move.text is"),
        (lambda d: d["tasks"][0]["move"].update(direction="skip"), CONTRADICTS,
         "tasks[0].move.direction"),
        (lambda d: d.update(created_at="1710072000000"), CONTRADICTS, "created_at is"),
        (lambda d: d["date_from"].update(zone="Mars/Olympus"), CANNOT_USE, "Unknown time zone"),
        (lambda d: d["procedure"].update(restart="sometimes"), CANNOT_USE, "restart must be one"),
        (lambda d: d["tasks"][0].update(status="paused"), CANNOT_USE, "status must be one of"),
        (lambda d: d["tasks"][0]["position"].update(evidence="guess"), CANNOT_USE,
         "evidence must be one"),
        (lambda d: d["tasks"][1].update(id="t1"), CANNOT_USE, "lists each task once"),
        (lambda d: d["instance"].update(id="a/../" * 20), CANNOT_USE, "at most 64"),
        (lambda d: d.update(tasks=[]), CANNOT_USE, "at least one task"),
    ],
)  # fmt: skip
def test_an_edit_with_a_recomputed_id_is_still_refused(
    tmp_path: Path, edit: Any, kind: str, words: str
) -> None:
    """Whoever recomputes the id still cannot make a plan say two things or hold nonsense."""
    document = sample_plan().to_document()
    edit(document)
    message = load_refusal(write(tmp_path / "plan.json", rehash(document)))
    assert kind in message and words in message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "it is not JSON (Expecting value at line 1, column 1)"),
        (b"{\n  \"format\": ", "it is not JSON"),
        (b"\xff\xfe{}", "it is not UTF-8 text"),
        (b"[]", 'it has no "format": "roma-nb plan"'),
        (b'{"format": "something else"}', "is not a roma_nb plan"),
        (b'{"format": "roma-nb plan", "format_version": 1}', "has no plan_id"),
        (b'{"format": "roma-nb plan", "format_version": 1, "plan_id": "x", "a": NaN}',
         "NaN is not a JSON value"),
    ],
)  # fmt: skip
def test_what_is_not_a_plan_file_is_refused(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    message = load_refusal(path)
    assert words in message
    assert str(path) in message


def test_a_key_given_twice_is_refused_even_with_a_matching_id(tmp_path: Path) -> None:
    plan = sample_plan()
    text = plan.to_json().replace(
        '"planner": "alice",', '"planner": "mallory",\n  "planner": "alice",'
    )
    path = tmp_path / "plan.json"
    path.write_text(text, "utf-8")
    assert "the field 'planner' appears twice" in load_refusal(path)


def test_a_missing_or_huge_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Cannot read the plan file" in load_refusal(tmp_path / "none.json")
    path = sample_plan().save(tmp_path / "plan.json")
    monkeypatch.setattr("roma_nb.plans._reading.MAX_PLAN_BYTES", 100)
    assert "is larger than" in load_refusal(path)


# --- the parts -------------------------------------------------------------------------------


@dataclass
class FakeClientPlace:
    endpoint: str
    project_id: str
    environment: str
    is_sandbox: bool = False


def test_an_endpoint_keeps_no_credentials_path_or_query() -> None:
    secret = "https://user:s3cret@ROMA.example.com:8443/v2?token=t0ken#x"
    environment = Environment.of(FakeClientPlace(secret, "p1", "roma.example.com / project p1"))
    assert environment.endpoint == "https://roma.example.com:8443"
    text = sample_plan(environment=environment).to_json()
    assert "s3cret" not in text and "t0ken" not in text and "user" not in text
    assert Environment("x", "roma.example.com/v2", "p").endpoint == "roma.example.com"
    assert Environment("x", "http://[::1]:9000", "p").endpoint == "http://[::1]:9000"
    with pytest.raises(ValidationError, match="no host name"):
        Environment("x", "https://", "p")
    with pytest.raises(ValidationError, match="needs a label"):
        Environment(" ", "SANDBOX", "p")


def test_any_sandbox_is_the_same_endpoint_and_the_project_decides() -> None:
    here = Environment.of(FakeClientPlace("http://127.0.0.1:50001", "p1", "SANDBOX", True))
    there = Environment.of(FakeClientPlace("http://127.0.0.1:50002", "p1", "SANDBOX", True))
    assert here == there == SANDBOX and here.is_sandbox
    assert not here.same_place(Environment("SANDBOX", "SANDBOX", "p2"))
    cloud = Environment("c", "https://roma.example.com", "p1")
    assert not cloud.same_place(here) and not cloud.is_sandbox
    assert cloud.same_place(Environment("other label", "HTTPS://Roma.Example.com/", "p1"))


def test_procedure_options_are_checked() -> None:
    assert Procedure() == Procedure.rewind()
    assert Procedure.reset().describe().startswith("raw reset only")
    assert "leave every task stopped" in Procedure.rewind(restart="never").describe()
    with pytest.raises(ValidationError, match="A raw reset neither stops"):
        Procedure("reset")
    with pytest.raises(ValidationError, match="restart must be one of"):
        Procedure.rewind(restart="later")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="verify must be True or False"):
        Procedure("rewind", "always", None)
    with pytest.raises(ValidationError, match="allow_forward must be True or False"):
        Procedure.rewind(allow_forward="yes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="kind must be one of"):
        Procedure("undo")  # type: ignore[arg-type]


def test_a_plan_refuses_text_no_file_can_hold_and_impossible_times() -> None:
    plan = sample_plan()
    with pytest.raises(ValidationError, match="not valid Unicode"):
        replace(plan, planner="\ud800")
    with pytest.raises(ValidationError, match="must expire after"):
        replace(plan, expires_ms=plan.created_ms)
    with pytest.raises(ValidationError, match="retention_ms must be a positive int"):
        replace(plan, retention_ms=0)
    with pytest.raises(ValidationError, match="leading or trailing spaces"):
        PlannedTask(" t1")


def test_review_text_names_everything_and_ends_with_the_id() -> None:
    plan = sample_plan()
    text = plan.review_text()
    assert text.splitlines()[0] == "PLAN: REWIND 2 combined tasks on SANDBOX"
    assert "instance:    roma-prod (inst-1)" in text
    assert "typed '2h ago'" in text and "2024-03-10 11:00:00 CET (+01:00) in Europe/Paris" in text
    assert "orders (t1), running (RUNNING): replays 6 h 12 min (from the end of its latest " in text
    assert "customers (t2), stopped: starts where it is" in text
    assert "planned by alice at 2024-03-10T12:00:00Z; expires 2024-03-11T12:00:00Z" in text
    assert text.splitlines()[-1] == f"plan_id: {plan.plan_id}"
    assert [t.task_id for t in plan.targets()] == ["t1", "t2"]
    assert {t.instance_id for t in plan.targets()} == {"inst-1"}
