"""Bad ids and bad ``date_from`` never reach the service, and never crash as anything else.

Every example runs against the sandbox over its real socket, and the sandbox's call log is the
proof: an input the client refuses must raise ``ValidationError`` (a ``RomaError``) and leave
the log as it was; an input it accepts must produce exactly one request, carrying exactly the id
(as one path segment) or the instant the caller meant. The expected values come from the
documented contract (``roma-api.md`` §1, the ``roma_nb.dates`` docstring), computed here
independently of the client's code.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from roma_nb.auth import TokenAuth
from roma_nb.client import RomaClient
from roma_nb.errors import NotFoundError, RomaError, ValidationError
from roma_nb.sandbox import Sandbox

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)
INT64_MAX = 2**63 - 1
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
SECONDS_BAND = range(10**8, 10**11)  # refused: these look like seconds
UNRESERVED_OR_ESCAPE = re.compile(r"[A-Za-z0-9._~%-]+")


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """These tests send raw resets to tasks whether they run or not: a sandbox that allows it
    (``refuse_running=False``; the default refuses them, and a rewind stops them first)."""
    return lenient_sandbox


def on_sandbox(max_examples: int = 100) -> settings:
    """Hypothesis settings for examples that talk to the sandbox.

    No deadline: every example is a request over a real socket. The function-scoped fixtures
    (the sandbox, the client) are shared by the examples on purpose: each example checks the
    sandbox's call log by difference, so examples cannot affect one another.
    """
    return settings(
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        max_examples=max_examples,
    )


@pytest.fixture
def client(roma_sandbox: Sandbox) -> Iterator[RomaClient]:
    with RomaClient(
        roma_sandbox.url, project_id=roma_sandbox.project_id, auth=TokenAuth("t0ken")
    ) as c:
        yield c


@pytest.fixture
def target(roma_sandbox: Sandbox) -> tuple[str, str]:
    """A real combined task, so an accepted input gets a real answer."""
    instance = roma_sandbox.state.instances[0].id
    return instance, roma_sandbox.state.combined_tasks(instance)[0].task_id


def is_usable_id(value: object) -> bool:
    """The id rules of ``roma-api.md`` §1 plus what no console ever shows in an id."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 64
        and value == value.strip()
        and value not in (".", "..")
        and not any(unicodedata.category(ch).startswith("C") for ch in value)
    )


# -- ids -------------------------------------------------------------------------------------------

control_chars = st.characters(categories=["Cc", "Cf", "Co", "Cs"])
bad_ids = st.one_of(
    st.sampled_from(["", ".", ".."]),
    st.text(min_size=65, max_size=80),
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=10), control_chars, st.text(max_size=10)),
    st.builds(
        lambda s, w: w + s + w, st.text(min_size=1, max_size=10), st.sampled_from(" \t\u3000")
    ),
    st.none() | st.integers() | st.binary(max_size=8) | st.floats() | st.lists(st.text()),
)
ids = st.one_of(
    bad_ids,
    st.sampled_from(["/", "a/b", "../x", "%2F", "%2e%2e", "?q=1", "#f", "~", "...", "a b"]),
    st.text(min_size=1, max_size=64),
    st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=64),
)


@given(task_id=ids)
@example(task_id="x" * 65)
@example(task_id="a\x00b")
@example(task_id="\u202etxt")  # a right-to-left override (category Cf)
@example(task_id="任务-1")
@on_sandbox()
def test_an_id_is_refused_before_sending_or_sent_as_exactly_one_segment(
    client: RomaClient, roma_sandbox: Sandbox, target: tuple[str, str], task_id: Any
) -> None:
    instance, _ = target
    before = len(roma_sandbox.calls)
    try:
        client.reset_combined_task(instance, task_id, 1630052714000)
    except ValidationError:
        assert not is_usable_id(task_id)
        assert len(roma_sandbox.calls) == before, "a refused id must not be sent"
        return
    except NotFoundError:
        pass  # a well-formed id of no task: the service's own 404
    else:  # pragma: no cover - hypothesis does not find real task ids
        raise AssertionError(f"an invented task id {task_id!r} was reset")
    assert is_usable_id(task_id)
    [call] = roma_sandbox.calls[before:]
    segments = call.raw_path.split("/")
    assert segments[:7] == [
        "",
        "v2",
        roma_sandbox.project_id,
        "fdi",
        "instances",
        instance,
        "multi-tasks",
    ]
    assert len(segments) == 9 and segments[8] == "reset"
    assert UNRESERVED_OR_ESCAPE.fullmatch(segments[7])
    assert unquote(segments[7]) == task_id
    assert call.query == ""


@given(instance_id=ids)
@on_sandbox()
def test_every_call_checks_its_instance_id_first(
    client: RomaClient, roma_sandbox: Sandbox, instance_id: Any
) -> None:
    if is_usable_id(instance_id):
        return  # the sending side is the test above; here only refusals matter
    before = len(roma_sandbox.calls)
    calls: list[Callable[[], object]] = [
        lambda: client.reset_combined_task(instance_id, "task-1", None),
        lambda: client.list_tasks(instance_id),
        lambda: client.get_task(instance_id, "task-1"),
        lambda: client.task_monitors(instance_id),
        lambda: client.monitor_logs(instance_id, "task-1"),
    ]
    for call in calls:
        with pytest.raises(ValidationError):
            call()
    assert len(roma_sandbox.calls) == before


@given(task_id=bad_ids)
@on_sandbox(max_examples=50)
def test_a_batch_records_a_bad_id_as_failed_and_sends_only_the_good_ones(
    client: RomaClient, roma_sandbox: Sandbox, target: tuple[str, str], task_id: Any
) -> None:
    instance, good = target
    before = len(roma_sandbox.calls)
    bad_result, good_result = client.reset_many([(instance, task_id), (instance, good)])
    assert (bad_result.outcome, bad_result.attempts, bad_result.error_code) == (
        "failed",
        0,
        "VALIDATION",
    )
    assert (good_result.outcome, good_result.attempts) == ("success", 1)
    [call] = roma_sandbox.calls[before:]
    assert unquote(call.raw_path.split("/")[7]) == good


def test_a_bad_project_id_is_refused_when_the_client_is_made() -> None:
    for bad in ("", "..", "x" * 65, "a\tb", " p"):
        with pytest.raises(ValidationError):
            RomaClient("http://127.0.0.1:9", project_id=bad, auth=TokenAuth("t"))


# -- date_from -------------------------------------------------------------------------------------


def expected_ms(ms: int) -> int | None:
    """The documented range: 1 .. 9999-12-31T23:59:59.999Z, minus the seconds-like band."""
    if 1 <= ms <= LAST_MS and ms not in SECONDS_BAND:
        return ms
    return None


def ms_of(moment: datetime) -> int:
    """An instant's epoch milliseconds, floored (naive means UTC), by exact arithmetic."""
    aware = moment if moment.utcoffset() is not None else moment.replace(tzinfo=timezone.utc)
    return (aware - EPOCH) // ONE_MS


def in_a_gap(moment: datetime) -> bool:
    """A wall time the zone's clocks skipped: it does not survive a round trip through UTC."""
    if moment.utcoffset() is None:
        return False
    back = moment.astimezone(timezone.utc).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) != moment.replace(tzinfo=None)


def expectation(value: object) -> tuple[bool, int | None]:
    """(accepted, the date_from sent) for ``value``, from the documented rules alone."""
    if value is None:
        return True, None
    if isinstance(value, (bool, float, Decimal, timedelta, bytes)):
        return False, None
    if isinstance(value, int):
        ms = expected_ms(value)
        return ms is not None, ms
    if isinstance(value, datetime):
        if in_a_gap(value):
            return False, None
        ms = expected_ms(ms_of(value))
        return ms is not None, ms
    if isinstance(value, date):
        ms = expected_ms(ms_of(datetime(value.year, value.month, value.day)))
        return ms is not None, ms
    raise AssertionError(f"no expectation for {type(value).__name__}")


zones = st.sampled_from(
    [
        timezone.utc,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(-timedelta(hours=11)),
        ZoneInfo("Europe/Berlin"),
        ZoneInfo("America/New_York"),
        ZoneInfo("Australia/Lord_Howe"),  # a 30-minute DST shift
        ZoneInfo("Asia/Shanghai"),
    ]
)
integers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=1, max_value=LAST_MS),
    st.sampled_from(
        [
            *(0, -1, 1, 10**8 - 1, 10**8, 10**11 - 1, 10**11, 1630052714, 1630052714000),
            *(LAST_MS, LAST_MS + 1, INT64_MAX, INT64_MAX + 1, 2**64),
        ]
    ),
)
naive = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))
aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones)
dates_from = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(),
    st.decimals(allow_nan=False),
    st.timedeltas(),
    st.binary(max_size=8),
    naive,
    aware,
    st.dates(),
)


def sent_date_from(sandbox: Sandbox, before: int) -> object:
    [call] = sandbox.calls[before:]
    body = json.loads(call.body)
    assert set(body) <= {"date_from"}
    return body.get("date_from")


@given(value=dates_from)
@example(value=1630052714)  # seconds for milliseconds
@example(value=1630052714.0)
@example(value=float("nan"))
@example(value=True)
@example(value=2**63)
@example(value=datetime(2021, 3, 28, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")))  # a DST gap
@example(value=datetime(2021, 10, 31, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")))
@on_sandbox()
def test_date_from_is_sent_exactly_as_meant_or_refused_before_sending(
    client: RomaClient, roma_sandbox: Sandbox, target: tuple[str, str], value: object
) -> None:
    accepted, ms = expectation(value)
    before = len(roma_sandbox.calls)
    if not accepted:
        with pytest.raises(ValidationError):
            client.reset_combined_task(*target, value)
        assert len(roma_sandbox.calls) == before, "a refused date_from must not be sent"
        return
    result = client.reset_combined_task(*target, value)
    assert (result.outcome, result.date_from) == ("success", ms)
    assert sent_date_from(roma_sandbox, before) == ms


iso_texts = st.builds(
    lambda moment, sep, precise: moment.isoformat(
        sep=sep, timespec="microseconds" if precise else "seconds"
    ),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-3, minutes=-30))]),
    ),
    st.sampled_from(["T", " "]),
    st.booleans(),
)


@given(text=iso_texts)
@on_sandbox()
def test_an_iso_string_with_an_offset_is_the_instant_it_names(
    client: RomaClient, roma_sandbox: Sandbox, target: tuple[str, str], text: str
) -> None:
    accepted, ms = expectation(datetime.fromisoformat(text))
    before = len(roma_sandbox.calls)
    if not accepted:
        with pytest.raises(ValidationError):
            client.reset_combined_task(*target, text)
        assert len(roma_sandbox.calls) == before
        return
    client.reset_combined_task(*target, text)
    assert sent_date_from(roma_sandbox, before) == ms


@given(text=st.text(max_size=40) | st.from_regex(r"[+-]?[0-9]{1,25}", fullmatch=True))
@example(text="")
@example(text="2021")  # a year, not 2021 ms
@example(text="1630052714000")
@example(text="1630052714")
@example(text="2021-02-30T00:00:00Z")
@example(text="9" * 41)
@on_sandbox()
def test_any_string_is_sent_as_a_valid_instant_or_refused(
    client: RomaClient, roma_sandbox: Sandbox, target: tuple[str, str], text: str
) -> None:
    before = len(roma_sandbox.calls)
    try:
        client.reset_combined_task(*target, text)
    except ValidationError:
        assert len(roma_sandbox.calls) == before
        return
    sent = sent_date_from(roma_sandbox, before)
    assert isinstance(sent, int) and expected_ms(sent) == sent
    if text.strip().lstrip("+-").isdigit() and text.isascii():
        assert sent == int(text) and sent >= SECONDS_BAND.start  # short digit strings: refused


@given(value=dates_from)
@on_sandbox(max_examples=60)
def test_a_batch_refuses_a_bad_instant_for_all_its_targets_before_sending(
    client: RomaClient, roma_sandbox: Sandbox, target: tuple[str, str], value: object
) -> None:
    accepted, _ = expectation(value)
    if accepted:
        return
    before = len(roma_sandbox.calls)
    with pytest.raises(ValidationError):
        client.reset_many([target, target], value)
    assert len(roma_sandbox.calls) == before


class Weird:
    """An object whose ``str`` fails: a message built from it must not crash."""

    def __str__(self) -> str:
        raise RuntimeError("str() of this object fails")


ODD_VALUES = [
    object(),
    Weird(),
    [1630052714000],
    {"date_from": 1630052714000},
    complex(1630052714000, 0),
    range(3),
    ...,
    NotImplemented,
    type,
    ZoneInfo("UTC"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    float("inf"),
    np.float64(1630052714000.0),
    np.datetime64("NaT"),
    pd.NaT,
    pd.NA,
    "\x00",
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=[type(v).__name__ for v in ODD_VALUES])
def test_odd_objects_are_refused_as_roma_errors(
    client: RomaClient, roma_sandbox: Sandbox, value: object
) -> None:
    with pytest.raises(RomaError):
        client.reset_combined_task("inst", "task", value)
    with pytest.raises(RomaError):
        client.reset_combined_task(value, "task", None)  # type: ignore[arg-type]
    assert roma_sandbox.calls == []


def test_a_signalling_nan_is_refused_as_a_validation_error(
    client: RomaClient, roma_sandbox: Sandbox
) -> None:
    with pytest.raises(ValidationError):
        client.reset_combined_task("inst", "task", Decimal("sNaN"))
    assert roma_sandbox.calls == []
